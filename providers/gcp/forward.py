"""Forwarding an HTTP request as it is to an instance that is its own server, and its answer back.

Method, path, query, headers and body go through unchanged (bodies of unknown or large size are
streamed both ways), as Google's front end passes them to a Cloud Run container. What the
platform itself answers is in its own words: 429 "Rate exceeded." when every instance is full
and the queue too, 504 "upstream request timeout" past the request timeout, 503 when the
instance could not start or died.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

from emulator.backends.base import InstanceStartError
from emulator.logs import LogLine
from emulator.pool import ServerLease, ServerPool, ServerWorkload, Throttled

Scope = dict[str, Any]
# Not forwarded: they describe one connection, not the request.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
FRONT_END_HEADERS = frozenset({b"date", b"server"})
# aiohttp adds these when a request lacks them; a forwarded request must not gain any.
AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
BUFFER_LIMIT = 1024 * 1024  # request bodies up to this size with a Content-Length are sent whole
TIMEOUT_TEXT = b"upstream request timeout"
THROTTLED_TEXT = b"Rate exceeded."


@dataclass
class Forwarded:
    """One forwarded request, for the activation record and the console."""

    id: str
    start_ms: int
    status: int = 0
    duration_ms: int = 0
    cold: bool = False
    wait_ms: int = 0
    outcome: str = "success"  # "success", "error" (5xx), "timeout", "throttled", "unavailable"
    error: str | None = None
    logs: list[LogLine] = field(default_factory=list)


class Forwarder:
    def __init__(self, pool: ServerPool) -> None:
        self.pool = pool
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        # Bytes pass through as the server sent them: no decompression, no cookie jar.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def forward(
        self,
        scope: Scope,
        receive: Any,
        send: Any,
        workload: ServerWorkload,
        path: str,
        timeout_s: float,
        *,
        replace_on_timeout: bool,
        extra_headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    ) -> Forwarded:
        """Serve one request on an instance of `workload`; `path` is the raw path the instance sees."""
        started = time.monotonic()
        record = Forwarded(id=secrets.token_hex(16), start_ms=int(time.time() * 1000))
        deadline = started + timeout_s
        headers, length = request_headers(scope, record.id, extra_headers)
        body: bytes | AsyncIterator[bytes] | None
        if length is not None and length <= BUFFER_LIMIT:
            body = await read_body(receive) if length else None
        elif length is None and not _chunked(scope):
            body = None
        else:
            body = stream_body(receive)
        query = scope.get("query_string", b"").decode("latin-1")
        request = _Request(scope["method"], path + (f"?{query}" if query else ""), headers, body)
        # An instance that died between two requests (a Node.js function exits after an uncaught
        # exception) is found out when the request is sent; one that can be sent again goes to
        # a fresh instance, as the platform's front end would route it.
        attempts = 2 if not isinstance(body, AsyncIterator) else 1
        for attempt in range(attempts):
            try:
                lease = await asyncio.wait_for(
                    self.pool.acquire(workload), max(0.0, deadline - time.monotonic())
                )
            except Throttled:
                record.outcome, record.status = "throttled", 429
                await _answer(send, 429, THROTTLED_TEXT)
                return _finish(record, started)
            except asyncio.TimeoutError:
                record.outcome, record.status = "timeout", 504
                await _answer(send, 504, TIMEOUT_TEXT)
                return _finish(record, started)
            except InstanceStartError as error:
                record.outcome, record.status, record.error = "unavailable", 503, str(error)
                await _answer(send, 503, f"Service Unavailable: {error}\n".encode())
                return _finish(record, started)
            record.cold = record.cold or lease.cold
            record.wait_ms = round((time.monotonic() - started) * 1000)
            healthy = False
            try:
                sent = await self._exchange(
                    send, lease, request, deadline, record, last=attempt == attempts - 1
                )
                healthy = record.outcome != "unavailable" and lease.instance.alive()
                if record.outcome == "timeout" and replace_on_timeout:
                    healthy = False
            finally:
                await asyncio.sleep(0)  # let the log pumps read what the answer's last lines printed
                record.logs += await lease.instance.logs.take(0)
                await self.pool.release(lease, healthy)
            if sent:
                break
        return _finish(record, started)

    async def _exchange(
        self,
        send: Any,
        lease: ServerLease,
        request: _Request,
        deadline: float,
        record: Forwarded,
        *,
        last: bool,
    ) -> bool:
        """Send the request and stream the answer back; False when nothing was sent to the client
        because the instance failed before answering and this is not the `last` attempt."""
        assert self._session is not None, "Forwarder.start() was not called"
        target = URL(lease.instance.url + request.path, encoded=True)
        response_started = False
        try:
            async with (
                _deadline(deadline),
                self._session.request(
                    request.method,
                    target,
                    headers=request.headers,
                    data=request.body,
                    skip_auto_headers=AUTO_HEADERS,
                    allow_redirects=False,
                    compress=None,
                    timeout=aiohttp.ClientTimeout(total=None),
                ) as response,
            ):
                record.status = response.status
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status,
                        "headers": response_headers(response.raw_headers),
                    }
                )
                response_started = True
                async for chunk in response.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
        except TimeoutError:
            record.outcome = "timeout"
            record.status = 504
            if not response_started:
                await _answer(send, 504, TIMEOUT_TEXT)
            return True
        except (aiohttp.ClientError, ConnectionError) as error:
            exit_code = await lease.instance.wait_exit(0.5)
            how = (
                f"exited with status {exit_code}"
                if exit_code is not None
                else f"broke the connection ({error})"
            )
            record.outcome, record.error = "unavailable", f"{lease.workload.spec.key} {how}"
            if response_started:
                return True
            if not last:
                return False
            record.status = 503
            await _answer(send, 503, f"Service Unavailable: {record.error}\n".encode())
            return True
        record.outcome = "error" if record.status >= 500 else "success"
        record.error = None
        return True


@dataclass
class _Request:
    method: str
    path: str  # raw path and query, as the instance gets them
    headers: list[tuple[str, str]]
    body: bytes | AsyncIterator[bytes] | None


def request_headers(
    scope: Scope, request_id: str, extra: list[tuple[bytes, bytes]]
) -> tuple[list[tuple[str, str]], int | None]:
    """The request's headers as the instance gets them, and its Content-Length if it has one."""
    headers: list[tuple[str, str]] = []
    length: int | None = None
    names: set[bytes] = set()
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.lower()
        if name in HOP_BY_HOP:
            continue
        names.add(name)
        if name == b"content-length":
            with contextlib.suppress(ValueError):
                length = int(raw_value)
        headers.append((raw_name.decode("latin-1"), raw_value.decode("latin-1")))
    client = scope.get("client")
    if client:
        forwarded_for = next((v for n, v in headers if n.lower() == "x-forwarded-for"), None)
        value = f"{forwarded_for}, {client[0]}" if forwarded_for else client[0]
        headers = [(n, v) for n, v in headers if n.lower() != "x-forwarded-for"]
        headers.append(("X-Forwarded-For", value))
    if b"x-forwarded-proto" not in names:
        headers.append(("X-Forwarded-Proto", scope.get("scheme", "http")))
    if b"x-cloud-trace-context" not in names:
        headers.append(("X-Cloud-Trace-Context", f"{request_id}/{secrets.randbits(63)};o=1"))
    headers += [(n.decode("latin-1"), v.decode("latin-1")) for n, v in extra]
    return headers, length


def response_headers(raw: tuple[tuple[bytes, bytes], ...]) -> list[tuple[bytes, bytes]]:
    # The front end sets Date and Server itself, as Google's does.
    return [(name, value) for name, value in raw if name.lower() not in HOP_BY_HOP | FRONT_END_HEADERS]


async def read_body(receive: Any) -> bytes:
    chunks = []
    async for chunk in stream_body(receive):
        chunks.append(chunk)
    return b"".join(chunks)


async def stream_body(receive: Any) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def _chunked(scope: Scope) -> bool:
    return any(
        name.lower() == b"transfer-encoding" and b"chunked" in value.lower()
        for name, value in scope["headers"]
    )


async def _answer(send: Any, status: int, body: bytes) -> None:
    """A response from the platform itself, not from the function."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _finish(record: Forwarded, started: float) -> Forwarded:
    record.duration_ms = round((time.monotonic() - started) * 1000)
    return record


def _loop_time(deadline: float) -> float:
    """A `time.monotonic()` deadline on the event loop's clock."""
    loop = asyncio.get_running_loop()
    return loop.time() + (deadline - time.monotonic())


@contextlib.asynccontextmanager
async def _deadline(deadline: float) -> AsyncIterator[None]:
    """Cancel the block at `deadline` and raise TimeoutError (`asyncio.timeout_at`, which
    Python 3.10 lacks)."""
    task = asyncio.current_task()
    assert task is not None
    fired = False

    def expire() -> None:
        nonlocal fired
        fired = True
        task.cancel()

    handle = asyncio.get_running_loop().call_at(_loop_time(deadline), expire)
    try:
        yield
    except asyncio.CancelledError:
        if fired:
            raise TimeoutError from None
        raise
    finally:
        handle.cancel()
