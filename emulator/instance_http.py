"""The gateway's HTTP/1.1 client for the hop to its instances' proxies: /init and /run, nothing else.

Every warm call crosses this hop, so it is kept to what the hop needs: a kept-alive connection per
concurrent call, one write per request, and httptools (the C parser uvicorn uses) for the answer.
A general client (aiohttp) spent about 170 µs of CPU per call here, more than the function's own
instance did; this one spends a fraction of that. It speaks only to emu's own proxies, which
always answer with a Content-Length or a close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

# The response headers the gateway reads: the adapters' function-error marker, and the peak
# memory the proxy reports of its own process.
FUNCTION_ERROR_HEADER = b"x-emu-function-error"
PEAK_MEMORY_HEADER = b"x-emu-peak-memory-kb"


class InstanceUnreachable(Exception):
    """The connection failed or dropped before a whole answer arrived."""


@dataclass(frozen=True)
class InstanceResponse:
    status: int
    body: bytes
    function_error: str | None
    peak_memory_kb: int | None = None


class _Connection(asyncio.Protocol):
    """One TCP connection to a proxy; one request at a time."""

    def __init__(self, url: str, on_lost: Callable[[_Connection], None]) -> None:
        self.url = url
        self.transport: asyncio.Transport | None = None
        self.open = False
        self._on_lost = on_lost
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[InstanceResponse] | None = None
        self._chunks: list[bytes] = []
        self._function_error: str | None = None
        self._peak_memory_kb: int | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.open = True

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(InstanceUnreachable(f"unreadable answer: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._fail(InstanceUnreachable("the instance closed the connection"))
        self._on_lost(self)

    # -- httptools callbacks -------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == FUNCTION_ERROR_HEADER:
            self._function_error = value.decode("latin-1")
        elif name == PEAK_MEMORY_HEADER and value.isdigit():
            self._peak_memory_kb = int(value)

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        answer, self._answer = self._answer, None
        if not self._parser.should_keep_alive():
            self.close()
        if answer is not None and not answer.done():
            status = self._parser.get_status_code()
            answer.set_result(
                InstanceResponse(status, b"".join(self._chunks), self._function_error, self._peak_memory_kb)
            )

    # -- requests ------------------------------------------------------------------------------

    def send(self, head: bytes, body: bytes) -> asyncio.Future[InstanceResponse]:
        assert self.transport is not None and self._answer is None
        self._chunks = []
        self._function_error = None
        self._peak_memory_kb = None
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.transport.write(body)  # no copy of a large payload just to join it
        return self._answer

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, error: Exception) -> None:
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_exception(error)


def _expire(answer: asyncio.Future[InstanceResponse]) -> None:
    if not answer.done():
        answer.set_exception(asyncio.TimeoutError())


class InstanceClient:
    """Kept-alive connections to every instance, by URL (`http://127.0.0.1:PORT`)."""

    def __init__(self) -> None:
        self._idle: dict[str, list[_Connection]] = {}
        self._busy: set[_Connection] = set()
        self._addresses: dict[str, tuple[str, int, bytes]] = {}

    async def post(self, url: str, path: str, body: bytes, timeout: float) -> InstanceResponse:
        """POST `body` (JSON) to `url + path`; `asyncio.TimeoutError` after `timeout` seconds.

        A timed-out or failed connection is dropped, never reused: its answer may still come.
        """
        host, port, host_header = self._address(url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        connection = self._take_idle(url)
        if connection is None:
            connection = await asyncio.wait_for(self._connect(url, host, port), timeout)
        head = (
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + host_header
            + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n"
        )  # fmt: skip
        self._busy.add(connection)
        answer = connection.send(head, body)
        # A timer rather than asyncio.wait_for: no task per call on the hot path.
        timer = loop.call_at(deadline, _expire, answer)
        try:
            response = await answer
        except BaseException:
            connection.abort()
            raise
        finally:
            timer.cancel()
            self._busy.discard(connection)
        if connection.open:
            self._idle.setdefault(url, []).append(connection)
        return response

    async def close(self) -> None:
        for idle in list(self._idle.values()):
            for connection in list(idle):
                connection.close()
        for connection in list(self._busy):
            connection.abort()
        self._busy.clear()

    def _lost(self, connection: _Connection) -> None:
        """Drop a closed connection, and what is kept for its instance once none is left."""
        idle = self._idle.get(connection.url)
        if idle is not None and connection in idle:
            idle.remove(connection)
        if not idle:
            self._idle.pop(connection.url, None)
            self._addresses.pop(connection.url, None)

    def _take_idle(self, url: str) -> _Connection | None:
        idle = self._idle.get(url)
        while idle:
            connection = idle.pop()
            if connection.open:
                return connection
        return None

    async def _connect(self, url: str, host: str, port: int) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(lambda: _Connection(url, self._lost), host, port)
        except OSError as error:
            raise InstanceUnreachable(f"cannot connect to {host}:{port}: {error}") from error
        return connection

    def _address(self, url: str) -> tuple[str, int, bytes]:
        address = self._addresses.get(url)
        if address is None:
            parts = urlsplit(url)
            if parts.hostname is None or parts.port is None:
                raise InstanceUnreachable(f"not an instance address: {url}")
            address = (parts.hostname, parts.port, parts.netloc.encode())
            self._addresses[url] = address
        return address
