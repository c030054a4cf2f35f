"""Run the in-instance runtime proxies as real subprocesses and talk to them over HTTP."""

from __future__ import annotations

import base64
import io
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "emulator" / "runtime"
# EMU_TEST_PYTHON runs the proxy under another interpreter (it must work on 3.10+).
COMMANDS = {
    "python": [os.environ.get("EMU_TEST_PYTHON", sys.executable), str(RUNTIME / "python" / "proxy.py")],
    "node": ["node", str(RUNTIME / "node" / "proxy.js")],
}
SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
WAIT = 10.0  # seconds; only reached when something is broken
ARN = "arn:aws:lambda:us-east-1:000000000000:function:fn"
TRACE_ID = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0"
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "fn",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/31/[$LATEST]0123456789abcdef0123456789abcdef",
    "AWS_REGION": "us-east-1",
}


class LineReader:
    """Collects one pipe's lines on a thread so a test can wait for the next sentinel."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self.thread.start()

    def _pump(self, pipe: IO[bytes]) -> None:
        for line in iter(pipe.readline, b""):
            self.lines.put(line.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def until_sentinel(self) -> list[str]:
        """The lines written before the next sentinel line."""
        seen: list[str] = []
        while True:
            line = self.lines.get(timeout=WAIT)
            if line is None:
                raise AssertionError(f"stream closed before the sentinel; got {seen}")
            if line == SENTINEL:
                return seen
            seen.append(line)


class Proxy:
    """One proxy process, its port, an HTTP client and its stdout/stderr lines."""

    def __init__(self, language: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            COMMANDS[language],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group, as the process backend starts instances
        )
        ready = self.process.stdout.readline().decode()
        if not ready.startswith("EMU_PROXY_READY "):
            self.process.kill()
            raise AssertionError(f"no READY line: {ready!r} {self.process.stderr.read()!r}")
        self.port = int(ready.split()[1])
        self.stdout = LineReader(self.process.stdout)
        self.stderr = LineReader(self.process.stderr)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=WAIT)

    def post(self, path: str, body: object) -> httpx.Response:
        return self.client.post(path, json=body)

    def init(self, code: str, **fields: object) -> httpx.Response:
        value = {"name": "hello", "main": "main", "code": code, "binary": False, **fields}
        return self.post("/init", {"value": value})

    def run(self, value: object = None, **fields: object) -> httpx.Response:
        return self.post("/run", {"value": {} if value is None else value, **fields})

    def init_lambda(
        self, main: str, adapter: str = "lambda", env: dict[str, str] | None = None, **fields: object
    ) -> httpx.Response:
        """``/init`` as the gateway sends it for Lambda; ``path``, ``code``... go in ``fields``."""
        env = {**LAMBDA_ENV, "_HANDLER": main, **(env or {})}
        value = {"name": "fn", "main": main, "adapter": adapter, "env": env, **fields}
        return self.post("/init", {"value": value})

    def invoke(
        self, event: object = None, request_id: str | None = None, timeout_ms: int = 60_000, **details: object
    ) -> httpx.Response:
        """``/run`` as the gateway sends it for Lambda; ``details`` override the ``lambda`` fields."""
        deadline = int(time.time() * 1000) + timeout_ms
        extra = {"invoked_function_arn": ARN, "client_context": None, "identity": None, "trace_id": TRACE_ID}
        body = {
            "value": event,
            "activation_id": request_id or str(uuid.uuid4()),
            "deadline": str(deadline),
            "lambda": {**extra, **details},
        }
        return self.post("/run", body)

    def logs(self) -> tuple[list[str], list[str]]:
        """stdout and stderr lines of the activation that just ended."""
        return self.stdout.until_sentinel(), self.stderr.until_sentinel()

    def terminate(self) -> int:
        self.process.terminate()
        return self.process.wait(timeout=WAIT)

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=WAIT)
        self.stdout.thread.join(timeout=WAIT)
        self.stderr.thread.join(timeout=WAIT)
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture
def start_proxy(tmp_path: Path) -> Iterator[Callable[..., Proxy]]:
    """Starts proxies on 127.0.0.1 with an OS-chosen port and a private TMPDIR each."""
    proxies: list[Proxy] = []

    def start(language: str, **extra_env: str) -> Proxy:
        tmpdir = tmp_path / f"tmp-{len(proxies)}"
        tmpdir.mkdir()
        env = {key: value for key, value in os.environ.items() if not key.startswith("__OW_")}
        env.update(__EMU_PROXY_HOST="127.0.0.1", __EMU_PROXY_PORT="0", TMPDIR=str(tmpdir), **extra_env)
        proxies.append(Proxy(language, env))
        return proxies[-1]

    yield start
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def code_dir(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Writes {relative name: text} into a fresh folder and returns it."""
    folders = iter(range(1000))

    def write(files: dict[str, str]) -> Path:
        folder = tmp_path / f"code-{next(folders)}"
        folder.mkdir()
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        return folder

    return write


@pytest.fixture
def make_zip() -> Callable[..., str]:
    """Base64 of a zip built from {name: text}; names in `stored` are not compressed, those
    in `executable` get mode 755, `links` maps a name to a symbolic link target."""

    def build(
        files: dict[str, str],
        stored: tuple[str, ...] = (),
        links: dict[str, str] | None = None,
        executable: tuple[str, ...] = (),
    ) -> str:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in files.items():
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
                if name in executable:
                    info.create_system = 3  # Unix, so the mode bits below are read
                    info.external_attr = 0o100755 << 16
                archive.writestr(info, text)
            for name, target in (links or {}).items():
                info = zipfile.ZipInfo(name)
                info.create_system = 3  # Unix, so the mode bits below are read
                info.external_attr = 0o120777 << 16
                archive.writestr(info, target)
        return base64.b64encode(buffer.getvalue()).decode()

    return build
