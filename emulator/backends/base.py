"""What every backend provides: start an instance of a runtime family, and stop it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from emulator.logs import LogCapture
from emulator.model import FunctionSpec


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

    def peak_memory_mb(self, reported_kb: int | None) -> int | None:
        """The most memory the instance has used, when the backend can tell.

        `reported_kb` is what the proxy reported of its own process with its last answer."""
        ...

    def out_of_memory(self) -> bool:
        """Whether the instance was killed for passing its memory limit (after `wait_exit`)."""
        ...

    async def prepare(self, spec: FunctionSpec, value: dict[str, Any]) -> dict[str, Any]:
        """Fit the instance to `spec` before its /init: limits, and the host folders in `value`
        (`path`, `dependencies`) made visible inside it. Returns the /init value to send."""
        ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class ServerSpec:
    """A workload that is its own HTTP server (a Cloud Run service): started as it is, reached over HTTP.

    The process backend runs `command` in `workdir` with `PORT` set to a free port; the docker backend
    runs `image` (or builds `workdir`'s Dockerfile) with `PORT` set to `port`.
    """

    key: str  # the function or service it serves, for labels and messages
    command: list[str] | None = None
    image: str | None = None
    workdir: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    port: int = 8080
    ready_timeout_s: float = 30.0  # how long it may take to start listening before it counts as failed


class Backend(Protocol):
    name: str

    async def start(self, family: str, env: dict[str, str]) -> Instance:
        """An instance of the in-instance proxy for a runtime family, ready for /init."""
        ...

    async def start_server(self, spec: ServerSpec) -> Instance:
        """An instance of a self-serving workload, listening at `Instance.url`; its logs captured."""
        ...

    async def close(self) -> None: ...
