"""Web actions: /api/v1/web/{namespace}/{package|default}/{action}.{ext}[/path], no API key needed."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from providers.openwhisk import activations, entities
from providers.openwhisk.auth import KEYS, AuthMissing, namespace_for
from providers.openwhisk.controller import MAX_BLOCKING_WAIT_S, Controller
from providers.openwhisk.errors import (
    AUTH_INVALID,
    AUTH_MISSING,
    NOT_FOUND,
    RESERVED_PARAMS,
    RESPONSE_NOT_READY,
    WEB_BAD_HTTP,
    WEB_ERROR,
    OpenWhiskError,
    error_response,
)
from providers.openwhisk.http import MAX_PAYLOAD_BYTES, read_body, tid_of

EXTENSIONS = ("http", "json", "html", "svg", "text")
WEB_CORS_METHODS = "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH"
WEB_CORS_HEADERS = "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent"
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "+json", "+xml")
# The web arguments OpenWhisk sets itself; a request naming one of them is refused.
RESERVED_ARGUMENTS = {"__ow_method", "__ow_headers", "__ow_path", "__ow_user", "__ow_query", "__ow_body"}
# Framing is the gateway's: an action setting these could end the response early or smuggle another.
HOP_BY_HOP = {
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
HEADER_NAME = re.compile(r"\A[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")  # an RFC 9110 token
HEADER_VALUE_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # tab is the one allowed
NO_BODY_STATUSES = (204, 304)
PROPERTY_NOT_FOUND = "Response does not include requested property."
_MISSING = object()
CONTENT_TYPES = {
    "html": "text/html; charset=UTF-8",
    "svg": "image/svg+xml",
    "text": "text/plain; charset=UTF-8",
}


def _is_text(content_type: str) -> bool:
    lowered = content_type.lower()
    return any(marker in lowered for marker in TEXT_TYPES) or "x-www-form-urlencoded" in lowered


def split_web_path(path: str) -> tuple[str, str, str, str]:
    """`guest/demo/hello.json/a/b` -> ("guest", "demo/hello", "json", "/a/b")."""
    parts = path.split("/")
    if len(parts) < 3 or not all(parts[:3]):
        raise OpenWhiskError(404, NOT_FOUND)
    namespace, package, action = parts[0], parts[1], parts[2]
    extension = "http"
    name, dot, suffix = action.rpartition(".")
    if dot and suffix in EXTENSIONS:
        action, extension = name, suffix
    rest = "/" + "/".join(parts[3:]) if len(parts) > 3 else ""
    action_path = action if package == "default" else f"{package}/{action}"
    return namespace, action_path, extension, rest


class WebActions:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller

    def routes(self) -> list[Route]:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return [Route("/api/v1/web/{path:path}", self.handle, methods=methods)]

    async def handle(self, request: Request) -> Response:
        namespace, path, extension, rest = split_web_path(request.path_params["path"])
        if namespace not in KEYS.values():
            raise OpenWhiskError(404, NOT_FOUND)
        try:
            action = self.controller.action(namespace, path)
        except OpenWhiskError:
            raise OpenWhiskError(404, NOT_FOUND) from None
        if not entities.annotation(action, "web-export"):
            raise OpenWhiskError(404, NOT_FOUND)
        custom_options = bool(entities.annotation(action, "web-custom-options"))
        cors = {} if custom_options else self._cors(request)
        if request.method == "OPTIONS" and not custom_options:
            return Response(status_code=200, headers=cors)
        self._check_auth(request, action)
        arguments = await self._arguments(request, action, rest)
        activation_id, record = await self.controller.invoke(
            namespace, path, arguments, blocking=True, wait_s=MAX_BLOCKING_WAIT_S
        )
        headers = {**cors, "x-openwhisk-activation-id": activation_id}
        tid = tid_of(request)
        if record is None:
            return error_response(202, RESPONSE_NOT_READY, tid, headers)
        if record["statusCode"] in (activations.DEVELOPER_ERROR, activations.INTERNAL_ERROR):
            return error_response(400, WEB_ERROR, tid, headers)
        result = record["response"]["result"]
        if record["statusCode"] == activations.APPLICATION_ERROR and isinstance(result, dict):
            result = result.get("error")
        try:
            return self._respond(result, extension, headers)
        except _BadResponse as bad:
            return error_response(bad.status, str(bad), tid, headers)

    def _cors(self, request: Request) -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": WEB_CORS_METHODS,
            "Access-Control-Allow-Headers": request.headers.get(
                "access-control-request-headers", WEB_CORS_HEADERS
            ),
        }

    def _check_auth(self, request: Request, action: dict[str, Any]) -> None:
        required = entities.annotation(action, "require-whisk-auth")
        if required is None or required is False:
            return
        if required is True:
            try:
                namespace_for(request.headers.get("authorization"))
            except AuthMissing:
                raise OpenWhiskError(401, AUTH_MISSING) from None
            except Exception:
                raise OpenWhiskError(401, AUTH_INVALID) from None
            return
        if request.headers.get("x-require-whisk-auth") != str(required):
            raise OpenWhiskError(401, AUTH_INVALID)

    async def _arguments(self, request: Request, action: dict[str, Any], rest: str) -> dict[str, Any]:
        raw = await read_body(request, MAX_PAYLOAD_BYTES)
        content_type = request.headers.get("content-type", "")
        context: dict[str, Any] = {
            "__ow_method": request.method.lower(),
            "__ow_headers": {name.lower(): value for name, value in request.headers.items()},
            "__ow_path": rest,
        }
        if entities.annotation(action, "raw-http"):
            body = _opaque_body(raw, content_type) if raw else ""
            return {**context, "__ow_query": request.url.query, "__ow_body": body}
        query: dict[str, Any] = dict(parse_qsl(request.url.query, keep_blank_values=True))
        body = _request_body(raw, content_type)
        fields = body if isinstance(body, dict) else ({} if body is None else {"__ow_body": body})
        # Only names the caller chose can clash; an opaque body is passed as `__ow_body` by design.
        if RESERVED_ARGUMENTS & (query.keys() | (body.keys() if isinstance(body, dict) else set())):
            raise OpenWhiskError(400, RESERVED_PARAMS)
        return {**query, **fields, **context}

    def _respond(self, result: Any, extension: str, headers: dict[str, str]) -> Response:
        if extension == "http":
            return _http_response(result, headers)
        if extension == "json":
            if not isinstance(result, (dict, list)):
                raise _BadResponse(_invalid_media("application/json"))
            return Response(json.dumps(result), media_type="application/json", headers=headers)
        # OpenWhisk's resultAsHtml/Svg/Text: `body` first, then the field named like the extension.
        value = result.get("body", result.get(extension, _MISSING)) if isinstance(result, dict) else result
        if extension == "text":
            text = _text(value).encode(errors="replace")
            return Response(text, headers={**headers, "content-type": CONTENT_TYPES[extension]})
        if not isinstance(value, str):
            raise _BadResponse(_invalid_media(CONTENT_TYPES[extension].split(";")[0]))
        return Response(
            value.encode(errors="replace"), headers={**headers, "content-type": CONTENT_TYPES[extension]}
        )


class _BadResponse(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _request_body(raw: bytes, content_type: str) -> Any:
    """The body as OpenWhisk passes it on: parsed JSON or form fields, else an opaque string."""
    if not raw:
        return None
    media = _media_type(content_type)
    if media == "application/json" or media.endswith("+json"):
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise OpenWhiskError(400, "The request content was malformed:\ninvalid JSON body") from None
    if media == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
    return _opaque_body(raw, content_type)


def _opaque_body(raw: bytes, content_type: str) -> str:
    # OpenWhisk base64-encodes binary bodies, and application/json too "for legacy" reasons.
    if _media_type(content_type) == "application/json" or not _is_text(content_type):
        return base64.b64encode(raw).decode()
    return raw.decode(errors="replace")


def _text(value: Any) -> str:
    if value is _MISSING:
        raise _BadResponse(PROPERTY_NOT_FOUND, 404)
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2 if isinstance(value, (dict, list)) else None)


def _invalid_media(media_type: str) -> str:
    return f"Response is not valid '{media_type}'."


def _http_response(result: Any, extra_headers: dict[str, str]) -> Response:
    """Map `{statusCode, headers, body}` to an HTTP response, as OpenWhisk's resultAsHttp does."""
    if not isinstance(result, dict):
        raise _BadResponse(WEB_BAD_HTTP)
    headers_in = result.get("headers", {})
    if not isinstance(headers_in, dict):
        raise _BadResponse(WEB_BAD_HTTP)
    raw_headers: list[tuple[bytes, bytes]] = [
        (k.lower().encode(), v.encode()) for k, v in extra_headers.items()
    ]
    content_type = None
    for name, value in headers_in.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            header = _header(name, item)
            if header[0].decode() in HOP_BY_HOP:
                continue
            raw_headers.append(header)
            if header[0] == b"content-type":
                content_type = header[1].decode("latin-1")
    body = result.get("body")
    status = _status_code(result.get("statusCode"), body)
    payload: bytes
    if body is None or body == "" or status in NO_BODY_STATUSES:
        payload = b""
    elif isinstance(body, str):
        if content_type is None:
            content_type = "text/html"
            raw_headers.append((b"content-type", b"text/html"))
        if _is_text(content_type) or "svg" in content_type:
            payload = body.encode(errors="replace")  # a lone surrogate becomes "?", as on the JVM
        else:
            try:
                payload = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                payload = body.encode(errors="replace")
    else:
        payload = json.dumps(body).encode()
        if content_type is None:
            raw_headers.append((b"content-type", b"application/json"))
    response = Response(payload, status_code=status)
    response.raw_headers = [h for h in response.raw_headers if h[0] == b"content-length"] + raw_headers
    return response


def _header(name: str, value: Any) -> tuple[bytes, bytes]:
    """One header line as sent; a line HTTP cannot carry makes the whole response invalid."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    if not isinstance(value, (str, int, float)) or not HEADER_NAME.match(name):
        raise _BadResponse(WEB_BAD_HTTP)
    text = str(value).strip(" \t")
    if HEADER_VALUE_CONTROLS.search(text):
        raise _BadResponse(WEB_BAD_HTTP)
    try:
        return name.lower().encode(), text.encode("latin-1")
    except UnicodeEncodeError:
        raise _BadResponse(WEB_BAD_HTTP) from None


def _status_code(value: Any, body: Any) -> int:
    if value is None:
        return 204 if body is None or body == "" else 200
    if isinstance(value, bool):
        raise _BadResponse(WEB_BAD_HTTP)
    try:
        status = int(value)
    except (TypeError, ValueError, OverflowError):  # Overflow: a statusCode of 1e999
        raise _BadResponse(WEB_BAD_HTTP) from None
    # 1xx is never a final response.
    if not 200 <= status <= 599:
        raise _BadResponse(WEB_BAD_HTTP)
    return status
