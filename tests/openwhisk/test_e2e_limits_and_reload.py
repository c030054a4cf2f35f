"""Per-action instance caps with OpenWhisk's 429, and hot reload of a manifest project."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import SAMPLES, RunningEmu, assert_error, invoke, put_action

SLOW = """
import pathlib, time
def main(args):
    if args.get("marker"):
        pathlib.Path(args["marker"]).touch()
    time.sleep(args.get("sleep", 0))
    return {"done": True}
"""


def test_calls_past_the_instances_and_the_queue_get_429(emu_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    emu: RunningEmu = emu_factory(None, "--max-queue=0")
    marker = tmp_path / "running"
    with emu.openwhisk() as client, ThreadPoolExecutor(1) as pool:
        put_action(client, "slow", SLOW, limits={"instances": 1})
        running = pool.submit(invoke, client, "slow", {"sleep": 1, "marker": str(marker)})
        _until(marker.exists)  # the one instance is busy
        refused = invoke(client, "slow")
        assert_error(refused, 429, "Too many concurrent requests in flight (count: 2, allowed: 1).")
        assert running.result().status_code == 200
        assert invoke(client, "slow").status_code == 200  # room again


def test_instances_limit_is_validated(emu_factory) -> None:  # type: ignore[no-untyped-def]
    emu: RunningEmu = emu_factory(None)
    with emu.openwhisk() as client:
        reply = client.put(
            "/api/v1/namespaces/_/actions/x",
            json={"exec": {"kind": "python:3.11", "code": SLOW}, "limits": {"instances": 0}},
        )
        assert reply.status_code == 400


def test_saving_code_reloads_the_action(emu_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "project"
    shutil.copytree(SAMPLES / "openwhisk", project)
    emu: RunningEmu = emu_factory(project, state_dir=tmp_path / "state")
    hello = project / "hello.py"
    original = hello.read_text()
    with emu.openwhisk() as client:
        assert _greeting(client) == "Hello, Ada!"
        hello.write_text(original.replace("Hello", "Howdy"))
        _until(lambda: _greeting(client) == "Howdy, Ada!")
        hello.write_text("def main(args:\n")  # does not parse
        _until(lambda: invoke(client, "demo/hello", {"name": "Ada"}).status_code == 502)
        hello.write_text(original)
        _until(lambda: _greeting(client) == "Hello, Ada!")
        (project / "manifest.yaml").write_text(
            (project / "manifest.yaml").read_text().replace("wordcount:", "counter:")
        )
        _until(lambda: client.get("/api/v1/namespaces/_/actions/demo/counter").status_code == 200)
        assert client.get("/api/v1/namespaces/_/actions/demo/wordcount").status_code == 404
    console = emu.console()
    assert "Reloaded: changed openwhisk demo/hello" in console
    assert "added openwhisk demo/counter" in console and "removed openwhisk demo/wordcount" in console


def _greeting(client: httpx.Client) -> str | None:
    reply = invoke(client, "demo/hello", {"name": "Ada"}, query="blocking=true&result=true")
    return reply.json().get("greeting") if reply.status_code == 200 else None


def _until(condition, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
