"""HTTP servers sharing the gateway's event loop: the fixed provider ports and ones opened later
(a Lambda function URL gets a port of its own)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp


class BindError(Exception):
    """A port could not be listened on."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {reason}")
        self.host = host
        self.port = port
        self.reason = reason


class _Server(uvicorn.Server):
    # The gateway handles SIGINT/SIGTERM once for every server it runs.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it keep-alive replies stall ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise BindError(host, port, error.strerror or str(error)) from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


@dataclass
class _Running:
    server: _Server
    sock: socket.socket
    task: asyncio.Task[None]


class ServerGroup:
    def __init__(self, host: str) -> None:
        self.host = host
        self._running: dict[int, _Running] = {}

    def serve(self, app: ASGIApp, sock: socket.socket) -> int:
        """Serve `app` on an already bound socket; returns its port."""
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            # The caller is the peer of the connection, as the clouds see it: a client's own
            # X-Forwarded-For is passed on (and extended) but never taken as its address.
            proxy_headers=False,
        )
        server = _Server(config)
        port = sock.getsockname()[1]
        task = asyncio.create_task(server.serve(sockets=[sock]))
        self._running[port] = _Running(server, sock, task)
        return port

    def open(self, app: ASGIApp, port: int = 0) -> int:
        """Bind `port` (0: any free one; a taken port falls back to any) and serve `app` there."""
        try:
            sock = bind(self.host, port)
        except BindError:
            if port == 0:
                raise
            sock = bind(self.host, 0)
        return self.serve(app, sock)

    def started(self) -> bool:
        return all(running.server.started for running in self._running.values())

    def failed(self) -> bool:
        return any(running.task.done() for running in self._running.values())

    async def stop(self, port: int) -> None:
        running = self._running.pop(port, None)
        if running is not None:
            await self._stop(running)

    async def close(self) -> None:
        runnings, self._running = list(self._running.values()), {}
        await asyncio.gather(*(self._stop(running) for running in runnings), return_exceptions=True)

    async def _stop(self, running: _Running) -> None:
        running.server.should_exit = True
        with contextlib.suppress(Exception):
            await running.task
        running.sock.close()
