"""What every backend provides: start an instance of a runtime family, and stop it."""

from __future__ import annotations

from typing import Protocol

from emulator.logs import LogCapture


class InstanceStartError(Exception):
    """The instance could not be started or did not become ready."""


class Instance(Protocol):
    id: str
    family: str
    url: str  # where its proxy listens, http://127.0.0.1:PORT
    logs: LogCapture

    def alive(self) -> bool: ...

    async def stop(self) -> None: ...


class Backend(Protocol):
    name: str

    async def start(self, family: str, env: dict[str, str]) -> Instance: ...

    async def close(self) -> None: ...
