"""The parts of `emu invoke` for Cloud Functions and Cloud Run: a request made inside the gateway,
served by the same ASGI apps as one from outside."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from emulator.ids import random_uuid

EVENT_TYPE = "emu.invoke"
EVENT_SOURCE = "emu"


class InvokeError(Exception):
    """Why `emu invoke` cannot run a function, with the status the admin API answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def cloud_event(payload: Any) -> dict[str, Any]:
    """`payload` as the `data` of a structured-mode CloudEvent (CloudEvents 1.0 JSON format)."""
    return {
        "specversion": "1.0",
        "id": random_uuid(),
        "type": EVENT_TYPE,
        "source": EVENT_SOURCE,
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": payload,
    }


class Answer:
    """The ASGI `send` of an internal request: keeps the status and the body."""

    def __init__(self) -> None:
        self.status = 0
        self.body = bytearray()
        self.done = asyncio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                self.done.set()


def one_body(body: bytes, done: asyncio.Event) -> Callable[[], Awaitable[dict[str, Any]]]:
    """The ASGI `receive` of an internal request: its body, then a disconnect once answered."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    return receive
