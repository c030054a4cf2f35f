"""What `emu up` prints: the function table at start, then one line per invocation followed by the
function's own output, each line prefixed with the function's name.

`text` is for people (colour only when the terminal has it: click strips it otherwise); `json` is
one JSON object per line, with a `kind`, for machines.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import click

from emulator.cockpit.records import output_lines
from emulator.events import Invocation

LOG_FORMATS = ("text", "json")


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

    def _emit(self, kind: str, text: str, **fields: Any) -> None:
        if self.json:
            record = {"time": now_iso(), "kind": kind, **fields}
            click.echo(json.dumps(record, default=str), file=self.stream)
        else:
            click.echo(text, file=self.stream)

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
        for line in [invocation_line(record), *output_block(record)]:
            self.say(line)

    def stopping(self) -> None:
        self._emit("stopping", "Stopping emu...", message="Stopping emu...")


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
