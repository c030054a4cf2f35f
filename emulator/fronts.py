"""What the gateway asks of each cloud's front, and what it gives them to work with."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from starlette.types import ASGIApp

from emulator.config import Settings
from emulator.deps import DependencyCache
from emulator.events import Events, Invocation
from emulator.invoker import Invoker
from emulator.servers import ServerGroup
from emulator.store import Store


@dataclass
class FrontContext:
    """The shared parts of one running gateway."""

    settings: Settings
    store: Store
    invoker: Invoker
    servers: ServerGroup  # for fronts that open listeners of their own (function URLs, Cloud Run services)
    events: Events
    deps: DependencyCache  # requirements.txt / package.json installs, shared by every cloud


class Front(Protocol):
    name: str

    def load_project(self, root: Path) -> list[str]:
        """Deploy what this cloud's manifests under `root` declare; returns problems for the console."""
        ...

    def families(self) -> set[str]:
        """The runtime families deployed functions use, so the pool can prewarm them."""
        ...

    def functions(self) -> list[dict[str, Any]]:
        """Deployed functions: provider, name, runtime, url, source (and any extra keys)."""
        ...

    def apps(self) -> dict[str, ASGIApp]:
        """The ASGI app for each gateway port this front serves, keyed as in `Settings.ports()`."""
        ...

    async def invoke(self, name: str, payload: Any) -> Invocation:
        """Run the function `name` (as `functions()` lists it) once with `payload`, for `emu invoke`
        and the dashboard. Errors carry the cloud's `status` and `message`."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


async def capture_invocation(events: Events, invocation_id: str, call: Awaitable[object]) -> Invocation:
    """Await `call` and return the `Invocation` it published under `invocation_id`."""
    seen: list[Invocation] = []
    unsubscribe = events.subscribe(lambda item: seen.append(item) if item.id == invocation_id else None)
    try:
        await call
        await asyncio.sleep(0)  # a front may keep its record on the loop's next turn
        events.deliver()
    finally:
        unsubscribe()
    if not seen:
        raise RuntimeError(f"invocation {invocation_id} finished without an invocation event")
    return seen[-1]
