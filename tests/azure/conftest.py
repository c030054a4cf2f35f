"""Azure function apps written into a temp folder, served by a real `emu up`."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.conftest import SAMPLES

AZURE_SAMPLES = SAMPLES / "azure"


def write_app(root: Path, files: dict[str, str | dict]) -> Path:
    """A function app: `files` maps relative paths to text or JSON documents."""
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return root


def copy_sample(name: str, target: Path) -> Path:
    return Path(shutil.copytree(AZURE_SAMPLES / name, target / name))


def settings(runtime: str, **values: str) -> dict:
    return {"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": runtime, **values}}


def http_function(
    route: str | None = None, methods: list[str] | None = None, out: str = "$return", auth: str = "anonymous"
) -> dict:
    trigger: dict = {"authLevel": auth, "type": "httpTrigger", "direction": "in", "name": "req"}
    if methods is not None:
        trigger["methods"] = methods
    if route is not None:
        trigger["route"] = route
    return {"bindings": [trigger, {"type": "http", "direction": "out", "name": out}]}


def wait_for(check: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.05)


def client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=30)
