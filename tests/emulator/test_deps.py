"""The dependency cache: real pip and npm installs, once per manifest content, outside the user's folder."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.console import Console
from emulator.deps import DependencyCache

pytestmark = pytest.mark.timeout(300)


async def test_requirements_are_installed_once_and_again_after_a_change(tmp_path: Path) -> None:
    source = tmp_path / "function"
    source.mkdir()
    (source / "requirements.txt").write_text("tabulate==0.9.0\n")
    said: list[str] = []
    cache = DependencyCache(tmp_path / "cache", said.append)

    folders = await cache.ensure(source, "python")
    assert len(folders) == 1 and folders[0].is_relative_to(tmp_path / "cache")
    assert sorted(p.name for p in source.iterdir()) == ["requirements.txt"]  # the user's folder untouched
    check = subprocess.run(
        [sys.executable, "-c", "import tabulate; print(tabulate.__version__)"],
        env={**os.environ, "PYTHONPATH": str(folders[0])},
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == "0.9.0"
    installs = [line for line in said if line.startswith("Installed")]
    assert await cache.ensure(source, "python") == folders
    assert await DependencyCache(tmp_path / "cache").ensure(source, "python") == folders  # on disk
    assert [line for line in said if line.startswith("Installed")] == installs

    (source / "requirements.txt").write_text("tabulate==0.8.10\n")
    changed = await cache.ensure(source, "python")
    assert changed != folders
    assert (changed[0] / "tabulate").exists() or (changed[0] / "tabulate.py").exists()


async def test_package_json_dependencies_are_installed_with_npm(tmp_path: Path) -> None:
    source = tmp_path / "function"
    source.mkdir()
    (source / "package.json").write_text(json.dumps({"name": "f", "dependencies": {"is-number": "7.0.0"}}))
    [node_modules] = await DependencyCache(tmp_path / "cache").ensure(source, "nodejs")
    assert node_modules.name == "node_modules"
    assert json.loads((node_modules / "is-number" / "package.json").read_text())["version"] == "7.0.0"
    assert not (source / "node_modules").exists()


async def test_nothing_to_install_gives_no_folders(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"name": "f"}))
    cache = DependencyCache(tmp_path / "cache")
    assert await cache.ensure(tmp_path, "nodejs") == []
    assert await cache.ensure(tmp_path, "python") == []


async def test_a_failed_install_is_said_once_and_gives_no_folders(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("this-package-does-not-exist-emu==0.0.0\n")
    said: list[str] = []
    cache = DependencyCache(tmp_path / "cache", said.append)
    assert await cache.ensure(tmp_path, "python") == []
    assert await cache.ensure(tmp_path, "python") == []
    warnings = [line for line in said if line.startswith("warning:")]
    assert len(warnings) == 1 and "requirements.txt" in warnings[0]


async def test_a_pip_install_shows_which_requirement_it_collects(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("tabulate==0.9.0\n")
    stream = io.StringIO()
    await DependencyCache(tmp_path / "cache", Console(stream, log_format="json").say).ensure(
        tmp_path, "python"
    )
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {event["kind"] for event in events} == {"progress"}
    start, *updates, end = events
    assert start["task"] == f"Installing dependencies from {tmp_path / 'requirements.txt'}"
    assert updates and updates[0]["current"] == 1 and updates[0]["detail"] == "tabulate==0.9.0"
    assert end["phase"] == "end" and end["ok"] is True
    assert end["message"] == f"Installed dependencies from {tmp_path / 'requirements.txt'}"


async def test_a_failed_install_ends_its_task_and_warns_with_the_output(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("this-package-does-not-exist-emu==0.0.0\n")
    stream = io.StringIO()
    await DependencyCache(tmp_path / "cache", Console(stream).say).ensure(tmp_path, "python")
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("requirements.txt ...")
    assert re.search(r"requirements\.txt: failed \(\d+\.\d s\)$", lines[1])
    warning = "\n".join(lines[2:])
    assert warning.startswith("warning: ") and "pip exited 1" in warning
    assert "this-package-does-not-exist-emu" in warning  # pip's own words, from the output's tail
