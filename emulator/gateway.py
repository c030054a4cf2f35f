"""One process, one event loop: a Starlette app per provider, each on its own port."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from emulator import __version__
from emulator.admin import Admin, AdminContext
from emulator.backends.base import Backend
from emulator.backends.docker import DockerBackend, DockerUnavailable, connect
from emulator.backends.process import ProcessBackend
from emulator.config import Settings
from emulator.console import Console
from emulator.deps import DependencyCache
from emulator.events import Events
from emulator.fronts import Front, FrontContext
from emulator.invoker import Invoker
from emulator.pool import Pool
from emulator.reload import ProjectWatcher
from emulator.servers import BindError, ServerGroup, bind
from emulator.store import Store
from providers.aws_lambda.app import LambdaFront
from providers.azure.app import AzureFront
from providers.gcp.app import GcpFront
from providers.openwhisk.app import OpenWhiskFront

log = logging.getLogger("emu.gateway")
# Each cloud's front, built from the shared parts of the gateway.
FRONTS: list[Callable[[FrontContext], Front]] = [OpenWhiskFront, LambdaFront, AzureFront, GcpFront]
PORT_OPTIONS = {
    "openwhisk": "--openwhisk-port",
    "lambda": "--lambda-port",
    "apigateway": "--apigateway-port",
    "azure": "--azure-port",
    "gcp": "--gcp-port",
    "admin": "--admin-port",
}


class GatewayError(Exception):
    """A problem that stops `emu up` from starting, explained for the user."""


class Gateway:
    def __init__(self, settings: Settings, console: Console | None = None) -> None:
        self.settings = settings
        self.console = console or Console(log_format=settings.log_format)
        self._ready = False
        self._stop = asyncio.Event()
        self.store: Store | None = None
        self.events = Events()
        self.fronts: list[Front] = []

    def request_stop(self) -> None:
        self._stop.set()

    def functions(self) -> list[dict[str, Any]]:
        return [item for front in self.fronts for item in front.functions()]

    async def run(self) -> None:
        settings = self.settings
        backend = self._backend()
        servers = ServerGroup(settings.host)
        sockets: dict[str, socket.socket] = {}
        try:
            for provider, port in settings.ports().items():
                try:
                    sockets[provider] = bind(settings.host, port)
                except BindError as error:
                    option = PORT_OPTIONS[provider]
                    message = f"cannot listen on {error.host}:{error.port} ({option}): {error.reason}"
                    raise GatewayError(message) from None
        except GatewayError:
            for sock in sockets.values():
                sock.close()
            raise
        for provider, sock in sockets.items():
            setattr(settings, f"{provider}_port", sock.getsockname()[1])
        if settings.host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("listening on %s: other machines can reach emu", settings.host)

        store = self.store = Store(settings.state_dir / "emu.db")
        pool = Pool(backend, settings, {"__OW_API_HOST": settings.base_url("openwhisk")})
        invoker = Invoker(pool)
        await invoker.start()
        self.events.subscribe(self.console.invocation)
        deps = DependencyCache(settings.deps_cache, self.console.say)
        context = FrontContext(settings, store, invoker, servers, self.events, deps)
        self.fronts = [make_front(context) for make_front in FRONTS]
        watcher = None
        try:
            if settings.project is not None:
                self._load(settings.project)
                if settings.reload:
                    watcher = ProjectWatcher(settings.project, settings.state_dir, self._reloaded)
                    watcher.start()
            families = set().union(*(front.families() for front in self.fronts))
            if isinstance(backend, DockerBackend):
                await backend.open(families)
            pool.start(families)
            apps: dict[str, ASGIApp] = {
                "admin": Admin(
                    AdminContext(
                        lambda: self._ready,
                        self.functions,
                        lambda: self.fronts,
                        store,
                        self.events,
                        pool,
                        self._stop,
                    )
                ).app(),
            }
            for front in self.fronts:
                apps.update(front.apps())
            for provider, app in apps.items():
                servers.serve(app, sockets.pop(provider))
            while not servers.started():
                if servers.failed():
                    raise GatewayError("a server stopped during start-up")
                await asyncio.sleep(0.01)
            for front in self.fronts:
                await front.start()
            settle_heap()
            self._ready = True
            self._announce(backend.name)
            self._write_gateway_file()
            await self._stop.wait()
            self.console.stopping()
        finally:
            self._ready = False
            await servers.close()
            if watcher is not None:
                await watcher.stop()
            for front in self.fronts:
                await front.close()
            await pool.close()
            await invoker.close()
            await backend.close()
            store.close()
            for sock in sockets.values():
                sock.close()
            with contextlib.suppress(FileNotFoundError):
                (settings.state_dir / "gateway.json").unlink()

    def _backend(self) -> Backend:
        """--backend docker needs an engine (DOCKER_HOST honoured); auto takes one when it answers."""
        choice = self.settings.backend
        if choice in ("docker", "auto"):
            try:
                return DockerBackend(
                    self.settings, self.console.say, connect(timeout=10.0 if choice == "docker" else 3.0)
                )
            except DockerUnavailable as error:
                if choice == "docker":
                    raise GatewayError(f"--backend docker: {error}") from None
        return ProcessBackend(self.settings.state_dir / "instances")

    def _load(self, root: Path) -> None:
        for front in self.fronts:
            for problem in front.load_project(root):
                self.console.warning(problem)

    def _reloaded(self, root: Path) -> None:
        before = self._deployed()
        self._load(root)
        self.console.reloaded(describe_reload(before, self._deployed()))

    def _deployed(self) -> dict[str, Any]:
        """Every deployed entity's document, by a name a person recognises."""
        assert self.store is not None
        return {
            f"{front.name} {entity.path}": entity.doc
            for front in self.fronts
            for entity in self.store.list_entities(front.name)
        }

    def _announce(self, backend: str) -> None:
        settings = self.settings
        urls = {provider: settings.base_url(provider) for provider in settings.ports()}
        self.console.started(__version__, backend, settings.state_dir, self.functions(), urls)

    def _write_gateway_file(self) -> None:
        """Where a running gateway listens, for `emu` commands and tests started with port 0."""
        info = {
            "pid": os.getpid(),
            "urls": {provider: self.settings.base_url(provider) for provider in self.settings.ports()},
        }
        target = self.settings.state_dir / "gateway.json"
        partial = target.with_suffix(".tmp")
        partial.write_text(json.dumps(info))
        partial.replace(target)


def describe_reload(before: dict[str, Any], after: dict[str, Any]) -> str:
    """One console line: what a reload added, changed and removed."""
    parts = []
    for label, names in (
        ("added", sorted(after.keys() - before.keys())),
        ("changed", sorted(name for name in after.keys() & before.keys() if after[name] != before[name])),
        ("removed", sorted(before.keys() - after.keys())),
    ):
        if names:
            parts.append(f"{label} {', '.join(names)}")
    return "Reloaded: " + ("; ".join(parts) if parts else "nothing changed")


def settle_heap() -> None:
    """Keep the garbage collector off the invoke path once the gateway is up.

    What start-up built lives as long as the gateway, so it is frozen out of every collection;
    and a call allocates a few hundred objects, so the youngest generation is collected every
    few dozen calls rather than every call or two. About 10 % off a warm call's latency.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def serve(settings: Settings) -> None:
    """Run the gateway until Ctrl-C or SIGTERM."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        gateway = Gateway(settings)
        gateway.console.adopt_logging()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, gateway.request_stop)
        await gateway.run()

    try:
        import uvloop  # libuv's event loop: the gateway's per-call overhead is mostly loop and socket work
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
