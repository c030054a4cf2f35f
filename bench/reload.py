"""Save-to-new-code latency: from writing a function's file to the first call that returns the
new result, for an OpenWhisk action (manifest.yaml) and a Lambda function (SAM template).

    python bench/reload.py [--saves 20]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

# The process backend unless EMU_BACKEND says otherwise: a Docker engine would change what is measured.
os.environ.setdefault("EMU_BACKEND", "process")

GUEST = (
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502",
    "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP",
)
MANIFEST = "packages:\n  bench:\n    actions:\n      reload:\n        function: action.py\n        runtime: python:3.11\n"
TEMPLATE = (
    "Resources:\n  Reload:\n    Type: AWS::Serverless::Function\n    Properties:\n"
    "      CodeUri: fn/\n      Handler: app.handler\n      Runtime: python3.12\n"
)


def start_emu(project: Path, state: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    ports = [f"--{name}-port=0" for name in ("openwhisk", "lambda", "apigateway", "azure", "gcp", "admin")]
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "up", str(project), *ports, "--state-dir", str(state)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (state / "gateway.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("emu up did not start")
        time.sleep(0.01)
    return process, json.loads((state / "gateway.json").read_text())["urls"]


def measure(saves: int, write: Callable[[int], None], read: Callable[[], int | None]) -> list[float]:
    latencies = []
    for version in range(1, saves + 1):
        started = time.perf_counter()
        write(version)
        deadline = started + 10
        while read() != version:
            if time.perf_counter() > deadline:
                raise SystemExit(f"version {version} never answered")
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--saves", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "project"
        (project / "fn").mkdir(parents=True)
        (project / "manifest.yaml").write_text(MANIFEST)
        (project / "template.yaml").write_text(TEMPLATE)
        action, handler = project / "action.py", project / "fn" / "app.py"
        action.write_text("def main(args):\n    return {'version': 0}\n")
        handler.write_text("def handler(event, context):\n    return {'version': 0}\n")
        emu, urls = start_emu(project, Path(scratch) / "state")
        try:
            with httpx.Client(timeout=10) as client:
                action_url = (
                    f"{urls['openwhisk']}/api/v1/namespaces/_/actions/bench/reload?blocking=true&result=true"
                )
                invoke_url = f"{urls['lambda']}/2015-03-31/functions/Reload/invocations"

                def read_action() -> int | None:
                    reply = client.post(action_url, json={}, auth=GUEST)
                    return reply.json().get("version") if reply.status_code == 200 else None

                def read_function() -> int | None:
                    reply = client.post(invoke_url, json={})
                    return reply.json().get("version") if reply.status_code == 200 else None

                results = {
                    "OpenWhisk action": measure(
                        args.saves,
                        lambda v: action.write_text(f"def main(args):\n    return {{'version': {v}}}\n"),
                        read_action,
                    ),
                    "Lambda function": measure(
                        args.saves,
                        lambda v: handler.write_text(
                            f"def handler(event, context):\n    return {{'version': {v}}}\n"
                        ),
                        read_function,
                    ),
                }
        finally:
            emu.send_signal(signal.SIGTERM)
            emu.wait(20)
    print(f"save-to-new-code latency, {args.saves} saves each (ms)")
    print(f"{'':<20}{'p50':>10}{'p90':>10}{'max':>10}")
    for label, latencies in results.items():
        latencies.sort()
        p90 = latencies[int(len(latencies) * 0.9) - 1]
        print(f"{label:<20}{statistics.median(latencies):>10.1f}{p90:>10.1f}{latencies[-1]:>10.1f}")


if __name__ == "__main__":
    main()
