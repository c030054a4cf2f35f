"""Fixtures that run `emu up` as a user does: a real process on ephemeral ports with a temp state dir."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_functions"
CLIENTS = Path(__file__).resolve().parent / "clients"
NODE_PROXY = ROOT / "emulator" / "runtime" / "node" / "proxy.js"
GUEST_KEY = (
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)
START_TIMEOUT_S = 30.0
# The backend every `emu up` started here uses unless a test names one: EMU_TEST_BACKEND=docker runs
# the end-to-end tests with their instances in containers (tests/docker runs a subset that way).
TEST_BACKEND = os.environ.get("EMU_TEST_BACKEND") or "process"


@dataclass
class RunningEmu:
    process: subprocess.Popen[bytes]
    state_dir: Path
    output: Path
    urls: dict[str, str]

    def console(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_console(self, pattern: str, timeout: float = 10.0) -> str:
        """The console once `pattern` (a regular expression) is on it: an invocation's line is
        written just after its answer."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.console(), re.M):
            assert time.monotonic() < deadline, f"{pattern!r} not on the console:\n{self.console()}"
            time.sleep(0.02)
        return self.console()

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
    ports = [f"--{name}-port=0" for name in ("openwhisk", "lambda", "apigateway", "azure", "gcp", "admin")]
    command = [sys.executable, "-m", "emulator", "up", *([str(project)] if project else []), *ports]
    command += ["--state-dir", str(state_dir), *extra]
    if not any(arg.startswith("--backend") for arg in extra):
        command += ["--backend", TEST_BACKEND]
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


@pytest.fixture(scope="session", autouse=True)
def dependency_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One dependency cache for the whole run, shared by every gateway, and never the user's own."""
    cache = tmp_path_factory.mktemp("deps-cache")
    previous = os.environ.get("EMU_DEPS_CACHE")
    os.environ["EMU_DEPS_CACHE"] = str(cache)
    yield cache
    if previous is None:
        os.environ.pop("EMU_DEPS_CACHE", None)
    else:
        os.environ["EMU_DEPS_CACHE"] = previous


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


@pytest.fixture(scope="module")
def empty_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmu]:
    """One gateway with no project, shared by a module whose tests create their own entities."""
    running = start_emu(None, tmp_path_factory.mktemp("state"), "--no-reload")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def ow(empty_emu: RunningEmu) -> Iterator[httpx.Client]:
    """An httpx client on `empty_emu`'s OpenWhisk API, with the guest key."""
    with empty_emu.openwhisk() as client:
        yield client


needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not NODE_PROXY.exists(), reason="the Node.js runtime is not available"
)


def put_action(
    client: httpx.Client, path: str, code: str, kind: str = "python:3.11", **fields: object
) -> dict[str, Any]:
    """Create or replace the action at `path` (`name` or `pkg/name`); returns the stored action."""
    body = {"exec": {"kind": kind, "code": code}, **fields}
    reply = client.put(f"/api/v1/namespaces/_/actions/{path}?overwrite=true", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def put_package(client: httpx.Client, name: str, **fields: object) -> dict[str, Any]:
    reply = client.put(f"/api/v1/namespaces/_/packages/{name}?overwrite=true", json=fields)
    assert reply.status_code == 200, reply.text
    return reply.json()


def invoke(
    client: httpx.Client, path: str, params: object = None, query: str = "blocking=true"
) -> httpx.Response:
    return client.post(f"/api/v1/namespaces/_/actions/{path}?{query}", json=params or {})


def poll_activation(client: httpx.Client, activation_id: str, timeout: float = 15.0) -> dict[str, Any]:
    """GET the activation until it exists: for calls that were accepted and run in the background."""
    deadline = time.monotonic() + timeout
    while True:
        reply = client.get(f"/api/v1/namespaces/_/activations/{activation_id}")
        if reply.status_code == 200:
            return reply.json()
        assert reply.status_code == 404, reply.text
        if time.monotonic() > deadline:
            raise AssertionError(f"activation {activation_id} did not appear in {timeout} s")
        time.sleep(0.05)


def zip_code(files: dict[str, str]) -> str:
    """A zip of `files` (name -> text), base64-encoded as action code is sent."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return base64.b64encode(buffer.getvalue()).decode()


def assert_error(reply: httpx.Response, status: int, message: str) -> None:
    """OpenWhisk's error answer: `{error, code}`, where `code` is the request's transaction id."""
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body == {"error": message, "code": body["code"]}
    assert re.fullmatch(r"[A-Za-z0-9]{32}", body["code"]), body
    assert reply.headers["x-request-id"] == body["code"]


def annotations(entity: dict[str, Any]) -> dict[str, Any]:
    return {item["key"]: item["value"] for item in entity["annotations"]}


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
