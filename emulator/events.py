"""Invocations as they finish, published once for every listener: the console, the dashboard, `emu logs -f`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("emu.events")


@dataclass(frozen=True)
class Invocation:
    """One finished call of one function, in the terms every provider shares."""

    provider: str  # "openwhisk", "lambda", "azure", "gcp", "cloudrun"
    function: str  # the name a user knows it by, e.g. "/guest/demo/hello" or "HelloFunction"
    id: str  # activation id, request id or invocation id
    status: str  # "success" or the cloud's word for the failure ("error", "timeout", ...)
    start_ms: int
    duration_ms: int
    cold: bool
    wait_ms: int | None = None
    init_ms: int | None = None
    request: Any = None  # the payload, when the provider has one worth showing
    response: Any = None  # the result, likewise
    logs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "function": self.function,
            "id": self.id,
            "status": self.status,
            "start": self.start_ms,
            "duration": self.duration_ms,
            "cold": self.cold,
            "waitTime": self.wait_ms,
            "initTime": self.init_ms,
            "request": self.request,
            "response": self.response,
            "logs": self.logs,
        }


Listener = Callable[[Invocation], None]


class Events:
    """A tiny in-process publish/subscribe: listeners run on the event loop and must not block."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def publish(self, invocation: Invocation) -> None:
        for listener in list(self._listeners):
            try:
                listener(invocation)
            except Exception:  # one broken listener must not break the call that finished
                log.exception("invocation listener failed")
