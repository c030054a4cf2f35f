"""Per-activation log capture from an instance's stdout and stderr.

The runtime proxy ends every activation with a sentinel line on both streams; the lines before
the sentinels belong to that activation. Lines are stamped when read; each provider front
formats them the way its cloud shows logs.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import datetime, timezone
from typing import NamedTuple

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
STREAMS = ("stdout", "stderr")
# OpenWhisk's default `limits.logs` is 10 MB per activation.
DEFAULT_LIMIT_BYTES = 10 * 1024 * 1024

_MARK = object()


class LogLine(NamedTuple):
    stamp: str  # ISO 8601 UTC with microseconds, when the gateway read the line
    stream: str  # "stdout" or "stderr"
    text: str

    def openwhisk(self) -> str:
        """`<ISO timestamp padded to 30> stdout: <line>`, as OpenWhisk stores log lines."""
        return f"{self.stamp:<30} {self.stream}: {self.text}"


class _Stream:
    def __init__(self) -> None:
        self.lines: deque[object] = deque()  # (timestamp, text) tuples and _MARK sentinels
        self.marks = 0
        self.closed = False
        self.pending_bytes = 0
        self.dropped = False


class LogCapture:
    """Collects lines as they arrive; `take()` hands out one activation's worth."""

    def __init__(self, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self.limit_bytes = limit_bytes
        self._streams = {name: _Stream() for name in STREAMS}
        self._waiter: asyncio.Future[None] | None = None  # set while `take()` waits for sentinels

    def feed(self, stream: str, text: str) -> None:
        state = self._streams[stream]
        if text == SENTINEL:
            state.lines.append(_MARK)
            state.marks += 1
            self._wake()
            return
        # Past the limit the lines are dropped as they come, so a flooding action cannot grow
        # the gateway's memory; `take()` reports the truncation.
        if state.pending_bytes + len(text) > self.limit_bytes:
            state.dropped = True
            return
        state.pending_bytes += len(text)
        state.lines.append((timestamp(), text))

    def close(self, stream: str) -> None:
        self._streams[stream].closed = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _complete(self) -> bool:
        return all(s.marks > 0 or s.closed for s in self._streams.values())

    async def take(self, timeout: float) -> list[LogLine]:
        """The lines up to the next sentinel on both streams, oldest first.

        Returns what has arrived when `timeout` passes, or when a stream ends without its
        sentinel (the instance died): those are the activation's logs too.
        """
        if self._complete():  # the usual case: the sentinels came before the answer
            return self._drain()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # A future and a timer rather than asyncio.wait_for: no task per call on the hot path.
        while not self._complete() and loop.time() < deadline:
            waiter = self._waiter = loop.create_future()
            timer = loop.call_at(deadline, _release, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        return self._drain()

    def _drain(self) -> list[LogLine]:
        entries: list[LogLine] = []
        truncated = False
        for name, state in self._streams.items():
            while state.lines:
                item = state.lines.popleft()
                if item is _MARK:
                    state.marks -= 1
                    break
                stamp, text = item  # type: ignore[misc]
                state.pending_bytes -= len(text)
                entries.append(LogLine(stamp, name, text))
            truncated = truncated or state.dropped
            state.dropped = False
        entries.sort(key=lambda entry: entry.stamp)
        if truncated:
            notice = f"Logs were truncated because the total bytes size exceeds the limit of {self.limit_bytes} bytes."
            entries.append(LogLine(timestamp(), "stderr", notice))
        return entries


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def pump_lines(reader: asyncio.StreamReader, stream: str, capture: LogCapture) -> None:
    """Feed every line of `reader` into `capture` until end of file."""
    try:
        while True:
            try:
                raw = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as end:
                if end.partial:
                    capture.feed(stream, end.partial.decode(errors="replace"))
                return
            except asyncio.LimitOverrunError as overrun:
                # A line longer than the reader's buffer: hand it on in pieces.
                raw = await reader.readexactly(overrun.consumed)
            capture.feed(stream, raw.decode(errors="replace").rstrip("\r\n"))
    finally:
        capture.close(stream)
