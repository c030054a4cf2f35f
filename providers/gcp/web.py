"""The ASGI apps: Cloud Functions on the gcp port, one app per Cloud Run service URL."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from emulator.events import Invocation
from providers.gcp.forward import Forwarded
from providers.gcp.tap import Tap

if TYPE_CHECKING:
    from providers.gcp.app import GcpFront

# What https://REGION-PROJECT.cloudfunctions.net answers for a function that does not exist.
NOT_FOUND_PAGE = b"""<html><head>
<meta http-equiv="content-type" content="text/html;charset=utf-8">
<title>404 Page not found</title>
</head>
<body text=#000000 bgcolor=#ffffff>
<h1>Error: Page not found</h1>
<h2>The requested URL was not found on this server.</h2>
<h2></h2>
</body></html>
"""


class FunctionsApp:
    """`/NAME` and `/NAME/rest?query`: the function NAME sees `/rest?query`, as on cloudfunctions.net."""

    def __init__(self, front: GcpFront) -> None:
        self.front = front

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self.serve(scope, receive, send)

    async def serve(self, scope: dict[str, Any], receive: Any, send: Any) -> Invocation | None:
        """Serve one request; the invocation it was, or None when no function ran."""
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        raw_path = raw_path.split(b"?", 1)[0]
        name, _, rest = raw_path.lstrip(b"/").partition(b"/")
        function = self.front.functions_by_name.get(name.decode("latin-1"))
        if function is None:
            await _send(send, 404, NOT_FOUND_PAGE, b"text/html; charset=UTF-8")
            return None
        workload = await self.front.prepare(function)
        if workload is None:
            message = f"Function '{function.declared.name}' cannot run: {function.problem}\n"
            await _send(send, 500, message.encode(), b"text/plain; charset=utf-8")
            return None
        path = "/" + rest.decode("latin-1")
        tap = Tap(scope, receive, send)
        call = await self.front.forwarder.forward(
            scope,
            tap.receive,
            tap.send,
            workload,
            path,
            function.declared.timeout_s,
            replace_on_timeout=True,
            extra_headers=[(b"Function-Execution-Id", _execution_id().encode())],
        )
        return self.front.record("gcp", "functions", function.declared.name, call, tap, path)


class ServiceApp:
    """A Cloud Run service's own URL: every request goes to the service as it came."""

    def __init__(self, front: GcpFront, name: str) -> None:
        self.front = front
        self.name = name

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self.serve(scope, receive, send)

    async def serve(self, scope: dict[str, Any], receive: Any, send: Any) -> Invocation | None:
        """Serve one request; the invocation it was, or None when the service is gone."""
        service = self.front.services_by_name.get(self.name)
        if service is None:
            await _send(send, 404, NOT_FOUND_PAGE, b"text/html; charset=UTF-8")
            return None
        workload = service.workload(self.front.settings.max_queued_per_function)
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.split(b"?", 1)[0].decode("latin-1") or "/"
        tap = Tap(scope, receive, send)
        call: Forwarded = await self.front.forwarder.forward(
            scope, tap.receive, tap.send, workload, path, service.declared.timeout_s, replace_on_timeout=False
        )
        return self.front.record("cloudrun", "services", self.name, call, tap, path)


def _execution_id() -> str:
    return secrets.token_urlsafe(9)


async def _send(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
