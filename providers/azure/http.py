"""The host's HTTP surface: function routes, the admin API and the home page, with the host's answers."""

from __future__ import annotations

import json
import logging
import os
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send

from emulator import __version__
from emulator.bodies import BodyTooLarge, read_capped
from providers.azure.customhandler import HOST_VERSION
from providers.azure.requests import HttpCall
from providers.azure.service import Throttle

if TYPE_CHECKING:
    from providers.azure.app import AzureFront

log = logging.getLogger("emu.azure")
MAX_REQUEST_BYTES = 104_857_600  # the Functions host refuses bodies over 100 MB
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}
HOMEPAGE = """<!DOCTYPE html>
<html><head><title>Your Azure Function App is up and running.</title></head>
<body><h1>Your Functions 4.0 app is up and running</h1>
<p>Azure Functions is an event-based serverless compute experience to accelerate your development.</p>
</body></html>"""


def empty(status: int) -> Response:
    return Response(status_code=status)


class HostApp:
    def __init__(self, front: AzureFront) -> None:
        self.front = front

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self.handle(request)
        except Exception:
            log.exception("internal error on %s %s", request.method, request.url.path)
            response = empty(500)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        path = request.scope["path"]
        if path.lower() == "/admin" or path.lower().startswith("/admin/"):
            return await self.admin(request, path)
        found = self.front.match(request.method, path)
        if found is None:
            if path == "/" and request.method in ("GET", "HEAD"):
                return self.homepage()
            return empty(404)
        app, function, values = found
        if function.disabled:
            return empty(404)
        if not self.authorised(request, function.auth_level):
            return empty(401)
        try:
            body = await read_capped(request, MAX_REQUEST_BYTES)
        except BodyTooLarge:
            return empty(413)  # Kestrel's answer past the host's request size limit
        call = HttpCall.from_scope(request.scope, body)
        call.route_values = values
        try:
            result = await self.front.service.invoke(app, function, call, call.worker_value())
        except Throttle:
            return empty(429)
        if not result.ok:
            return empty(500)
        if result.http is None:
            return empty(200)
        headers = [(k, v) for k, v in result.http.headers if k.lower() not in HOP_BY_HOP]
        response = Response(result.http.body, status_code=result.http.status)
        response.raw_headers = [
            *[(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            (b"content-length", str(len(result.http.body)).encode()),
        ]
        return response

    def homepage(self) -> Response:
        apps = self.front.apps_by_root.values()
        disabled = any(app.settings.get("AzureWebJobsDisableHomepage", "").lower() == "true" for app in apps)
        return empty(204) if disabled else HTMLResponse(HOMEPAGE)

    def authorised(self, request: Request, level: str) -> bool:
        keys = self.front.keys
        if keys is None:  # Core Tools: every caller counts as admin
            return True
        presented = request.headers.get("x-functions-key")
        if presented is None:
            presented = dict(parse_qsl(request.url.query)).get("code")
        return keys.allows(level, presented)

    # -- admin API -------------------------------------------------------------------------------

    async def admin(self, request: Request, path: str) -> Response:
        parts = [part for part in path.split("/") if part][1:]
        method = request.method
        if parts == ["host", "ping"] and method in ("GET", "POST"):
            return empty(200)
        if not self.authorised(request, "admin"):
            return empty(401)
        if parts == ["host", "status"] and method == "GET":
            return JSONResponse(self.host_status())
        if parts == ["functions"] and method == "GET":
            return JSONResponse([self.metadata(name) for name in self.names()])
        if len(parts) >= 2 and parts[0] == "functions":
            found = self.front.find(parts[1])
            if found is None:
                return empty(404)
            _app, function = found
            if len(parts) == 2 and method == "GET":
                return JSONResponse(self.metadata(function.name))
            if len(parts) == 3 and parts[2] == "status" and method == "GET":
                return JSONResponse({"errors": []})
            if len(parts) == 2 and method == "POST":
                return await self.run_function(request, function)
        return empty(404)

    async def run_function(self, request: Request, function: Any) -> Response:
        try:
            raw = await read_capped(request, MAX_REQUEST_BYTES)
        except BodyTooLarge:
            return empty(413)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return empty(400)
        self.front.accept(function.name, self.front.admin_trigger(function, body.get("input")))
        return empty(202)

    def names(self) -> list[str]:
        return [name for app in self.front.apps_by_root.values() for name in app.functions]

    def metadata(self, name: str) -> dict[str, Any]:
        found = self.front.find(name)
        assert found is not None
        app, function = found
        base = self.front.base_url
        item = {
            "name": function.name,
            "script_root_path_href": f"{base}/admin/vfs/{function.directory.relative_to(app.root.parent)}/",
            "config_href": f"{base}/admin/vfs/{app.name}/{function.name}/function.json",
            "href": f"{base}/admin/functions/{function.name}",
            "config": {"bindings": function.bindings, **({"disabled": True} if function.disabled else {})},
            "language": app.worker_runtime,
            "isDisabled": function.disabled,
        }
        if function.is_http:
            item["invoke_url_template"] = base + app.http_path(function)
        return item

    def host_status(self) -> dict[str, Any]:
        problems = [problem for app in self.front.apps_by_root.values() for problem in app.problems]
        status: dict[str, Any] = {
            "id": socket.gethostname().lower()[:32],
            "state": "Error" if problems else "Running",
            "version": HOST_VERSION,
            "versionDetails": f"{HOST_VERSION} (emu {__version__})",
            "instanceId": f"{os.getpid():032x}",
            "computerName": socket.gethostname(),
            "processUptime": round(self.front.uptime_s() * 1000),
            "functionAppContentEditingState": "Unknown",
        }
        bundles = [app.host.get("extensionBundle") for app in self.front.apps_by_root.values()]
        bundle = next((item for item in bundles if isinstance(item, dict)), None)
        if bundle is not None:
            status["extensionBundle"] = {"id": bundle.get("id"), "version": bundle.get("version")}
        if problems:
            status["errors"] = problems
        return status
