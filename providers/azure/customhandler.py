"""Custom handlers' wire protocol: the HTTP request the host sends the handler, and how it reads the answer.

Payload mode: `POST /{FunctionName}` with `{"Data": ..., "Metadata": ...}` (the host's
HttpScriptInvocationContext), answered with `{"Outputs", "Logs", "ReturnValue"}`. Forwarding mode
(`enableForwardingHttpRequest`, only for functions with one httpTrigger in and one http out): the
original request, path and all. The instance's adapter only sends what is built here.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from providers.azure.functionapp import AzureFunction, FunctionApp, binding_type, direction
from providers.azure.requests import HttpCall

HOST_VERSION = "4.1037.0.0"
# Core Tools' anonymous caller, as the host serialises its ClaimsIdentity.
IDENTITY = {
    "AuthenticationType": None,
    "IsAuthenticated": False,
    "Actor": None,
    "BootstrapContext": None,
    "Claims": [],
    "Label": None,
    "Name": None,
    "NameClaimType": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "RoleClaimType": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
}


@dataclass
class HandlerRequest:
    method: str
    path: str  # with the query string
    headers: list[tuple[str, str]]
    body: bytes

    def to_value(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": [list(pair) for pair in self.headers],
            "body": base64.b64encode(self.body).decode(),
        }


def forwarding(app: FunctionApp, function: AzureFunction) -> bool:
    """The host forwards only HTTP-in/HTTP-out functions, and only when the app asks for it."""
    section = app.custom_handler or {}
    ins = [b for b in function.bindings if direction(b) == "in"]
    outs = [b for b in function.bindings if direction(b) == "out"]
    simple = (
        len(ins) == 1
        and binding_type(ins[0]) == "httptrigger"
        and len(outs) == 1
        and binding_type(outs[0]) == "http"
    )
    legacy = "customHandler" not in app.host and "httpWorker" in app.host
    return simple and (bool(section.get("enableForwardingHttpRequest")) or legacy)


def host_headers(invocation_id: str) -> list[tuple[str, str]]:
    return [
        ("X-Azure-Functions-HostVersion", HOST_VERSION),
        ("X-Azure-Functions-InvocationId", invocation_id),
        ("User-Agent", f"Azure-Functions-Host/{HOST_VERSION}"),
    ]


def forward_request(call: HttpCall, invocation_id: str) -> HandlerRequest:
    """The original request to the handler: method, full path, query, headers, body."""
    skipped = {"user-agent", "transfer-encoding", "content-length", "connection"}
    headers = [(name, value) for name, value in call.headers if name.lower() not in skipped]
    headers += host_headers(invocation_id)
    if call.body:
        headers.append(("Content-Length", str(len(call.body))))
    path = call.path + (f"?{call.query_string}" if call.query_string else "")
    return HandlerRequest(call.method, path, headers, call.body)


def payload_request(
    function: AzureFunction, invocation_id: str, call: HttpCall | None, input_value: Any = None
) -> HandlerRequest:
    data: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    trigger = function.trigger
    if call is not None:
        data[trigger.get("name", "req")] = http_data(call)
        metadata.update(body_properties(call))
        metadata["Query"] = call.query_dict()
        metadata["Headers"] = {name: ",".join(values) for name, values in call.header_dict().items()}
        metadata.update({name: value for name, value in call.route_values.items() if value is not None})
    else:
        data[trigger.get("name", "input")] = input_value
    metadata["sys"] = {
        "MethodName": function.name,
        "UtcNow": dotnet_time(datetime.now(timezone.utc)),
        "RandGuid": str(uuid.uuid4()),
    }
    body = json.dumps(
        {"Data": data, "Metadata": metadata}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    headers = [
        *host_headers(invocation_id),
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", str(len(body))),
    ]
    return HandlerRequest("POST", "/" + function.name, headers, body)


def http_data(call: HttpCall) -> dict[str, Any]:
    """`Data.<trigger>` for an HTTP call (the host's GetRequestAsJObject)."""
    value: dict[str, Any] = {
        "Url": call.url,
        "Method": call.method,
        "Query": call.query_dict(),
        "Headers": call.header_dict(),
        "Params": dict(call.route_values),
        "Identities": [IDENTITY],
    }
    if call.body:
        content_type = (call.header("content-type") or "").split(";")[0].strip().lower()
        if content_type == "application/octet-stream" or content_type.startswith("multipart/"):
            value["Body"] = base64.b64encode(call.body).decode()
        else:
            value["Body"] = call.body.decode("utf-8", errors="replace")
    return value


def body_properties(call: HttpCall) -> dict[str, Any]:
    """A JSON object body's top-level properties are binding data too, so the host puts them in Metadata."""
    if "json" not in (call.header("content-type") or "").lower():
        return {}
    try:
        parsed = json.loads(call.body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def dotnet_time(moment: datetime) -> str:
    """`2024-05-14T15:14:15.128919Z`: .NET's round-trip format without trailing zeros."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


class InvocationFailed(Exception):
    """The handler's answer makes the invocation fail: the HTTP caller gets a 500."""


@dataclass
class HttpResult:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def read_payload_answer(
    function: AzureFunction, status: int, body: bytes
) -> tuple[HttpResult | None, list[str], dict[str, Any]]:
    """(HTTP response if the function has an http output, Logs, the other outputs)."""
    if not 200 <= status < 300:
        raise InvocationFailed(f"the handler answered {status}")
    try:
        answer = json.loads(body)
    except ValueError:
        raise InvocationFailed("the handler's answer is not JSON") from None
    if not isinstance(answer, dict):
        raise InvocationFailed("the handler's answer is not a JSON object")
    fields = {str(key).lower(): value for key, value in answer.items()}
    outputs = fields.get("outputs") or {}
    outputs = {str(key).lower(): value for key, value in outputs.items()} if isinstance(outputs, dict) else {}
    logs = [str(line) for line in fields.get("logs") or []]
    http: HttpResult | None = None
    others: dict[str, Any] = {}
    for binding in function.bindings:
        if direction(binding) != "out":
            continue
        name = str(binding.get("name"))
        if binding_type(binding) == "http":
            if name == "$return":
                http = return_value_response(fields.get("returnvalue"))
            else:
                http = output_response(outputs.get(name.lower()))
        elif name == "$return":
            others[name] = fields.get("returnvalue")
        else:
            others[name] = outputs.get(name.lower())
    return http, logs, others


def output_response(value: Any) -> HttpResult:
    """`Outputs[res]` = `{statusCode|status, headers, body}`; anything else fails the invocation."""
    if value is None:
        return HttpResult(200, [], b"")
    if not isinstance(value, dict):
        raise InvocationFailed("the http output is not an object")
    fields = {str(key).lower(): item for key, item in value.items()}
    raw_status = fields.get("statuscode", fields.get("status", 200))
    try:
        status = int(raw_status)
    except (TypeError, ValueError):
        raise InvocationFailed(f"invalid status code {raw_status!r}") from None
    headers: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, item in (fields.get("headers") or {}).items():
        if name.lower() in seen:  # the host drops a duplicate header
            continue
        seen.add(name.lower())
        headers.append((str(name), item if isinstance(item, str) else json.dumps(item)))
    body = fields.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    if "content-type" not in seen:
        headers.append(("Content-Type", "text/plain; charset=utf-8"))
    return HttpResult(status, headers, data)


def return_value_response(value: Any) -> HttpResult:
    """An http `$return`: a string is parsed as JSON when it can be; an object with statusCode is the response."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and (
            {"statuscode", "status", "body", "headers"} & {k.lower() for k in parsed}
        ):
            return output_response(parsed)
        return HttpResult(200, [("Content-Type", "text/plain; charset=utf-8")], value.encode())
    if isinstance(value, dict):
        return output_response(value)
    if value is None:
        return HttpResult(200, [], b"")
    text = json.dumps(value, separators=(",", ":"))
    return HttpResult(200, [("Content-Type", "text/plain; charset=utf-8")], text.encode())
