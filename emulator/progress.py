"""Long tasks the console shows while they run: dependency installs, image pulls, image builds.

A `Task` is the handle the worker holds: `update(current, total, detail)` as it learns more, then
`finish(ok, message)` (or leave its `with` block). How it looks is up to the `TaskSink` it reports
to: the console draws a live line on a terminal, plain start/end lines otherwise, and `progress`
events with `--log-format json`. Tasks may be updated from any thread (the docker SDK's blocking
calls run in worker threads); the sink serialises the writes.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
BAR_WIDTH = 24


class TaskSink(Protocol):
    def task_started(self, task: Task) -> None: ...
    def task_updated(self, task: Task) -> None: ...
    def task_finished(self, task: Task) -> None: ...


class Task:
    """One task's state; every change is reported to the sink that shows it."""

    _ids = itertools.count(1)  # next() on a count is atomic under the GIL: safe from any thread

    def __init__(self, label: str, sink: TaskSink, unit: str = "") -> None:
        self.id = next(Task._ids)
        self.label = label
        self.unit = unit  # "B" formats amounts as sizes; anything else is a count of that unit
        self.current: int | None = None
        self.total: int | None = None
        self.detail = ""
        self.ok: bool | None = None  # None while it runs
        self.message = ""
        self.error = ""  # what an exception leaving the `with` block said; its raiser reports it in full
        self.started = time.monotonic()
        self.ended: float | None = None
        self._sink = sink
        sink.task_started(self)

    def update(self, current: int | None = None, total: int | None = None, detail: str | None = None) -> None:
        if self.ok is not None:
            return
        if current is not None:
            self.current = current
        if total is not None:
            self.total = total
        if detail is not None:
            self.detail = detail
        self._sink.task_updated(self)

    def finish(self, ok: bool = True, message: str = "") -> None:
        if self.ok is not None:  # once: a `with` block's exit after an explicit finish is a no-op
            return
        self.ok = ok
        self.message = message
        self.ended = time.monotonic()
        self._sink.task_finished(self)

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def __enter__(self) -> Task:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is None:
            self.finish(True)
        elif self.ok is None:
            self.error = str(error) or type(error).__name__
            self.finish(False)


TaskFactory = Callable[..., Task]


class LineSink:
    """Tasks as two lines through a plain `say` callable: for callers that have no console."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say

    def task_started(self, task: Task) -> None:
        self._say(start_line(task))

    def task_updated(self, task: Task) -> None:
        pass

    def task_finished(self, task: Task) -> None:
        self._say(end_line(task))


def tasks_for(say: Callable[[str], None]) -> TaskFactory:
    """How to start a task, given the `say` a component was handed.

    Components (the dependency cache, the backends) receive the console's `say`; when it is one,
    its console shows tasks live. Any other callable gets start and end lines.
    """
    owner = getattr(say, "__self__", None)
    task = getattr(owner, "task", None)
    if callable(task) and getattr(say, "__name__", "") == "say":
        return task
    sink = LineSink(say)
    return lambda label, unit="": Task(label, sink, unit)


# -- text --------------------------------------------------------------------------------------


def start_line(task: Task) -> str:
    return f"{task.label} ..."


def end_line(task: Task) -> str:
    took = f" ({task.elapsed:.1f} s)"
    if task.ok:
        return (task.message or f"{task.label}: done") + took
    return f"{task.label}: failed" + (f": {task.message}" if task.message else "") + took


def amount(value: int, unit: str) -> str:
    if unit == "B":
        for scale, suffix in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
            if value >= scale:
                return f"{value / scale:.1f} {suffix}"
        return f"{value} B"
    return f"{value} {unit}".rstrip()


def bar(current: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = min(width, int(width * current / total)) if total > 0 else 0
    return "█" * filled + "░" * (width - filled)


def progress_text(task: Task) -> str:
    """What follows the label on a live line: a bar when the total is known, else a count."""
    parts: list[str] = []
    if task.current is not None and task.total:
        percent = min(100, int(100 * task.current / task.total))
        size = f"{amount(task.current, task.unit)}/{amount(task.total, task.unit)}"
        if task.unit == "B":
            parts.append(f"{bar(task.current, task.total)} {percent:3d}% {size}")
        else:  # steps: "3/7" reads better than "3 /7 "
            parts.append(f"{bar(task.current, task.total)} {task.current}/{task.total}")
    elif task.current is not None:
        parts.append(amount(task.current, task.unit))
    if task.detail:
        parts.append(task.detail)
    parts.append(f"{task.elapsed:.0f}s")
    return "  ".join(parts)


def live_line(tasks: list[Task], frame: int, width: int) -> tuple[str, str]:
    """(spinner, text) of the one redrawn line: the newest task, and how many others run."""
    newest = tasks[-1]
    text = f"{newest.label}  {progress_text(newest)}"
    if len(tasks) > 1:
        text += f"  (+{len(tasks) - 1} more)"
    room = max(10, width - 3)  # spinner, space, and one column so the terminal never wraps
    if len(text) > room:
        text = text[: room - 1] + "…"
    return SPINNER[frame % len(SPINNER)], text
