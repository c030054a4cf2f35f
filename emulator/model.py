"""Plain data passed between the provider fronts, the invoker and the pool."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from emulator.logs import LogLine


@dataclass(frozen=True)
class FunctionSpec:
    """One deployed revision of a function, as the pool and the invoker see it."""

    key: str  # stable identity across revisions, e.g. "openwhisk:guest/demo/hello"
    revision: str  # changes whenever code or settings change, so old instances are not reused
    family: str  # runtime family: "python" or "nodejs"
    init_value: dict[str, Any]  # the /init "value": name, main, code, binary, env
    timeout_s: float
    max_instances: int | None = None  # None: the gateway's default
    max_queued: int | None = None  # calls that may wait for an instance; None: the gateway's default
    report_memory: bool = False  # measure the instance's peak memory after each call (Lambda's REPORT)
    log_limit_bytes: int | None = None  # output kept per activation; None: the log capture's default
    # The memory limit (Lambda MemorySize, OpenWhisk limits.memory); None: the backend's default.
    memory_mb: int | None = None
    # Variables made anew for each instance at its /init (Lambda's log stream is one per instance).
    instance_env: Callable[[], dict[str, str]] | None = None
    # Decode the /run answer into `Outcome.body`; False when the front reads `Outcome.raw` itself.
    parse_result: bool = True


@dataclass(frozen=True)
class EncodedJson:
    """A value that is JSON already (the bytes a client sent, checked): it goes into a /run body as
    it is, not decoded and encoded again, which for a large payload is most of a call's work."""

    data: bytes


@dataclass
class Outcome:
    """What happened when one activation ran on an instance."""

    phase: Literal["start", "init", "run"]  # the last step attempted
    status: int | None = None  # HTTP status the proxy answered that step with
    body: Any = None  # the proxy's JSON answer, when it was JSON
    raw: bytes = b""  # the proxy's answer as it came
    function_error: str | None = None  # the proxy's X-Emu-Function-Error header (Lambda)
    error: str | None = None  # a failure the platform saw: timeout, exit, unparseable answer
    timed_out: bool = False
    exit_code: int | None = None  # the instance's exit status when it exited by itself
    out_of_memory: bool = False  # the instance was killed for passing its memory limit
    peak_memory_mb: int | None = None
    reported_peak_kb: int | None = None  # the peak memory the proxy reported of its own process
    cold: bool = False
    prewarmed: bool = False
    wait_ms: int = 0
    init_ms: int | None = None
    start_ms: int = 0
    end_ms: int = 0
    logs: list[LogLine] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.phase == "run" and self.status == 200 and self.error is None
