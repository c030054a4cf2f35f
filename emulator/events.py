"""Invocations as they finish, published once for every listener: the console, the dashboard, `emu logs -f`."""

from __future__ import annotations

import asyncio
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
# What `publish` takes: the invocation, or how to build it once the call's answer is out.
Published = Invocation | Callable[[], Invocation]


class Events:
    """A tiny in-process publish/subscribe: listeners run on the event loop and must not block.

    Listeners run on the loop's next turn rather than inside `publish`: a front publishes as a
    call finishes, and the console and the dashboard can wait until its answer has been sent.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._due: list[Published] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def publish(self, invocation: Published) -> None:
        if not self._due:
            try:
                asyncio.get_running_loop().call_soon(self.deliver)
            except RuntimeError:  # no event loop: deliver at once
                self._notify(invocation)
                return
        self._due.append(invocation)

    def deliver(self) -> None:
        """Hand the published invocations to the listeners now, rather than on the next turn."""
        due, self._due = self._due, []
        for invocation in due:
            self._notify(invocation)

    def _notify(self, published: Published) -> None:
        try:
            invocation = published if isinstance(published, Invocation) else published()
        except Exception:
            log.exception("invocation could not be described")
            return
        for listener in list(self._listeners):
            try:
                listener(invocation)
            except Exception:  # one broken listener must not break the call that finished
                log.exception("invocation listener failed")
