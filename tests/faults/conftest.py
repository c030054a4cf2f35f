"""One gateway per module with a victim function on each front, and ways to hurt its instances."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aws_lambda.conftest import create, lambda_client
from tests.conftest import RunningEmu, put_action, start_emu

# One body for every front: OpenWhisk's main(args) and Lambda's handler(event, context) call it.
VICTIM = """
import os, signal, sys, time

def act(args):
    op = args.get("op")
    if op == "pidfile":  # say where it runs, then stay busy until killed from outside
        with open(args["path"], "w") as file:
            file.write(str(os.getpid()))
        time.sleep(args.get("sleep", 30))
    elif op == "exit":
        os._exit(args.get("code", 3))
    elif op == "stubborn":  # a hang that ignores SIGTERM
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            pass
    elif op == "flood":
        line = "x" * 1023
        for _ in range(args["kb"]):
            print(line)
    elif op == "flood-line":  # one line with no end
        sys.stdout.write("x" * args["kb"] * 1024)
        sys.stdout.flush()
    elif op == "eat":
        block = bytearray(args["mb"] * 1024 * 1024)
        block[::4096] = b"y" * len(block[::4096])  # touch every page, so it is resident
    return {"pid": os.getpid(), "op": op}

def main(args):
    return act(args)

def handler(event, context):
    return act(event)
"""
NODE_VICTIM = """
const fs = require('fs');
function main(args) {
  if (args.op === 'pidfile') {
    fs.writeFileSync(args.path, String(process.pid));
    return new Promise(resolve => setTimeout(() => resolve({pid: process.pid}), 30000));
  }
  return {pid: process.pid, op: args.op || null};
}
exports.main = main;
exports.handler = async (event) => main(event);
"""


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie its parent has not reaped yet."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for_pidfile(path: Path, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, "the function did not start"
        time.sleep(0.02)
    return int(path.read_text())


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def faults_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmu]:
    running = start_emu(None, tmp_path_factory.mktemp("state"), "--no-reload")
    with running.openwhisk() as ow:
        put_action(ow, "victim", VICTIM, limits={"timeout": 3000})
        put_action(ow, "node-victim", NODE_VICTIM, kind="nodejs:20", limits={"timeout": 3000})
    client = lambda_client(running)
    create(client, "victim", {"app.py": VICTIM}, Timeout=3, MemorySize=128)
    create(client, "node-victim", {"index.js": NODE_VICTIM}, Runtime="nodejs20.x", Handler="index.handler")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def aws(faults_emu: RunningEmu) -> Any:
    return lambda_client(faults_emu)
