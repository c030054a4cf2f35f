"""Timer triggers fire on their NCRONTAB schedule while emu runs; one run at a time per function."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from providers.azure.ncrontab import Schedule

log = logging.getLogger("emu.azure")
Fire = Callable[[str, str, dict[str, Any]], Awaitable[None]]  # (app root, function, timer data)


def timer_data(last: datetime | None, next_time: datetime, past_due: bool = False) -> dict[str, Any]:
    """The TimerInfo JSON the host gives timer functions."""
    now = datetime.now(timezone.utc)
    return {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": {
            "Last": iso(last or datetime.min.replace(tzinfo=timezone.utc)),
            "Next": iso(next_time),
            "LastUpdated": iso(now),
        },
        "IsPastDue": past_due,
    }


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".") + "+00:00"


class Timers:
    def __init__(self, fire: Fire) -> None:
        self.fire = fire
        self._tasks: dict[tuple[str, str], tuple[str, asyncio.Task[None]]] = {}
        self._running = False
        self._wanted: dict[tuple[str, str], tuple[str, Schedule, bool]] = {}

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        self._running = True
        self._apply(self._wanted)

    def sync(self, wanted: dict[tuple[str, str], tuple[str, Schedule, bool]]) -> None:
        """Run exactly the `wanted` timers: (app root, name) -> (schedule text, schedule, runOnStartup)."""
        self._wanted = wanted
        if self._running:
            self._apply(wanted)

    def _apply(self, wanted: dict[tuple[str, str], tuple[str, Schedule, bool]]) -> None:
        for key in list(self._tasks):
            text, task = self._tasks[key]
            if key not in wanted or wanted[key][0] != text:
                task.cancel()
                del self._tasks[key]
        for key, (text, schedule, on_startup) in wanted.items():
            if key not in self._tasks:
                self._tasks[key] = (text, asyncio.ensure_future(self._loop(key, schedule, on_startup)))

    async def _loop(self, key: tuple[str, str], schedule: Schedule, on_startup: bool) -> None:
        root, name = key
        last: datetime | None = None
        now = datetime.now(timezone.utc)
        if on_startup:
            await self._fire(root, name, timer_data(None, schedule.next_after(now)))
            last = now
        while True:
            now = datetime.now(timezone.utc)
            due = schedule.next_after(now)
            await asyncio.sleep(max(0.0, (due - datetime.now(timezone.utc)).total_seconds()))
            await self._fire(root, name, timer_data(last, schedule.next_after(due)))
            last = due

    async def _fire(self, root: str, name: str, data: dict[str, Any]) -> None:
        try:
            await self.fire(root, name, data)
        except Exception:
            log.exception("timer function %s failed to run", name)

    async def close(self) -> None:
        self._running = False
        tasks = [task for _, task in self._tasks.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
