"""Web actions: /api/v1/web/{namespace}/{package|default}/{action}.{ext}[/path], no API key needed."""

from __future__ import annotations

import base64
import binascii
import json
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
        arguments = await self._arguments(request, action, extension, rest)
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
            return self._respond(result, extension, rest, headers)
        except _BadResponse as bad:
            return error_response(400, str(bad), tid, headers)

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

    async def _arguments(
        self, request: Request, action: dict[str, Any], extension: str, rest: str
    ) -> dict[str, Any]:
        raw = await read_body(request, MAX_PAYLOAD_BYTES)
        content_type = request.headers.get("content-type", "")
        context: dict[str, Any] = {
            "__ow_method": request.method.lower(),
            "__ow_headers": {name.lower(): value for name, value in request.headers.items()},
            "__ow_path": rest if extension == "http" else "",
        }
        if entities.annotation(action, "raw-http"):
            body = raw.decode() if raw and _is_text(content_type) else base64.b64encode(raw).decode()
            return {**context, "__ow_query": request.url.query, "__ow_body": body}
        arguments: dict[str, Any] = dict(parse_qsl(request.url.query, keep_blank_values=True))
        arguments.update(self._body_arguments(raw, content_type))
        if any(key.startswith("__ow_") for key in arguments):
            raise OpenWhiskError(400, RESERVED_PARAMS)
        return {**arguments, **context}

    def _body_arguments(self, raw: bytes, content_type: str) -> dict[str, Any]:
        if not raw:
            return {}
        lowered = content_type.lower()
        if "json" in lowered:
            try:
                value = json.loads(raw)
            except ValueError:
                raise OpenWhiskError(400, "The request content was malformed:\ninvalid JSON body") from None
            return value if isinstance(value, dict) else {"__ow_body": raw.decode()}
        if "x-www-form-urlencoded" in lowered:
            return dict(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
        if _is_text(content_type):
            return {"__ow_body": raw.decode(errors="replace")}
        return {"__ow_body": base64.b64encode(raw).decode()}

    def _respond(self, result: Any, extension: str, rest: str, headers: dict[str, str]) -> Response:
        if extension == "http":
            return _http_response(result, headers)
        value = _project(result, rest)
        if extension == "json":
            if not isinstance(value, (dict, list)):
                raise _BadResponse(WEB_BAD_HTTP)
            return Response(json.dumps(value), media_type="application/json", headers=headers)
        if not rest and isinstance(value, dict):
            value = value.get(extension, value.get("body"))
        if not isinstance(value, str):
            raise _BadResponse(WEB_BAD_HTTP)
        return Response(value, headers={**headers, "content-type": CONTENT_TYPES[extension]})


class _BadResponse(Exception):
    pass


def _project(result: Any, rest: str) -> Any:
    value = result
    for part in [p for p in rest.split("/") if p]:
        if not isinstance(value, dict) or part not in value:
            raise _BadResponse(WEB_BAD_HTTP)
        value = value[part]
    return value


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
            if isinstance(item, bool):
                item = "true" if item else "false"
            if not isinstance(item, (str, int, float)):
                raise _BadResponse(WEB_BAD_HTTP)
            raw_headers.append((name.lower().encode(), str(item).encode()))
            if name.lower() == "content-type":
                content_type = str(item)
    body = result.get("body")
    status = _status_code(result.get("statusCode"), body)
    payload: bytes
    if body is None or body == "":
        payload = b""
    elif isinstance(body, str):
        if content_type is None:
            content_type = "text/html"
            raw_headers.append((b"content-type", b"text/html"))
        if _is_text(content_type) or "svg" in content_type:
            payload = body.encode()
        else:
            try:
                payload = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                payload = body.encode()
    else:
        payload = json.dumps(body).encode()
        if content_type is None:
            raw_headers.append((b"content-type", b"application/json"))
    response = Response(payload, status_code=status)
    response.raw_headers = [h for h in response.raw_headers if h[0] == b"content-length"] + raw_headers
    return response


def _status_code(value: Any, body: Any) -> int:
    if value is None:
        return 204 if body is None or body == "" else 200
    if isinstance(value, bool):
        raise _BadResponse(WEB_BAD_HTTP)
    try:
        status = int(value)
    except (TypeError, ValueError):
        raise _BadResponse(WEB_BAD_HTTP) from None
    if not 100 <= status <= 599:
        raise _BadResponse(WEB_BAD_HTTP)
    return status
