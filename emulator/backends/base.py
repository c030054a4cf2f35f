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

    async def wait_exit(self, timeout: float) -> int | None:
        """The exit status once the instance has exited by itself within `timeout`, else None."""
        ...

    def peak_memory_mb(self) -> int | None:
        """The most memory the instance has used, when the backend can tell."""
        ...

    async def stop(self) -> None: ...


class Backend(Protocol):
    name: str

    async def start(self, family: str, env: dict[str, str]) -> Instance: ...

    async def close(self) -> None: ...
