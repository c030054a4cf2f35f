"""Fixtures that run `emu up` as a user does: a real process on ephemeral ports with a temp state dir."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_functions"
CLIENTS = Path(__file__).resolve().parent / "clients"
GUEST_KEY = (
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)
START_TIMEOUT_S = 30.0


@dataclass
class RunningEmu:
    process: subprocess.Popen[bytes]
    state_dir: Path
    output: Path
    urls: dict[str, str]

    def console(self) -> str:
        return self.output.read_text(errors="replace")

    def openwhisk(self, **kwargs: object) -> httpx.Client:
        user, password = GUEST_KEY.split(":")
        return httpx.Client(base_url=self.urls["openwhisk"], auth=(user, password), timeout=70, **kwargs)  # type: ignore[arg-type]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_emu(project: Path | None, state_dir: Path, *extra: str) -> RunningEmu:
    """Start `emu up` with every port chosen by the OS; return once it is ready."""
    state_dir.mkdir(parents=True, exist_ok=True)
    gateway_file = state_dir / "gateway.json"
    gateway_file.unlink(missing_ok=True)
    output = state_dir / f"console-{time.monotonic_ns()}.log"
    ports = [f"--{name}-port=0" for name in ("openwhisk", "lambda", "azure", "gcp", "admin")]
    command = [sys.executable, "-m", "emulator", "up", *([str(project)] if project else []), *ports]
    command += ["--state-dir", str(state_dir), *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with output.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not gateway_file.exists():
        if process.poll() is not None:
            raise RuntimeError(f"emu up exited with {process.returncode}:\n{output.read_text()}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"emu up was not ready in {START_TIMEOUT_S} s:\n{output.read_text()}")
        time.sleep(0.02)
    urls = json.loads(gateway_file.read_text())["urls"]
    return RunningEmu(process, state_dir, output, urls)


@pytest.fixture
def emu_factory(tmp_path: Path) -> Iterator[object]:
    """Start as many gateways as a test needs; every one is stopped at the end."""
    started: list[RunningEmu] = []

    def factory(project: Path | None = SAMPLES, *extra: str, state_dir: Path | None = None) -> RunningEmu:
        running = start_emu(project, state_dir or tmp_path / "state", *extra)
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()


@pytest.fixture(scope="module")
def samples_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmu]:
    """One gateway serving sample_functions/, shared by a module's read-mostly tests."""
    running = start_emu(SAMPLES, tmp_path_factory.mktemp("state"), "--no-reload")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def node_clients() -> Path:
    """tests/clients/node_modules with the npm clients the tests drive emu with."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for the npm client tests")
    if not (CLIENTS / "node_modules" / "openwhisk").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CLIENTS, check=True)
    return CLIENTS / "node_modules"


def run_node(
    node_modules: Path, script: str, env: dict[str, str] | None = None, timeout: float = 60
) -> object:
    """Run a Node.js script with the test clients importable; it prints one JSON value."""
    completed = subprocess.run(
        ["node", "-e", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NODE_PATH": str(node_modules), **(env or {})},
    )
    if completed.returncode != 0:
        raise AssertionError(f"node failed ({completed.returncode}):\n{completed.stderr}\n{completed.stdout}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
