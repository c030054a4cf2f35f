"""A Google Cloud project written into a temp folder, served by one `emu up` per test module."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningEmu, start_emu

# The same requirements as the samples: one install in the test run's dependency cache.
REQUIREMENTS = "functions-framework==3.*\n"
NODE_PACKAGE = {
    "name": "fn",
    "version": "1.0.0",
    "main": "index.js",
    "dependencies": {"@google-cloud/functions-framework": "^5.0.0"},
}


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return folder


def python_function(folder: Path, code: str) -> None:
    write(folder, {"main.py": code, "requirements.txt": REQUIREMENTS})


def node_function(folder: Path, code: str) -> None:
    write(folder, {"index.js": code, "package.json": json.dumps(NODE_PACKAGE, indent=2)})


def gcp_emu(tmp_path_factory: pytest.TempPathFactory, build: object, *extra: str) -> Iterator[RunningEmu]:
    project = tmp_path_factory.mktemp("project")
    build(project)  # type: ignore[operator]
    running = start_emu(project, tmp_path_factory.mktemp("state"), "--no-reload", *extra)
    yield running
    running.stop()
