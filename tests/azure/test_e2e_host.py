"""The host's admin API, timer triggers, accepted invocations across restarts, and keys."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.azure.conftest import http_function, settings, wait_for, write_app

WRITE_INPUT = (
    "import os, pathlib\n\n"
    "def main(msg: str) -> None:\n"
    "    with open(pathlib.Path(os.environ['MARKERS']) / 'work.txt', 'a') as out:\n"
    "        out.write(msg + '\\n')\n"
)
WRITE_TICK = (
    "import os, pathlib\nimport azure.functions as func\n\n"
    "def main(timer: func.TimerRequest) -> None:\n"
    "    with open(pathlib.Path(os.environ['MARKERS']) / 'tick.txt', 'a') as out:\n"
    "        out.write(f'{timer.past_due}\\n')\n"
)


def host_app(root: Path, markers: Path, schedule: str = "*/1 * * * * *") -> Path:
    markers.mkdir(parents=True, exist_ok=True)
    return write_app(
        root / "hostapp",
        {
            "host.json": {"version": "2.0"},
            "local.settings.json": settings("python", MARKERS=str(markers)),
            "Tick/function.json": {
                "bindings": [
                    {"name": "timer", "type": "timerTrigger", "direction": "in", "schedule": schedule}
                ]
            },
            "Tick/__init__.py": WRITE_TICK,
            "Work/function.json": {
                "bindings": [{"name": "msg", "type": "queueTrigger", "direction": "in", "queueName": "work"}]
            },
            "Work/__init__.py": WRITE_INPUT,
            "Open/function.json": http_function(auth="anonymous"),
            "Open/__init__.py": "def main(req):\n    return 'open'\n",
            "Keyed/function.json": http_function(auth="function"),
            "Keyed/__init__.py": "def main(req):\n    return 'keyed'\n",
            "Master/function.json": http_function(auth="admin"),
            "Master/__init__.py": "def main(req):\n    return 'master'\n",
        },
    )


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_timer_fires_on_its_schedule(tmp_path: Path, emu_factory: Any) -> None:
    host_app(tmp_path / "project", tmp_path / "markers")
    emu_factory(tmp_path / "project", "--no-reload")
    ticks = tmp_path / "markers" / "tick.txt"
    wait_for(lambda: len(lines(ticks)) >= 2, timeout=10, what="two ticks")
    assert set(lines(ticks)) == {"False"}


def test_admin_api(tmp_path: Path, emu_factory: Any) -> None:
    host_app(tmp_path / "project", tmp_path / "markers", schedule="0 0 0 1 1 *")
    emu = emu_factory(tmp_path / "project", "--no-reload")
    base = emu.urls["azure"]
    work = tmp_path / "markers" / "work.txt"
    reply = httpx.post(f"{base}/admin/functions/Work", json={"input": "hello queue"})
    assert (reply.status_code, reply.content) == (202, b"")
    wait_for(lambda: lines(work) == ["hello queue"], what="the Work input")
    reply = httpx.post(f"{base}/admin/functions/tick", json={"input": ""})  # names are case-insensitive
    assert reply.status_code == 202
    wait_for(lambda: lines(tmp_path / "markers" / "tick.txt") == ["False"], what="the Tick run")
    assert httpx.post(f"{base}/admin/functions/Nope", json={"input": ""}).status_code == 404
    assert httpx.post(f"{base}/admin/functions/Work").status_code == 400
    assert httpx.get(f"{base}/admin/host/ping").status_code == 200
    assert httpx.post(f"{base}/admin/host/ping").status_code == 200
    status = httpx.get(f"{base}/admin/host/status").json()
    assert status["state"] == "Running"
    assert status["version"].startswith("4.")
    assert {"id", "versionDetails", "instanceId", "computerName", "processUptime"} <= set(status)
    listing = httpx.get(f"{base}/admin/functions").json()
    assert sorted(item["name"] for item in listing) == ["Keyed", "Master", "Open", "Tick", "Work"]
    keyed = httpx.get(f"{base}/admin/functions/Keyed").json()
    assert keyed["invoke_url_template"] == f"{base}/api/Keyed"
    assert keyed["config"]["bindings"][0]["type"] == "httpTrigger"
    assert httpx.get(f"{base}/admin/nothing").status_code == 404


def test_an_accepted_invocation_survives_a_restart(tmp_path: Path, emu_factory: Any) -> None:
    host_app(tmp_path / "project", tmp_path / "markers", schedule="0 0 0 1 1 *")
    state = tmp_path / "state"
    first = emu_factory(tmp_path / "project", "--no-reload", state_dir=state)
    first.stop()
    # As if the gateway died between acknowledging the call and running it.
    with sqlite3.connect(state / "emu.db") as db:
        request = {"function": "Work", "trigger": {"kind": "input", "data": "kept"}}
        db.execute(
            "INSERT INTO pending_invocations VALUES ('admin-1', 'azure', ?, 1)", (json.dumps(request),)
        )
    emu_factory(tmp_path / "project", "--no-reload", state_dir=state)
    wait_for(lambda: lines(tmp_path / "markers" / "work.txt") == ["kept"], what="the resumed invocation")

    def drained() -> bool:
        with sqlite3.connect(state / "emu.db") as db:
            return db.execute("SELECT COUNT(*) FROM pending_invocations").fetchone() == (0,)

    wait_for(drained, what="the pending row to go")


@pytest.mark.parametrize("where", ["header", "query"])
def test_enable_auth_checks_keys(tmp_path: Path, emu_factory: Any, where: str) -> None:
    host_app(tmp_path / "project", tmp_path / "markers", schedule="0 0 0 1 1 *")
    emu = emu_factory(tmp_path / "project", "--no-reload", "--azure-enable-auth")
    base = emu.urls["azure"]
    secrets = json.loads((emu.state_dir / "azure" / "secrets" / "host.json").read_text())
    master = secrets["masterKey"]["value"]
    function_key = secrets["functionKeys"][0]["value"]

    def call(path: str, key: str | None) -> httpx.Response:
        if key is None:
            return httpx.get(base + path)
        if where == "header":
            return httpx.get(base + path, headers={"x-functions-key": key})
        return httpx.get(base + path, params={"code": key})

    assert call("/api/Open", None).text == "open"
    for path in ("/api/Keyed", "/api/Master"):
        reply = call(path, None)
        assert (reply.status_code, reply.content) == (401, b"")
        assert call(path, "wrong").status_code == 401
    assert call("/api/Keyed", function_key).text == "keyed"
    assert call("/api/Keyed", master).text == "keyed"
    assert call("/api/Master", function_key).status_code == 401
    assert call("/api/Master", master).text == "master"
    assert httpx.get(base + "/admin/host/status").status_code == 401
    assert httpx.get(base + "/admin/host/status", headers={"x-functions-key": master}).status_code == 200
    assert httpx.get(base + "/admin/host/ping").status_code == 200
