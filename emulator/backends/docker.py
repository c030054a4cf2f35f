"""The docker backend: each instance is a container running the runtime proxy, with cloud-like limits.

Containers carry labels naming emu, the gateway, its state dir, the runtime family and (once
known) the function; `open()` removes what a crashed earlier run with the same state dir left,
`close()` removes everything this gateway started. Ports are published on 127.0.0.1 only.

Limits: memory (the function's, set with `docker update` at /init since a stem cell starts before
its function is known), swap off, CPU shares in proportion to memory (as Lambda and OpenWhisk do),
a PID limit, a read-only root with a writable /tmp. What a container sees of the host is decided
in `docker_files.py`.

Functions may bring their own image (`docker_sources.py`): a Lambda container image runs its
ENTRYPOINT + CMD as a custom runtime's bootstrap under the proxy (mounted at /var/emu-runtime, as
the image's /var/runtime is its own), which needs python3 in the image; an OpenWhisk blackbox
image is the action container itself.

When the engine stops answering, starting an instance fails with `EngineUnavailable`, which names
the engine; every call asks the engine anew, so emu recovers by itself once it answers again.

The docker SDK is synchronous: every call runs in a thread, and each container's output is
followed by a thread of its own that feeds the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container

from emulator.backends import docker_files
from emulator.backends.base import InstanceStartError, ServerSpec
from emulator.backends.docker_images import build_image, ensure_image
from emulator.backends.docker_sources import ImageSource, image_source
from emulator.backends.process import READY_PREFIX, RUNTIME_DIR
from emulator.config import Settings
from emulator.deps import default_cache_root
from emulator.logs import LogCapture, pump_lines
from emulator.model import FunctionSpec

LABEL = "emu"  # present on every container emu starts
PROXY_PORT = 8080
START_TIMEOUT_S = 30.0
PIDS_LIMIT = 1024  # Lambda's limit on processes and threads per execution environment
TMP_SIZE = "512m"  # Lambda's default ephemeral storage
MB_PER_CPU = 1769  # Lambda: a function gets one vCPU's worth of CPU at 1769 MB
COMMANDS = {
    "python": ["python3", f"{docker_files.RUNTIME_MOUNT}/python/proxy.py"],
    "nodejs": ["node", f"{docker_files.RUNTIME_MOUNT}/node/proxy.js"],
}
# Where the proxy sits in a Lambda container image: its /var/runtime holds the image's own runtime.
IMAGE_RUNTIME_MOUNT = "/var/emu-runtime"
# What the engine's client raises when nothing answers on its socket (requests' errors are OSErrors).
ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException, OSError)

_ids = itertools.count(1)


class DockerUnavailable(Exception):
    """No Docker engine answers."""


class EngineUnavailable(InstanceStartError):
    """The engine stopped answering while emu runs: no instance can start until it is back."""


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "the default socket"


def connect(timeout: float = 10.0) -> docker.DockerClient:
    """A client for the engine `DOCKER_HOST` (or the default socket) names, once it answers a ping."""
    try:
        client = docker.from_env(timeout=timeout, max_pool_size=256)
        client.ping()
    except (docker.errors.DockerException, OSError) as error:
        raise DockerUnavailable(f"no Docker engine answers at {engine_address()}: {error}") from None
    return client


def engine_answers() -> bool:
    try:
        connect(timeout=3.0).close()
    except DockerUnavailable:
        return False
    return True


def cpu_shares(memory_mb: int) -> int:
    return max(2, round(1024 * memory_mb / MB_PER_CPU))


def container_name_part(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]+", "-", text).strip("-.")[:60] or "fn"


def bootstrap_value(value: dict[str, Any], image_config: dict[str, Any]) -> dict[str, Any]:
    """The /init value for a Lambda container image: its ENTRYPOINT + CMD as the custom runtime's
    bootstrap, run in its WORKDIR; the function's ImageConfig (EntryPoint, Command,
    WorkingDirectory) overrides each of them, as Lambda applies it."""
    overrides = value.get("image_config") or {}
    entrypoint = overrides.get("EntryPoint") or image_config.get("Entrypoint") or []
    command = overrides.get("Command") or image_config.get("Cmd") or []
    workdir = overrides.get("WorkingDirectory") or image_config.get("WorkingDir") or "/"
    prepared = {key: item for key, item in value.items() if key != "image_config"}
    prepared.update(path=workdir, bootstrap=[str(part) for part in (*entrypoint, *command)])
    return prepared


def missing_python(error: Exception) -> bool:
    text = str(error)
    return "python3" in text and ("not found" in text or "no such file" in text)


class DockerInstance:
    def __init__(
        self, backend: DockerBackend, container: Container, family: str, staging: Path | None
    ) -> None:
        self.id = container.name
        self.family = family
        self.url = ""
        self.logs = LogCapture()
        self._backend = backend
        self._container = container
        self._staging = staging
        self._memory_mb = backend.settings.docker_memory_mb
        self._oom = False
        self._stopped = False
        self._exited = asyncio.Event()
        self._streams = {"stdout": asyncio.StreamReader(limit=1024 * 1024), "stderr": asyncio.StreamReader()}
        self._pumps: list[asyncio.Task[None]] = []
        # A Lambda container image's ENTRYPOINT, CMD and WORKDIR, which /init turns into the bootstrap.
        self.image_config: dict[str, Any] | None = None

    # -- output --------------------------------------------------------------------------------

    def follow_output(self, frames: Iterator[tuple[bytes | None, bytes | None]]) -> None:
        """Copy the container's stdout and stderr (`frames`, from an attach made before the
        container started, so no line is missed) into stream readers, from a thread of its own."""
        loop = asyncio.get_running_loop()

        def feed(callback: Callable[..., None], *args: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening any more
                loop.call_soon_threadsafe(callback, *args)

        def run() -> None:
            try:
                for out, err in frames:
                    if out:
                        feed(self._streams["stdout"].feed_data, out)
                    if err:
                        feed(self._streams["stderr"].feed_data, err)
            except Exception:  # the container went away under us: its output simply ends
                pass
            finally:
                feed(self._ended)

        threading.Thread(target=run, name=f"logs-{self.id}", daemon=True).start()

    def _ended(self) -> None:
        for reader in self._streams.values():
            reader.feed_eof()
        self._exited.set()

    async def read_ready(self) -> None:
        line = await self._streams["stdout"].readline()
        if not line.startswith(READY_PREFIX):
            raise InstanceStartError(f"unexpected first line from the proxy: {line[:200]!r}")

    def start_log_pumps(self) -> None:
        self._pumps = [
            asyncio.create_task(pump_lines(reader, name, self.logs)) for name, reader in self._streams.items()
        ]

    async def output_tail(self) -> str:
        try:
            data = await asyncio.to_thread(self._container.logs, tail=40)
        except docker.errors.DockerException:
            return ""
        return data.decode(errors="replace")

    # -- Instance ------------------------------------------------------------------------------

    def alive(self) -> bool:
        return not self._stopped and not self._exited.is_set()

    async def wait_exit(self, timeout: float) -> int | None:
        try:
            await asyncio.wait_for(self._exited.wait(), timeout)
        except asyncio.TimeoutError:
            return None
        try:
            state = await asyncio.to_thread(self._state)
        except docker.errors.DockerException:
            return None
        self._oom = bool(state.get("OOMKilled"))
        code = int(state.get("ExitCode", 0))
        # 128+N is how a shell and the engine say "killed by signal N"; a process backend says -N.
        return -(code - 128) if code > 128 else code

    def _state(self) -> dict[str, Any]:
        self._container.reload()
        if self._container.attrs["State"].get("Running"):
            self._container.wait(timeout=5)  # the output ended a moment before the state changes
            self._container.reload()
        return self._container.attrs["State"]

    def out_of_memory(self) -> bool:
        return self._oom

    def peak_memory_mb(self, reported_kb: int | None) -> int | None:
        # The container's memory cgroup, which counts every process in it rather than the proxy's
        # `reported_kb`, where the engine runs on this machine (cgroup v1, then v2).
        cid = self._container.id
        for path in (
            f"/sys/fs/cgroup/memory/docker/{cid}/memory.max_usage_in_bytes",
            f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/memory.peak",
            f"/sys/fs/cgroup/docker/{cid}/memory.peak",
        ):
            with contextlib.suppress(OSError, ValueError):
                return int(Path(path).read_text()) // (1024 * 1024)
        return None

    async def prepare(self, spec: FunctionSpec, value: dict[str, Any]) -> dict[str, Any]:
        memory = spec.memory_mb or self._backend.settings.docker_memory_mb
        name = f"emu-{self._backend.gateway_id}-{container_name_part(spec.key)}-{next(_ids)}"

        def work() -> dict[str, Any]:
            if memory != self._memory_mb:
                self._container.update(
                    mem_limit=f"{memory}m", memswap_limit=f"{memory}m", cpu_shares=cpu_shares(memory)
                )
                self._memory_mb = memory
            # Labels cannot change after creation; the name says which function a stem cell now serves.
            self._container.rename(name)
            if self.image_config is not None:
                return bootstrap_value(value, self.image_config)
            if self._staging is None:
                return value
            return docker_files.visible_value(
                value, self._staging, self._backend.deps_cache, self._backend.state_dir
            )

        try:
            prepared = await asyncio.to_thread(work)
        except ENGINE_ERRORS as error:
            raise await self._backend.failure(
                error, f"could not prepare container {self.id} for {spec.key}"
            ) from None
        self.id = name
        return prepared

    async def stop(self) -> None:
        self._stopped = True
        await self._backend.remove(self._container)
        for pump in self._pumps:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(pump, 1.0)
        if self._staging is not None:
            await asyncio.to_thread(shutil.rmtree, self._staging, True)


class DockerBackend:
    name = "docker"

    def __init__(
        self, settings: Settings, say: Callable[[str], None], client: docker.DockerClient | None = None
    ):
        self.settings = settings
        self.say = say
        self.client = client or connect()
        self.gateway_id = uuid.uuid4().hex[:8]
        self.state_dir = settings.state_dir.resolve()
        self.deps_cache = (settings.deps_cache or default_cache_root()).resolve()
        self._work_root = self.state_dir / "containers"
        self._images: dict[str, asyncio.Task[None]] = {}
        self._own_images: dict[str, asyncio.Task[tuple[str, dict[str, Any]]]] = {}

    def labels(self, family: str, function: str = "") -> dict[str, str]:
        return {
            LABEL: "instance",
            "emu.gateway": self.gateway_id,
            "emu.state": str(self.state_dir),
            "emu.family": family,
            "emu.function": function,
        }

    def _reachable(self, value: str) -> str:
        """A gateway URL as a container reaches it, when the gateway listens beyond loopback
        (OpenWhisk standalone's `__OW_API_HOST` is host.docker.internal too)."""
        if self.settings.host in ("127.0.0.1", "localhost", "::1"):
            return value  # only the host can reach it; keep the URL the user sees
        return value.replace("127.0.0.1", "host.docker.internal")

    # -- the engine ----------------------------------------------------------------------------

    async def engine_status(self) -> str | None:
        """None while the engine answers, else why not (for /_emu/health)."""
        try:
            await asyncio.to_thread(self.client.ping)
        except ENGINE_ERRORS as error:
            return f"the Docker engine at {engine_address()} does not answer: {error}"
        return None

    async def failure(self, error: BaseException, what: str) -> InstanceStartError:
        """The error for a failed engine call: `EngineUnavailable` when the engine itself is gone."""
        if isinstance(error, InstanceStartError) and not isinstance(error, EngineUnavailable):
            return error
        down = await self.engine_status()
        if down is not None:
            return EngineUnavailable(f"{what}: {down}. emu goes on once the engine answers again.")
        return InstanceStartError(f"{what}: {error}")

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self, families: set[str]) -> None:
        """Remove what a crashed earlier run with this state dir left; get the families' images."""
        leftovers = await asyncio.to_thread(self._containers, f"emu.state={self.state_dir}")
        if leftovers:
            self.say(f"Removing {len(leftovers)} container(s) left by an earlier run")
            await asyncio.gather(*(self.remove(container) for container in leftovers))
        shutil.rmtree(self._work_root, ignore_errors=True)
        self._work_root.mkdir(parents=True, exist_ok=True)
        for family in sorted(families):
            try:
                await self.image_for(family)
            except InstanceStartError as error:
                self.say(f"warning: {error}")

    async def close(self) -> None:
        mine = await asyncio.to_thread(self._containers, f"emu.gateway={self.gateway_id}")
        await asyncio.gather(*(self.remove(container) for container in mine))
        shutil.rmtree(self._work_root, ignore_errors=True)
        self.client.close()

    def _containers(self, label: str) -> list[Container]:
        # Sparse: no inspect per container, which would fail for one removed in the meantime.
        return self.client.containers.list(all=True, sparse=True, filters={"label": [LABEL, label]})

    async def remove(self, container: Container) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            try:
                await asyncio.to_thread(container.remove, force=True, v=True)
            except docker.errors.APIError as error:
                if "already in progress" not in str(error):
                    raise

    async def image_for(self, family: str) -> str:
        source = image_source(family)
        if source is not None:
            image, _ = await self._own_image(family, source)
            return image
        image = self.settings.images.get(family)
        if image is None or family not in COMMANDS:
            raise InstanceStartError(f"no runtime for the family '{family}'")
        await self._ensure(image)
        return image

    async def _ensure(self, image: str) -> None:
        task = self._images.get(image)
        if task is None or (task.done() and task.exception() is not None):
            task = self._images[image] = asyncio.ensure_future(
                asyncio.to_thread(ensure_image, self.client, image, self.say)
            )
        await asyncio.shield(task)

    async def _own_image(self, family: str, source: ImageSource) -> tuple[str, dict[str, Any]]:
        """A function's own image (pulled or built once per family) and its config (ENTRYPOINT...)."""
        task = self._own_images.get(family)
        if task is None or (task.done() and task.exception() is not None):
            task = self._own_images[family] = asyncio.ensure_future(self._fetch_own_image(source))
        return await asyncio.shield(task)

    async def _fetch_own_image(self, source: ImageSource) -> tuple[str, dict[str, Any]]:
        try:
            if source.reference is not None:
                await self._ensure(source.reference)
                image = source.reference
            else:
                assert source.context is not None
                key = f"lambda-{source.context.name}-{source.digest[:12]}"
                tag = await asyncio.to_thread(
                    build_image, self.client, source.context, key, self.say, source.dockerfile
                )
                image = tag
            attrs = (await asyncio.to_thread(self.client.images.get, image)).attrs
        except ENGINE_ERRORS as error:
            raise await self.failure(
                error, f"could not get the image {source.reference or source.context}"
            ) from None
        return image, attrs.get("Config") or {}

    # -- instances -----------------------------------------------------------------------------

    async def start(self, family: str, env: dict[str, str]) -> DockerInstance:
        try:
            return await self._start(family, env)
        except ENGINE_ERRORS as error:
            raise await self.failure(error, f"could not start a {family} container") from None

    async def _start(self, family: str, env: dict[str, str]) -> DockerInstance:
        source = image_source(family)
        if source is not None:
            return await self._start_own_image(family, source, env)
        image = await self.image_for(family)
        name = f"emu-{self.gateway_id}-{family}-prewarm-{next(_ids)}"
        staging = self._work_root / name
        for folder in ("task", "deps"):
            (staging / folder).mkdir(parents=True, exist_ok=True)
        self.deps_cache.mkdir(parents=True, exist_ok=True)
        memory = self.settings.docker_memory_mb
        options: dict[str, Any] = {
            "command": COMMANDS[family],
            "name": name,
            "labels": self.labels(family),
            "environment": {
                **{k: self._reachable(v) for k, v in env.items()},
                "__EMU_PROXY_HOST": "0.0.0.0",
                "__EMU_PROXY_PORT": str(PROXY_PORT),
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
                "TMPDIR": "/tmp",
                "HOME": "/tmp",
            },
            "volumes": {
                str(RUNTIME_DIR): {"bind": docker_files.RUNTIME_MOUNT, "mode": "ro"},
                str(staging / "task"): {"bind": docker_files.TASK_MOUNT, "mode": "ro"},
                str(staging / "deps"): {"bind": docker_files.DEPS_MOUNT, "mode": "ro"},
                str(self.deps_cache): {"bind": docker_files.DEPS_CACHE_MOUNT, "mode": "ro"},
            },
            "working_dir": "/tmp",
            "read_only": True,
            "tmpfs": {"/tmp": f"rw,exec,size={TMP_SIZE},mode=1777"},
            "mem_limit": f"{memory}m",
            "memswap_limit": f"{memory}m",
            "cpu_shares": cpu_shares(memory),
            "pids_limit": PIDS_LIMIT,
        }
        instance: DockerInstance | None = None
        try:
            instance = await self._run(image, options, family, staging, PROXY_PORT)
            await asyncio.wait_for(instance.read_ready(), START_TIMEOUT_S)
        except BaseException as error:
            tail = (
                await instance.output_tail()
                if instance is not None and not isinstance(error, asyncio.CancelledError)
                else ""
            )
            await asyncio.shield(self._discard(name, staging))
            if isinstance(error, (asyncio.TimeoutError, InstanceStartError, docker.errors.DockerException)):
                reason = str(error) or f"not ready after {START_TIMEOUT_S:.0f} s"
                raise InstanceStartError(
                    f"{family} container failed to start: {reason}\n{tail}".rstrip()
                ) from None
            raise
        instance.start_log_pumps()
        return instance

    async def _start_own_image(self, family: str, source: ImageSource, env: dict[str, str]) -> DockerInstance:
        """A container of a function's own image, ready for /init.

        Lambda: the proxy (python3 from the image, the proxy's files mounted read-only) replaces
        the ENTRYPOINT and, at /init, runs the image's ENTRYPOINT + CMD as the bootstrap of a
        custom runtime, against the Runtime API it serves: the contract of Lambda's own images.
        The root is read-only with a writable /tmp, as in Lambda.

        Blackbox: the image runs as it is and must answer on port 8080 (OpenWhisk's dockerskeleton
        contract); it keeps a writable root, as OpenWhisk's action containers do.
        """
        image, config = await self._own_image(family, source)
        name = f"emu-{self.gateway_id}-{source.kind}-{next(_ids)}"
        memory = self.settings.docker_memory_mb
        options: dict[str, Any] = {
            "name": name,
            "labels": self.labels(family),
            "environment": {k: self._reachable(v) for k, v in env.items()},
            "mem_limit": f"{memory}m",
            "memswap_limit": f"{memory}m",
            "cpu_shares": cpu_shares(memory),
            "pids_limit": PIDS_LIMIT,
        }
        if source.kind == "lambda":
            options["entrypoint"] = ["python3", f"{IMAGE_RUNTIME_MOUNT}/python/proxy.py"]
            options["environment"].update(
                {"__EMU_PROXY_HOST": "0.0.0.0", "__EMU_PROXY_PORT": str(PROXY_PORT), "PYTHONUNBUFFERED": "1"}
            )
            options["volumes"] = {str(RUNTIME_DIR): {"bind": IMAGE_RUNTIME_MOUNT, "mode": "ro"}}
            options["read_only"] = True
            options["tmpfs"] = {"/tmp": f"rw,exec,size={TMP_SIZE},mode=1777"}
        instance: DockerInstance | None = None
        try:
            instance = await self._run(image, options, family, None, PROXY_PORT)
            if source.kind == "lambda":
                instance.image_config = config
                await asyncio.wait_for(instance.read_ready(), START_TIMEOUT_S)
                instance.start_log_pumps()
            else:
                instance.start_log_pumps()
                await self._wait_listening(
                    instance, f"the blackbox image {image}", PROXY_PORT, START_TIMEOUT_S, hint=""
                )
        except BaseException as error:
            tail = (
                await instance.output_tail()
                if instance is not None and not isinstance(error, asyncio.CancelledError)
                else ""
            )
            await asyncio.shield(self._discard(name, None))
            if source.kind == "lambda" and (
                missing_python(error) or ("python3" in tail and "not found" in tail)
            ):
                raise InstanceStartError(
                    f"the image {source.reference or image} has no python3: emu's docker backend runs the "
                    "Lambda Runtime API inside the container with python3 (the image's ENTRYPOINT and CMD "
                    "then run against it), so a Lambda container image needs python3 on its PATH"
                ) from None
            if isinstance(error, (asyncio.TimeoutError, InstanceStartError, docker.errors.DockerException)):
                reason = str(error) or f"not ready after {START_TIMEOUT_S:.0f} s"
                raise InstanceStartError(
                    f"a container of {source.reference or image} failed to start: {reason}\n{tail}".rstrip()
                ) from None
            raise
        return instance

    async def start_server(self, spec: ServerSpec) -> DockerInstance:
        """Run `spec.image` (or build `spec.workdir`'s Dockerfile) with PORT set; ready once it answers HTTP."""
        try:
            return await self._start_server(spec)
        except ENGINE_ERRORS as error:
            raise await self.failure(error, f"{spec.key}: the container did not start") from None

    async def _start_server(self, spec: ServerSpec) -> DockerInstance:
        name = f"emu-{self.gateway_id}-{container_name_part(spec.key)}-{next(_ids)}"
        options: dict[str, Any] = {
            "name": name,
            "labels": self.labels("server", spec.key),
            "environment": {**spec.env, "PORT": str(spec.port)},
            "mem_limit": "512m",  # Cloud Run's default
            "memswap_limit": "512m",
            "pids_limit": PIDS_LIMIT,
        }
        staging = None
        if spec.image:
            image = spec.image
            await self._ensure(image)
            if spec.command:
                options["command"] = spec.command
        elif spec.workdir is not None and (spec.workdir / "Dockerfile").is_file():
            image = await asyncio.to_thread(build_image, self.client, spec.workdir, spec.key, self.say)
            if spec.command:
                options["command"] = spec.command
        elif spec.command:
            staging = self._work_root / name
            image = await self._command_in_runtime_image(spec, options, staging)
        else:
            raise InstanceStartError(f"{spec.key}: a container needs an image, a Dockerfile or a command")
        try:
            instance = await self._run(image, options, "server", staging, spec.port)
            instance.start_log_pumps()
            await self._wait_listening(instance, spec.key, spec.port, spec.ready_timeout_s)
        except BaseException as error:
            await asyncio.shield(self._discard(name, staging))
            if isinstance(error, docker.errors.DockerException):
                raise await self.failure(error, f"{spec.key}: the container did not start") from None
            raise
        return instance

    async def _run(
        self, image: str, options: dict[str, Any], family: str, staging: Path | None, port: int
    ) -> DockerInstance:
        network = self.settings.docker_network
        if network:
            options["network"] = network
        else:
            options["ports"] = {f"{port}/tcp": ("127.0.0.1", None)}
        options["extra_hosts"] = {"host.docker.internal": "host-gateway"}
        container, frames = await asyncio.to_thread(self._create_attached, image, options)
        instance = DockerInstance(self, container, family, staging)
        instance.follow_output(frames)
        await asyncio.to_thread(container.reload)
        settings = container.attrs["NetworkSettings"]
        if network:
            address = settings["Networks"][network]["IPAddress"]
            instance.url = f"http://{address}:{port}"
        else:
            bindings = (settings.get("Ports") or {}).get(f"{port}/tcp") or []
            if not bindings:
                raise InstanceStartError(f"container {container.name} exited before its port was published")
            instance.url = f"http://127.0.0.1:{bindings[0]['HostPort']}"
        return instance

    async def _command_in_runtime_image(
        self, spec: ServerSpec, options: dict[str, Any], staging: Path
    ) -> str:
        """Run a server `command` written for the host (a Functions Framework function) in the
        runtime image of its language: its folder staged at /var/task, the dependency cache at
        /var/deps-cache, host paths in its arguments and environment rewritten, and listening on
        every address of the container rather than its loopback."""
        assert spec.command
        program = Path(spec.command[0]).name
        if spec.command[0] == sys.executable or program.startswith("python"):
            family, interpreter = "python", "python3"
        elif program in ("node", "nodejs"):
            family, interpreter = "nodejs", "node"
        else:
            raise InstanceStartError(
                f"{spec.key}: cannot run {spec.command[0]!r} in a container: give it an image or a Dockerfile"
            )
        image = await self.image_for(family)
        (staging / "task").mkdir(parents=True, exist_ok=True)
        self.deps_cache.mkdir(parents=True, exist_ok=True)
        if spec.workdir is not None:
            await asyncio.to_thread(docker_files.stage, spec.workdir, staging / "task", self.state_dir)
        places = {str(self.deps_cache): docker_files.DEPS_CACHE_MOUNT}
        if spec.workdir is not None:
            places[str(spec.workdir.resolve())] = docker_files.TASK_MOUNT
            places[str(spec.workdir)] = docker_files.TASK_MOUNT

        def inside(text: str) -> str:
            for host, mount in sorted(places.items(), key=lambda item: -len(item[0])):
                text = text.replace(host, mount)
            return "0.0.0.0" if text == "127.0.0.1" else text

        options["command"] = [interpreter, *(inside(arg) for arg in spec.command[1:])]
        options["environment"] = {key: inside(value) for key, value in options["environment"].items()}
        options["working_dir"] = docker_files.TASK_MOUNT
        options["volumes"] = {
            str(staging / "task"): {"bind": docker_files.TASK_MOUNT, "mode": "ro"},
            str(self.deps_cache): {"bind": docker_files.DEPS_CACHE_MOUNT, "mode": "ro"},
        }
        options["environment"].setdefault("HOME", "/tmp")
        options["environment"]["PYTHONDONTWRITEBYTECODE"] = "1"
        return image

    def _create_attached(self, image: str, options: dict[str, Any]) -> tuple[Container, Any]:
        """Create, attach to its output, then start: as `docker run` does, so no output is lost."""
        container = self.client.containers.create(image, **options)
        try:
            frames = container.attach(stdout=True, stderr=True, stream=True, logs=False, demux=True)
            container.start()
        except BaseException:
            with contextlib.suppress(docker.errors.DockerException):
                container.remove(force=True, v=True)
            raise
        return container, frames

    async def _wait_listening(
        self,
        instance: DockerInstance,
        key: str,
        port: int,
        timeout_s: float,
        hint: str = " (the PORT variable)",
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with aiohttp.ClientSession() as session:
            while True:
                if not instance.alive():
                    tail = await instance.output_tail()
                    raise InstanceStartError(
                        f"{key}: the container exited before it listened on port {port}\n{tail}".rstrip()
                    )
                try:
                    async with session.get(
                        instance.url + "/", timeout=aiohttp.ClientTimeout(total=2)
                    ) as reply:
                        await reply.read()
                    return  # any HTTP answer: it listens
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                if loop.time() > deadline:
                    tail = await instance.output_tail()
                    raise InstanceStartError(
                        f"{key}: nothing answered on port {port}{hint} within "
                        f"{timeout_s:.0f} s\n{tail}".rstrip()
                    )
                await asyncio.sleep(0.05)

    async def _discard(self, name: str, staging: Path | None) -> None:
        with contextlib.suppress(docker.errors.DockerException):
            container = await asyncio.to_thread(self.client.containers.get, name)
            await self.remove(container)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
