"""`emu up` as a process: readiness, the admin port, start-up errors, and a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import SAMPLES, RunningEmu

PID_ACTION = {
    "exec": {"kind": "python:3.11", "code": "import os\ndef main(a):\n    return {'pid': os.getpid()}"}
}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_health_and_every_provider_port_answer(emu_factory) -> None:  # type: ignore[no-untyped-def]
    emu: RunningEmu = emu_factory(SAMPLES, "--no-reload")
    assert httpx.get(emu.urls["admin"] + "/_emu/health").status_code == 200
    lambda_reply = httpx.get(emu.urls["lambda"] + "/2015-03-31/functions/")
    assert lambda_reply.status_code == 200
    assert httpx.get(emu.urls["azure"] + "/api/HttpExample?name=Ada").text.startswith("Hello, Ada.")
    assert httpx.get(emu.urls["azure"] + "/api/no-such-function").status_code == 404
    assert httpx.get(emu.urls["gcp"] + "/no_such_function").status_code == 404
    assert "/guest/demo/hello " in emu.console()  # the start-up table


def test_sigterm_stops_every_instance(emu_factory) -> None:  # type: ignore[no-untyped-def]
    emu: RunningEmu = emu_factory(None)
    with emu.openwhisk() as client:
        assert client.put("/api/v1/namespaces/_/actions/pid", json=PID_ACTION).status_code == 200
        reply = client.post("/api/v1/namespaces/_/actions/pid?blocking=true&result=true", json={})
    pid = reply.json()["pid"]
    assert _pid_alive(pid)
    assert emu.stop(signal.SIGTERM) == 0
    assert not _pid_alive(pid)
    assert not (emu.state_dir / "gateway.json").exists()


def test_instances_die_with_a_killed_gateway(emu_factory) -> None:  # type: ignore[no-untyped-def]
    emu: RunningEmu = emu_factory(None)
    with emu.openwhisk() as client:
        client.put("/api/v1/namespaces/_/actions/pid", json=PID_ACTION)
        pid = client.post("/api/v1/namespaces/_/actions/pid?blocking=true&result=true", json={}).json()["pid"]
    emu.stop(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _pid_alive(pid):
        assert time.monotonic() < deadline, "instance outlived its gateway"
        time.sleep(0.02)


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "emulator",
                "up",
                f"--openwhisk-port={port}",
                "--state-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert completed.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port} (--openwhisk-port)" in completed.stderr


def test_environment_variables_set_options(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "emulator", "up", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "EMU_BACKEND": "docker", "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"},
    )
    assert completed.returncode == 1
    assert "--backend docker: no Docker engine answers at unix://" in completed.stderr
