"""The embedded backend: each instance is a local process running the runtime proxy on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from emulator.backends.base import InstanceStartError, ServerSpec
from emulator.backends.docker_sources import is_own_image
from emulator.logs import LogCapture, pump_lines
from emulator.model import FunctionSpec

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"
READY_PREFIX = b"EMU_PROXY_READY "
START_TIMEOUT_S = 15.0
# Variables an instance inherits from the gateway; the rest of the gateway's environment
# (credentials, tokens) stays out of user code.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR", "NODE_PATH")
# How often a starting server is probed for a listening port; Cloud Run's default startup
# probe is a TCP connect too.
LISTEN_PROBE_S = 0.02

_ids = itertools.count(1)


def runtime_command(family: str) -> list[str]:
    if family == "python":
        return [sys.executable, str(RUNTIME_DIR / "python" / "proxy.py")]
    if family == "nodejs":
        node = shutil.which("node")
        if node is None:
            raise InstanceStartError("Node.js actions need `node` on PATH; it was not found")
        return [node, str(RUNTIME_DIR / "node" / "proxy.js")]
    if is_own_image(family):  # made on the docker backend, kept in the state dir
        raise InstanceStartError(f"a function's own container image ({family}) needs the docker backend")
    raise InstanceStartError(f"no runtime for the family '{family}'")


def _die_with_parent() -> None:
    """Ask Linux to kill the instance if the gateway dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class ProcessInstance:
    def __init__(self, family: str, process: asyncio.subprocess.Process, port: int, workdir: Path) -> None:
        self.id = f"p{next(_ids)}-{process.pid}"
        self.family = family
        self.url = f"http://127.0.0.1:{port}"
        self.logs = LogCapture()
        self._process = process
        self._workdir = workdir
        self._pumps: list[asyncio.Task[None]] = []
        self._status_fd: int | None = None  # /proc/PID/status, kept open: read after every Lambda call

    def start_log_pumps(self) -> None:
        assert self._process.stdout is not None and self._process.stderr is not None
        self._pumps = [
            asyncio.create_task(pump_lines(self._process.stdout, "stdout", self.logs)),
            asyncio.create_task(pump_lines(self._process.stderr, "stderr", self.logs)),
        ]

    def alive(self) -> bool:
        return self._process.returncode is None

    async def wait_exit(self, timeout: float) -> int | None:
        try:
            return await asyncio.wait_for(self._process.wait(), timeout)
        except asyncio.TimeoutError:
            return None

    def peak_memory_mb(self, reported_kb: int | None) -> int | None:
        # The instance is the proxy's process: its own report is its resident set's high-water
        # mark, as Lambda's "Max Memory Used".
        if reported_kb is not None:
            return reported_kb // 1024
        # Otherwise VmHWM, the same figure: one pread on a descriptor kept open.
        try:
            if self._status_fd is None:
                self._status_fd = os.open(f"/proc/{self._process.pid}/status", os.O_RDONLY)
            status = os.pread(self._status_fd, 8192, 0)
        except OSError:
            return None
        start = status.find(b"VmHWM:")
        if start < 0:
            return None
        return int(status[start + 6 : status.index(b"kB", start)]) // 1024

    def out_of_memory(self) -> bool:
        return False  # a process has no memory limit of its own

    async def prepare(self, spec: FunctionSpec, value: dict[str, Any]) -> dict[str, Any]:
        return value  # the host's folders are the instance's folders

    async def stop(self) -> None:
        if self._process.returncode is None:
            # The proxy holds no state worth saving; kill the whole group so that processes the
            # action started go too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
        await self._process.wait()
        if self._status_fd is not None:
            os.close(self._status_fd)
            self._status_fd = None
        for pump in self._pumps:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(pump, 1.0)
        shutil.rmtree(self._workdir, ignore_errors=True)


class ProcessBackend:
    name = "process"

    def __init__(self, work_root: Path | None = None) -> None:
        self._work_root = work_root
        if work_root is not None:
            work_root.mkdir(parents=True, exist_ok=True)

    async def start(self, family: str, env: dict[str, str]) -> ProcessInstance:
        command = runtime_command(family)
        workdir = Path(tempfile.mkdtemp(prefix=f"emu-{family}-", dir=self._work_root))
        full_env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
        full_env.update(env)
        full_env.update(
            {
                "__EMU_PROXY_HOST": "127.0.0.1",
                "__EMU_PROXY_PORT": "0",
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
                "TMPDIR": str(workdir),
            }
        )
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=full_env,
                cwd=workdir,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                limit=1024 * 1024,
            )
        except OSError as error:
            shutil.rmtree(workdir, ignore_errors=True)
            raise InstanceStartError(f"{family} instance failed to start: {error}") from None
        try:
            port = await asyncio.wait_for(_read_ready_port(process), START_TIMEOUT_S)
        except (asyncio.TimeoutError, InstanceStartError, ValueError) as error:
            stderr = await _kill_and_collect_stderr(process)
            shutil.rmtree(workdir, ignore_errors=True)
            reason = str(error) or f"not ready after {START_TIMEOUT_S:.0f} s"
            raise InstanceStartError(
                f"{family} instance failed to start: {reason}\n{stderr}".rstrip()
            ) from None
        except BaseException:
            # Cancelled while starting (the gateway is stopping): leave no process or folder.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        instance = ProcessInstance(family, process, port, workdir)
        instance.start_log_pumps()
        return instance

    async def start_server(self, spec: ServerSpec) -> ProcessInstance:
        """Run `spec.command` with PORT set to a free loopback port; ready once it accepts connections."""
        if not spec.command:
            raise InstanceStartError(
                f"{spec.key} is a container image or a Dockerfile: it needs the docker backend "
                "(emu up --backend docker); the process backend runs a `command`"
            )
        port = free_port()
        workdir = Path(tempfile.mkdtemp(prefix="emu-server-", dir=self._work_root))
        env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
        env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": str(workdir)})
        env.update(spec.env)
        env["PORT"] = str(port)
        try:
            process = await asyncio.create_subprocess_exec(
                *spec.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=spec.workdir or workdir,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                limit=1024 * 1024,
            )
        except OSError as error:
            shutil.rmtree(workdir, ignore_errors=True)
            raise InstanceStartError(
                f"{spec.key}: cannot run {spec.command[0]!r}: {error.strerror or error}"
            ) from None
        instance = ProcessInstance("server", process, port, workdir)
        instance.start_log_pumps()
        try:
            await _wait_listening(instance, process, port, spec)
        except BaseException:
            await instance.stop()
            raise
        return instance

    async def close(self) -> None:
        return None


def free_port() -> int:
    """A loopback port nothing listens on now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _wait_listening(
    instance: ProcessInstance, process: asyncio.subprocess.Process, port: int, spec: ServerSpec
) -> None:
    """Return once `port` accepts a connection; fail at once if the process exits first."""
    deadline = time.monotonic() + spec.ready_timeout_s
    while True:
        if process.returncode is not None:
            output = await _recent_output(instance)
            raise InstanceStartError(
                f"{spec.key} exited with status {process.returncode} before listening on port {port} ($PORT)"
                + output
            )
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                output = await _recent_output(instance)
                raise InstanceStartError(
                    f"{spec.key} did not listen on port {port} ($PORT) within {spec.ready_timeout_s:g} s"
                    + output
                ) from None
            await asyncio.sleep(LISTEN_PROBE_S)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return


async def _recent_output(instance: ProcessInstance, lines: int = 20) -> str:
    """The last lines the server printed, to explain why it did not start."""
    logged = await instance.logs.take(0.2)
    if not logged:
        return ""
    return "; its last output:\n" + "\n".join(line.text for line in logged[-lines:])


async def _read_ready_port(process: asyncio.subprocess.Process) -> int:
    assert process.stdout is not None
    line = await process.stdout.readline()
    if not line.startswith(READY_PREFIX):
        raise InstanceStartError(f"unexpected first line from the proxy: {line[:200]!r}")
    return int(line[len(READY_PREFIX) :].strip())


async def _kill_and_collect_stderr(process: asyncio.subprocess.Process) -> str:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    assert process.stderr is not None
    try:
        data = await asyncio.wait_for(process.stderr.read(64 * 1024), 2.0)
    except asyncio.TimeoutError:
        data = b""
    await process.wait()
    return data.decode(errors="replace")
