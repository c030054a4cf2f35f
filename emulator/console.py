"""What `emu up` prints: the function table at start, then one line per invocation followed by the
function's own output, each line prefixed with the function's name.

`text` is for people (colour only when the terminal has it: click strips it otherwise); `json` is
one JSON object per line, with a `kind`, for machines.

Long tasks (`Console.task`: dependency installs, image pulls and builds) show as one live line on
a terminal, redrawn in place with a spinner and a bar, cleared before any other line is printed;
as a start and an end line when the output is not a terminal; and as `progress` events in JSON.
Tasks report from worker threads too, so every write holds the console's lock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import click

from emulator.cockpit.records import output_lines
from emulator.events import Invocation
from emulator.progress import Task, end_line, live_line, start_line

LOG_FORMATS = ("text", "json")
REDRAW_EVERY_S = 0.1  # the live line's frame rate: enough to look alive, cheap to draw
JSON_UPDATE_EVERY_S = 0.5  # `progress` update events per task at most this often


def function_table(functions: list[dict[str, Any]]) -> str:
    if not functions:
        return "No functions found."
    # A front's `label` is how its own tools print the function (Core Tools' `Name: [GET,POST]`).
    rows = [(f["provider"], f.get("label") or f["name"], f["runtime"], f["url"]) for f in functions]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["Functions:", ""]
    for provider, name, runtime, url in rows:
        lines.append(
            f"  {provider:<{widths[0]}}  {name:<{widths[1]}}  {runtime:<{widths[2]}}  "
            + click.style(url, fg="green")
        )
    return "\n".join(lines)


def invocation_line(call: dict[str, Any], stamp: str | None = None) -> str:
    """`12:00:01 openwhisk /guest/demo/hello success 3 ms warm`, with the init time when cold."""
    ok = call["status"] == "success"
    stamp = stamp or time.strftime("%H:%M:%S")
    line = (
        f"{stamp} {call['provider']} {call['function']} "
        + click.style(call["status"], fg="green" if ok else "red")
        + f" {call['duration']} ms {'cold' if call['cold'] else 'warm'}"
    )
    if call.get("initTime") is not None:
        line += click.style(f" (init {call['initTime']} ms)", dim=True)
    return line


def output_block(call: dict[str, Any]) -> list[str]:
    """The function's own output lines, each prefixed with its name (stderr in yellow)."""
    name = str(call["function"]).rsplit("/", 1)[-1]
    prefix = click.style(f"  {name} |", fg="cyan")
    return [
        f"{prefix} " + (click.style(text, fg="yellow") if stream == "stderr" else text)
        for stream, text in output_lines(call.get("logs") or [])
    ]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Console:
    def __init__(self, stream: TextIO | None = None, log_format: str = "text") -> None:
        self.stream = stream or sys.stdout
        self.json = log_format == "json"
        self.live = not self.json and _isatty(self.stream)  # redraw a task line in place
        self._lock = threading.RLock()
        self._tasks: list[Task] = []  # running, oldest first
        self._drawn = False  # the live line is on screen and must be cleared before other output
        self._frame = 0
        self._last_draw = 0.0
        self._last_event: dict[int, float] = {}
        self._ticker: threading.Thread | None = None

    @contextlib.contextmanager
    def live_line_cleared(self) -> Iterator[None]:
        """Write something else to the screen: the live line is cleared first, then redrawn."""
        with self._lock:
            self._clear_live()
            self.stream.flush()
            try:
                yield
            finally:
                self._draw_live(force=True)

    def adopt_logging(self) -> None:
        """On a terminal, write Python's log records around the live line, not over it."""
        if not self.live:
            return
        root = logging.getLogger()
        for handler in list(root.handlers):
            if type(handler) is logging.StreamHandler:  # basicConfig's own; not a test's capture
                replacement = ConsoleLogHandler(self, handler.stream)
                replacement.setLevel(handler.level)
                replacement.setFormatter(handler.formatter)
                root.removeHandler(handler)
                root.addHandler(replacement)

    def _emit(self, kind: str, text: str, **fields: Any) -> None:
        with self._lock:
            if self.json:
                record = {"time": now_iso(), "kind": kind, **fields}
                click.echo(json.dumps(record, default=str), file=self.stream)
                return
            self._clear_live()
            click.echo(text, file=self.stream)
            self._draw_live()

    # -- tasks -----------------------------------------------------------------------------------

    def task(self, label: str, unit: str = "") -> Task:
        """Start showing a long task; update and finish it through the handle (or a `with` block)."""
        return Task(label, self, unit)

    def task_started(self, task: Task) -> None:
        with self._lock:
            self._tasks.append(task)
            if self.json:
                self._emit("progress", "", task=task.label, id=task.id, phase="start", unit=task.unit)
            elif self.live:
                self._draw_live(force=True)
                self._start_ticker()
            else:
                self._emit("progress", start_line(task))

    def task_updated(self, task: Task) -> None:
        with self._lock:
            if self.json:
                now = time.monotonic()
                if now - self._last_event.get(task.id, 0.0) < JSON_UPDATE_EVERY_S:
                    return
                self._last_event[task.id] = now
                self._emit(
                    "progress", "", task=task.label, id=task.id, phase="update", unit=task.unit,
                    current=task.current, total=task.total, detail=task.detail,
                )  # fmt: skip
            elif self.live:
                self._draw_live()

    def task_finished(self, task: Task) -> None:
        with self._lock:
            if task in self._tasks:
                self._tasks.remove(task)
            self._last_event.pop(task.id, None)
            if self.json:
                self._emit(
                    "progress", "", task=task.label, id=task.id, phase="end", unit=task.unit,
                    current=task.current, total=task.total, ok=task.ok, message=task.message,
                    **({"error": task.error} if task.error else {}), elapsed_ms=round(task.elapsed * 1000),
                )  # fmt: skip
                return
            line = end_line(task)
            if self.live:
                mark = click.style("✔", fg="green") if task.ok else click.style("✖", fg="red")
                line = f"{mark} {line}"
            self._emit("progress", line)

    def _clear_live(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[2K")
            self._drawn = False

    def _draw_live(self, force: bool = False) -> None:
        """Redraw the live line, at most every REDRAW_EVERY_S unless forced (or after a clear)."""
        if not self.live or not self._tasks:
            return
        now = time.monotonic()
        if self._drawn and not force and now - self._last_draw < REDRAW_EVERY_S:
            return
        self._last_draw = now
        self._frame += 1
        spinner, text = live_line(self._tasks, self._frame, shutil.get_terminal_size().columns)
        self.stream.write("\r\x1b[2K" + click.style(spinner, fg="cyan") + " " + text)
        self.stream.flush()
        self._drawn = True

    def _start_ticker(self) -> None:
        """Keep the spinner turning while a task is silent (npm, a slow layer)."""
        if self._ticker is not None and self._ticker.is_alive():
            return

        def tick() -> None:
            while True:
                time.sleep(REDRAW_EVERY_S)
                with self._lock:
                    if not self._tasks:
                        self._ticker = None
                        return
                    self._draw_live()

        self._ticker = threading.Thread(target=tick, name="console-ticker", daemon=True)
        self._ticker.start()

    # -- lines -----------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self._emit("message", text, message=click.unstyle(text))

    def warning(self, text: str) -> None:
        self._emit("warning", click.style("warning: ", fg="yellow") + text, message=text)

    def started(
        self,
        version: str,
        backend: str,
        state_dir: Path,
        functions: list[dict[str, Any]],
        urls: dict[str, str],
    ) -> None:
        if self.json:
            self._emit("functions", "", functions=functions)
            self._emit("ready", "", version=version, backend=backend, state_dir=str(state_dir), urls=urls)
            return
        self.say(f"emu {version}  backend: {backend}  state: {state_dir}")
        self.say("")
        self.say(function_table(functions))
        self.say("")
        for provider, url in urls.items():
            self.say(f"  {provider:<10} {url}")
        self.say("")
        self.say("emu is ready. Press Ctrl+C to stop.")

    def reloaded(self, summary: str) -> None:
        self._emit("reload", summary, message=summary)

    def invocation(self, call: Invocation) -> None:
        record = call.as_dict()
        if self.json:
            self._emit("invocation", "", **record)
            return
        # One write for the call and its output: a line per write cost a syscall each.
        self.say("\n".join([invocation_line(record), *output_block(record)]))

    def stopping(self) -> None:
        self._emit("stopping", "Stopping emu...", message="Stopping emu...")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed stream
        return False


class ConsoleLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Log records on their stream (stderr), written around the console's live line: on a
    terminal both streams are one screen, and the next redraw would erase a record written over it."""

    def __init__(self, console: Console, stream: TextIO | None = None) -> None:
        super().__init__(stream or sys.stderr)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        with self.console.live_line_cleared():
            super().emit(record)


class JsonLogFormatter(logging.Formatter):
    """Python log records as console JSON lines, for `--log-format json`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": now_iso(),
            "kind": "log",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
