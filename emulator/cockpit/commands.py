"""What `emu ls`, `emu invoke`, `emu logs` and `emu init` do; `emulator/cli.py` only declares them."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import click

from emulator.cockpit import scaffold
from emulator.cockpit.client import AdminClient, AdminError
from emulator.console import invocation_line, output_block


@contextlib.contextmanager
def errors() -> Iterator[None]:
    """Turn the errors a user can fix into click's one-line `Error: ...` and exit status 1."""
    try:
        yield
    except (AdminError, scaffold.ScaffoldError) as error:
        raise click.ClickException(str(error)) from None


def list_functions(client: AdminClient, as_json: bool) -> str:
    functions = client.functions()
    if as_json:
        return json.dumps(functions, indent=2)
    if not functions:
        return "No functions."
    header = ("PROVIDER", "NAME", "RUNTIME", "INSTANCES", "URL")
    rows = [
        (
            item["provider"],
            item["name"],
            item.get("runtime") or "",
            str(item["instances"]) if "instances" in item else "",
            item["url"],
        )
        for item in functions
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = []
    for row in [header, *rows]:
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        lines.append("  ".join([*cells, row[4]]))
    return "\n".join(lines)


def read_payload(data: str | None, data_file: TextIO | None) -> Any:
    if data is not None and data_file is not None:
        raise click.UsageError("give the payload with --data or with --data-file, not both")
    text = data if data is not None else data_file.read() if data_file is not None else None
    if text is None or not text.strip():
        return {}
    try:
        return json.loads(text)
    except ValueError as error:
        source = "--data" if data is not None else data_file.name  # type: ignore[union-attr]
        raise click.BadParameter(f"not JSON: {error}", param_hint=source) from None


def invoke(client: AdminClient, target: str, payload: Any) -> bool:
    """Print the result on stdout, the status and logs on stderr; True when the function succeeded."""
    call = client.invoke(target, payload)
    result = call.get("response")
    click.echo(result if isinstance(result, str) else json.dumps(result, indent=2))
    for line in [invocation_line(call, _clock(call.get("start"))), *output_block(call)]:
        click.echo(line, err=True)
    return call["status"] == "success"


def logs(client: AdminClient, name: str | None, limit: int, follow: bool) -> None:
    # Connect the live stream before reading the past, so that nothing falls between the two.
    stream = client.events(name) if follow else None
    past = client.invocations(name, limit)
    seen = {item["id"] for item in past}
    for call in reversed(past):
        _print_call(call)
    if stream is None:
        if not past:
            click.echo(f"No invocations of {name} yet." if name else "No invocations yet.", err=True)
        return
    for call in stream:
        if call["id"] not in seen:
            _print_call(call)


def _print_call(call: dict[str, Any]) -> None:
    click.echo(invocation_line(call, _clock(call.get("start"))))
    for line in output_block(call):
        click.echo(line)


def _clock(start_ms: object) -> str | None:
    return time.strftime("%H:%M:%S", time.localtime(start_ms / 1000)) if isinstance(start_ms, int) else None


def init(provider: str, name: str, runtime: str, parent: Path) -> str:
    files = scaffold.create(provider, name, runtime, parent)
    cloud, runtime, _ = scaffold.resolve(provider, runtime)
    listing = "\n".join(f"  {path}" for path in files)
    return f"Created the {cloud} function {name} ({runtime}):\n{listing}\n\nServe it with: emu up {parent / name}"
