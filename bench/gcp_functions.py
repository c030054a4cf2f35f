"""Cloud Function benchmark: one HTTP function through emu versus under the Functions Framework alone.

Both sides run the same `main.py` under the same `functions-framework` (gunicorn, one worker),
in the same run, with the same keep-alive HTTP client; the ratio is what emu adds: routing, the
hop through the gateway, the activation record and the console event. The function is declared
with `concurrency: 16` and `max_instances: 1`, so emu forwards to one framework server as the
client alone does.

    python bench/gcp_functions.py [--requests 2000] [--concurrency 16]
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from warm_invoke import Call, measure, report, run_from_command_line, start_emu

CODE = """
import functions_framework


@functions_framework.http
def hello(request):
    return "Hello, " + request.args.get("name", "World") + "!"
"""


def write_project(folder: Path) -> Path:
    (folder / "hello").mkdir(parents=True)
    (folder / "hello" / "main.py").write_text(CODE)
    manifest = {
        "functions": [
            {
                "name": "hello",
                "runtime": "python312",
                "source": "hello",
                "concurrency": 16,
                "max_instances": 1,
            }
        ]
    }
    (folder / "emu.yaml").write_text(json.dumps(manifest))
    return folder


def start_framework(source: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`functions-framework --target hello` on a free loopback port, as a developer runs it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "functions_framework", "--target", "hello", "--source",
               str(source / "main.py"), "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, cwd=source, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SystemExit(
                    "functions-framework did not start: pip install functions-framework"
                ) from None
            time.sleep(0.02)
    return process, f"http://127.0.0.1:{port}"


def getter(session: aiohttp.ClientSession, url: str) -> Call:
    async def call(n: int) -> None:
        async with session.get(f"{url}?name=n{n}") as response:
            assert response.status == 200, await response.text()
            await response.read()

    return call


async def run(requests: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        project = write_project(Path(scratch) / "project")
        emu, urls = start_emu(Path(scratch) / "state", project)
        framework, framework_url = start_framework(project / "hello")
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                alone = await measure(getter(session, framework_url + "/"), requests, concurrency)
                through_emu = await measure(getter(session, urls["gcp"] + "/hello"), requests, concurrency)
        finally:
            emu.send_signal(signal.SIGTERM)
            emu.wait(20)
            framework.terminate()
            framework.wait(20)
    report(
        "Cloud Function (HTTP)",
        alone,
        through_emu,
        requests,
        concurrency,
        ("functions-framework", "through emu"),
    )


def main() -> None:
    run_from_command_line(run, __doc__)


if __name__ == "__main__":
    main()
