"""emu against serverless-offline: the same Node.js Lambda handler, invoked warm through the Invoke API.

serverless-offline (the Serverless Framework v3 plugin most Lambda developers run locally) is
installed from the npm registry into a cache folder on first use, then both are started on
127.0.0.1 with one `echo` function and measured in the same run with the same keep-alive
client: sequential latency, then throughput at 16 concurrent clients.

    python bench/peer_serverless_offline.py [--requests 2000] [--concurrency 16]
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from warm_invoke import measure, post, run_from_command_line, start_emu

PEER_PACKAGES = ["serverless@3", "serverless-offline@13"]
PEER_CACHE = Path(os.environ.get("EMU_BENCH_PEERS", Path.home() / ".cache" / "emu" / "bench-peers"))
HANDLER = "exports.echo = async (event) => ({ echo: event.n || 0 });\n"
SERVERLESS_YML = """service: bench
frameworkVersion: '3'
provider: {name: aws, runtime: nodejs20.x, region: us-east-1}
plugins: [serverless-offline]
functions:
  echo: {handler: handler.echo}
"""
SAM_TEMPLATE = """Transform: AWS::Serverless-2016-10-31
Resources:
  echo:
    Type: AWS::Serverless::Function
    Properties: {Runtime: nodejs20.x, CodeUri: ./, Handler: handler.echo}
"""


def install_peer() -> Path:
    binary = PEER_CACHE / "node_modules" / ".bin" / "serverless"
    if not binary.exists():
        PEER_CACHE.mkdir(parents=True, exist_ok=True)
        (PEER_CACHE / "package.json").write_text('{"name": "emu-bench-peers", "private": true}')
        print(f"installing {' '.join(PEER_PACKAGES)} (once) ...", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *PEER_PACKAGES],
            cwd=PEER_CACHE,
            check=True,
        )
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_serverless_offline(binary: Path, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    lambda_port, http_port = free_port(), free_port()
    env = {**os.environ, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off"}
    command = [str(binary), "offline", "start", "--host", "127.0.0.1"]
    command += ["--lambdaPort", str(lambda_port), "--httpPort", str(http_port)]
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return process, f"http://127.0.0.1:{lambda_port}"


async def wait_until_invocable(
    session: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            async with session.post(url, data=b"{}") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("serverless-offline did not start")
        await asyncio.sleep(0.2)


async def compare(requests: int, concurrency: int) -> None:
    binary = install_peer()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "project"
        folder.mkdir()
        (folder / "handler.js").write_text(HANDLER)
        (folder / "serverless.yml").write_text(SERVERLESS_YML)
        (folder / "template.yaml").write_text(SAM_TEMPLATE)
        peer, peer_url = start_serverless_offline(binary, folder)
        emu, urls = start_emu(Path(temp) / "state", folder)
        try:
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(connector=connector) as session:
                peer_invoke = f"{peer_url}/2015-03-31/functions/bench-dev-echo/invocations"
                emu_invoke = f"{urls['lambda']}/2015-03-31/functions/echo/invocations"
                await wait_until_invocable(session, peer_invoke, peer)
                results = {}
                for label, url in (("serverless-offline", peer_invoke), ("emu", emu_invoke)):

                    async def call(n: int, url: str = url) -> None:
                        await post(session, url, {"n": n}, {})

                    results[label] = await measure(call, requests, concurrency)
        finally:
            for process in (peer, emu):
                process.terminate()
                process.wait(20)
    peer_figures, emu_figures = results["serverless-offline"], results["emu"]
    print(
        f"\nwarm Lambda Invoke, Node.js 20 handler: {requests} sequential calls, then {requests} over {concurrency} clients"
    )
    print(f"{'':<28}{'serverless-offline':>20}{'emu':>12}{'ratio':>10}")
    for key, label in (("p50", "latency p50 (ms)"), ("p90", "latency p90 (ms)"), ("p99", "latency p99 (ms)")):
        ratio = emu_figures[key] / peer_figures[key]
        print(f"{label:<28}{peer_figures[key]:>20.3f}{emu_figures[key]:>12.3f}{ratio:>9.2f}x")
    ratio = emu_figures["throughput"] / peer_figures["throughput"]
    line = f"{peer_figures['throughput']:>20.0f}{emu_figures['throughput']:>12.0f}{ratio:>9.2f}x"
    print(f"{'throughput (calls/s)':<28}{line}")


def main() -> None:
    run_from_command_line(compare, __doc__)


if __name__ == "__main__":
    sys.exit(main())
