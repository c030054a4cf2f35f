"""What `emu up` prints: the function table at start and one line per activation."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

import click


def function_table(functions: list[dict[str, Any]]) -> str:
    if not functions:
        return "No functions found."
    rows = [(f["provider"], f["name"], f["runtime"], f["url"]) for f in functions]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["Functions:", ""]
    for provider, name, runtime, url in rows:
        lines.append(
            f"  {provider:<{widths[0]}}  {name:<{widths[1]}}  {runtime:<{widths[2]}}  "
            + click.style(url, fg="green")
        )
    return "\n".join(lines)


class Console:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def say(self, text: str) -> None:
        click.echo(text, file=self.stream)

    def activation(self, provider: str, name: str, status: str, duration_ms: int, cold: bool) -> None:
        ok = status == "success"
        colour = "green" if ok else "red"
        stamp = time.strftime("%H:%M:%S")
        self.say(
            f"{stamp} {provider} {name} "
            + click.style(status, fg=colour)
            + f" {duration_ms} ms {'cold' if cold else 'warm'}"
        )
