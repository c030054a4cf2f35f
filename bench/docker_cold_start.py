"""Cold start on the docker backend: a new container versus a prewarmed one, and a warm invoke.

Measured at the backend, as the pool and the invoker use it, for a Python and a Node.js action:

- new container: start a container, prepare it for the function, /init, /run;
- prewarmed container: the container already runs (a stem cell); prepare, /init, /run;
- warm invoke: /run on an initialised container.

The same three on the process backend give the cost of a container over a local process.
Images: EMU_IMAGE_PYTHON / EMU_IMAGE_NODEJS, else scripts/offline-images.sh's when present.

    python bench/docker_cold_start.py [--cold 10] [--warm 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulator.backends.base import Backend, Instance
from emulator.backends.docker import DockerBackend, connect
from emulator.backends.process import ProcessBackend
from emulator.config import Settings
from emulator.model import FunctionSpec

OFFLINE_IMAGES = {"EMU_IMAGE_PYTHON": "emu-local/python:3.11", "EMU_IMAGE_NODEJS": "emu-local/nodejs:18"}
CODE = {
    "python": "def main(args):\n    return {'echo': args.get('n', 0)}\n",
    "nodejs": "function main(args) { return {echo: args.n || 0} }\n",
}
JSON = {"Content-Type": "application/json"}


def spec_for(family: str) -> FunctionSpec:
    value = {"name": "bench", "main": "main", "code": CODE[family], "binary": False, "env": {}}
    return FunctionSpec(f"bench:{family}", "1", family, value, timeout_s=30, memory_mb=256)


async def post(session: aiohttp.ClientSession, instance: Instance, path: str, body: dict[str, Any]) -> None:
    async with session.post(instance.url + path, data=json.dumps(body), headers=JSON) as reply:
        await reply.read()
        if reply.status != 200:
            raise RuntimeError(f"{path} answered {reply.status}")
    if path == "/run":  # the activation's log lines, up to the sentinels, as the invoker collects them
        await instance.logs.take(2.0)


async def init_and_run(session: aiohttp.ClientSession, instance: Instance, spec: FunctionSpec) -> None:
    value = await instance.prepare(spec, dict(spec.init_value))
    await post(session, instance, "/init", {"value": value})
    await post(session, instance, "/run", {"value": {"n": 1}})


async def measure(backend: Backend, family: str, cold: int, warm: int) -> dict[str, list[float]]:
    spec = spec_for(family)
    figures: dict[str, list[float]] = {"new": [], "prewarmed": [], "warm": []}
    async with aiohttp.ClientSession() as session:
        for _ in range(cold):
            started = time.perf_counter()
            instance = await backend.start(family, {})
            await init_and_run(session, instance, spec)
            figures["new"].append((time.perf_counter() - started) * 1000)
            await instance.stop()

            instance = await backend.start(family, {})
            started = time.perf_counter()
            await init_and_run(session, instance, spec)
            figures["prewarmed"].append((time.perf_counter() - started) * 1000)
            if len(figures["warm"]) < warm:
                for n in range(warm):
                    started = time.perf_counter()
                    await post(session, instance, "/run", {"value": {"n": n}})
                    figures["warm"].append((time.perf_counter() - started) * 1000)
            await instance.stop()
    return figures


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=10, help="cold starts of each kind per family")
    parser.add_argument("--warm", type=int, default=500, help="warm invokes per family")
    args = parser.parse_args()
    client = connect()
    for variable, image in OFFLINE_IMAGES.items():
        if not os.environ.get(variable):
            try:
                client.images.get(image)
                os.environ[variable] = image
            except Exception:  # emu's default image then, pulled if missing
                pass
    with tempfile.TemporaryDirectory(prefix="emu-bench-") as folder:
        settings = Settings(state_dir=Path(folder) / "state")
        settings.state_dir.mkdir()
        docker_backend = DockerBackend(settings, print, client)
        await docker_backend.open({"python", "nodejs"})
        process_backend = ProcessBackend(Path(folder) / "process")
        results: dict[tuple[str, str], dict[str, list[float]]] = {}
        try:
            for family in ("python", "nodejs"):
                for name, backend in (("docker", docker_backend), ("process", process_backend)):
                    results[(family, name)] = await measure(backend, family, args.cold, args.warm)
        finally:
            await docker_backend.close()
    print(
        f"\n| {args.cold} cold starts, {args.warm} warm calls | docker p50 | docker p90 | process p50 | docker / process |"
    )
    print("|---|---|---|---|---|")
    for family in ("python", "nodejs"):
        docker_figures, process_figures = results[(family, "docker")], results[(family, "process")]
        for kind, label in (
            ("new", "new container"),
            ("prewarmed", "prewarmed container"),
            ("warm", "warm invoke"),
        ):
            d50, d90 = statistics.median(docker_figures[kind]), pct(docker_figures[kind], 0.9)
            p50 = statistics.median(process_figures[kind])
            print(f"| {family} {label} | {d50:.1f} ms | {d90:.1f} ms | {p50:.1f} ms | {d50 / p50:.1f}x |")
    print()
    for family in ("python", "nodejs"):
        figures = results[(family, "docker")]
        new, prewarmed = statistics.median(figures["new"]), statistics.median(figures["prewarmed"])
        print(
            f"{family}: a prewarmed container cuts the cold start {new / prewarmed:.1f}x ({new:.0f} -> {prewarmed:.0f} ms)"
        )


if __name__ == "__main__":
    asyncio.run(main())
