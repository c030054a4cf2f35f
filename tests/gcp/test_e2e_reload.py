"""Saving a function's code or emu.yaml redeploys it: new code on the next call, removed ones gone."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from tests.gcp.conftest import python_function, write

CODE = """
import functions_framework


@functions_framework.http
def hello(request):
    return "{version}"
"""


def _until(client: httpx.Client, path: str, expected: tuple[int, str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        reply = client.get(path)
        if (reply.status_code, reply.text) == expected:
            return
        assert time.monotonic() < deadline, (reply.status_code, reply.text)
        time.sleep(0.05)


def test_saved_code_is_served_and_removed_functions_are_gone(emu_factory: object, tmp_path: Path) -> None:
    project = tmp_path / "project"
    python_function(project / "hello", CODE.format(version="v1"))
    manifest = {"functions": [{"name": "hello", "runtime": "python312", "source": "hello"}]}
    write(project, {"emu.yaml": json.dumps(manifest)})
    emu = emu_factory(project)  # type: ignore[operator]
    with httpx.Client(base_url=emu.urls["gcp"], timeout=180) as client:
        assert client.get("/hello").text == "v1"
        write(project / "hello", {"main.py": CODE.format(version="v2")})
        _until(client, "/hello", (200, "v2"))
        write(project, {"emu.yaml": json.dumps({"functions": []})})
        deadline = time.monotonic() + 20
        while client.get("/hello").status_code != 404:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert "Reloaded" in emu.console()
