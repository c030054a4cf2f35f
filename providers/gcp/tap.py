"""What passed through one forwarded request, for its activation record and the dashboard.

The request and the answer stream through unchanged; the tap keeps a copy of their first bytes
(`MAX_BODY`), so a large body costs no more memory than that.
"""

from __future__ import annotations

from typing import Any

from emulator.cockpit.http_view import MAX_BODY, request_view, response_view


class Tap:
    def __init__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.request_body = bytearray()
        self.request_complete = True
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.response_body = bytearray()
        self.response_complete = True

    async def receive(self) -> dict[str, Any]:
        message = await self._receive()
        if message["type"] == "http.request":
            self.request_complete = _keep(self.request_body, message.get("body", b""))
        return message

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            self.response_complete = _keep(self.response_body, message.get("body", b""))
        await self._send(message)

    def request(self, path: str) -> dict[str, Any]:
        query = self.scope.get("query_string", b"").decode("latin-1")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.scope["headers"]]
        target = path + (f"?{query}" if query else "")
        body = bytes(self.request_body)
        return request_view(self.scope["method"], target, headers, body, complete=self.request_complete)

    def response(self) -> dict[str, Any] | None:
        if not self.status:
            return None
        return response_view(
            self.status, self.headers, bytes(self.response_body), complete=self.response_complete
        )


def _keep(buffer: bytearray, chunk: bytes) -> bool:
    """Append what fits under MAX_BODY; False once something did not fit."""
    room = MAX_BODY + 1 - len(buffer)  # one byte past the limit marks a cut body
    buffer += chunk[: max(room, 0)]
    return len(buffer) <= MAX_BODY
