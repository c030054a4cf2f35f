"""Start-up with many functions: time until `emu up` is ready, the gateway's memory, the processes
it started, and its CPU use while idle. Half the functions are OpenWhisk actions (manifest.yaml),
half Lambda functions (a SAM template).

    python bench/startup.py [--functions 200]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The process backend unless EMU_BACKEND says otherwise: a Docker engine would change what is measured.
os.environ.setdefault("EMU_BACKEND", "process")


def write_project(folder: Path, count: int) -> None:
    actions = "".join(
        f"      a{index}:\n        function: actions/a{index}.py\n        runtime: python:3.11\n"
        for index in range(count // 2)
    )
    (folder / "actions").mkdir(parents=True)
    for index in range(count // 2):
        (folder / "actions" / f"a{index}.py").write_text(f"def main(args):\n    return {{'n': {index}}}\n")
    (folder / "manifest.yaml").write_text("packages:\n  many:\n    actions:\n" + actions)
    functions = "".join(
        f"  F{index}:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        f"      CodeUri: functions/f{index}/\n      Handler: app.handler\n      Runtime: python3.12\n"
        for index in range(count - count // 2)
    )
    for index in range(count - count // 2):
        (folder / "functions" / f"f{index}").mkdir(parents=True)
        (folder / "functions" / f"f{index}" / "app.py").write_text(
            "def handler(event, context):\n    return 1\n"
        )
    (folder / "template.yaml").write_text("Resources:\n" + functions)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--functions", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project, state = Path(scratch) / "project", Path(scratch) / "state"
        write_project(project, args.functions)
        ports = [
            f"--{name}-port=0" for name in ("openwhisk", "lambda", "apigateway", "azure", "gcp", "admin")
        ]
        started = time.perf_counter()
        emu = subprocess.Popen(
            [sys.executable, "-m", "emulator", "up", str(project), *ports, "--state-dir", str(state)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while not (state / "gateway.json").exists():
                if emu.poll() is not None or time.perf_counter() - started > 60:
                    raise SystemExit("emu up did not start")
                time.sleep(0.005)
            ready = time.perf_counter() - started
            time.sleep(2)  # let the stem cells start and the gateway settle
            before = cpu_seconds(emu.pid)
            time.sleep(5)
            idle_cpu = (cpu_seconds(emu.pid) - before) / 5 * 100
            print(
                f"emu up with {args.functions} functions ({args.functions // 2} OpenWhisk, the rest Lambda)"
            )
            print(f"{'ready after':<34}{ready * 1000:>10.0f} ms")
            print(f"{'gateway memory (RSS)':<34}{rss_mb(emu.pid):>10.1f} MB")
            print(f"{'processes started (stem cells)':<34}{len(children(emu.pid)):>10d}")
            print(f"{'gateway CPU while idle':<34}{idle_cpu:>10.2f} %")
        finally:
            emu.send_signal(signal.SIGTERM)
            emu.wait(30)


if __name__ == "__main__":
    main()
