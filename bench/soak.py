"""Soak: many calls across clouds and functions at high concurrency, with instances killed under it.

Starts `emu up` on a project with OpenWhisk actions and Lambda functions (Python and, when
`node` is on PATH, Node.js), an API Gateway route, an Azure Functions HTTP function and a Google
Cloud Function (Python), then makes `--calls` calls from
`--concurrency` clients, round robin over the functions. Every `--kill-every` calls it SIGKILLs a
random instance process of the gateway. Each answer is checked: the right echo, or the error
the cloud gives for an instance that died under its call (the injected fault). It reports calls
made and answered, errors by kind, latency, and the gateway's memory: idle after start, after a
warm-up at full concurrency (the start of the measured run), every tenth of the run, and at the
end.

    python bench/soak.py [--calls 20000] [--concurrency 64] [--kill-every 500] [--json]

Exit status 0 when every call was answered, no error other than the injected kills came back,
and the injected errors are no more than the kills (a kill costs at most the one call its
instance was running).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from warm_invoke import start_emu

# The process backend unless EMU_BACKEND says otherwise: a Docker engine would change what is measured.
os.environ.setdefault("EMU_BACKEND", "process")

GUEST_KEY = (
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)
AUTH = {"Authorization": "Basic " + base64.b64encode(GUEST_KEY.encode()).decode()}
JSON = {"Content-Type": "application/json"}
PY = """
def main(args):
    return {"echo": args.get("n")}

def handler(event, context):
    if "rawPath" in event:  # through API Gateway
        return {"statusCode": 200, "body": event["queryStringParameters"]["n"]}
    return {"echo": event.get("n")}
"""
AZURE_APP = """
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="soak", methods=["GET"])
def soak(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.params["n"])
"""
AZURE_HOST = '{"version": "2.0"}'
GCP_MAIN = """
import functions_framework


@functions_framework.http
def soak(request):
    return request.args["n"]
"""
GCP_MANIFEST = """
functions:
  - name: soak
    runtime: python312
    source: gcp
"""
NODE = "exports.main = (args) => ({echo: args.n});\nexports.handler = async (event) => ({echo: event.n});\n"
MANIFEST = """
packages:
  soak:
    actions:
      py:
        function: py/main.py
        runtime: python:3.11
{node_action}"""
NODE_ACTION = """      node:
        function: node/index.js
        runtime: nodejs:20
"""
TEMPLATE = """
Resources:
  SoakPy:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: py/
      Handler: main.handler
      Runtime: python3.12
      Events:
        Get:
          Type: HttpApi
          Properties:
            Path: /soak
            Method: get
{node_function}"""
NODE_FUNCTION = """  SoakNode:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: node/
      Handler: index.handler
      Runtime: nodejs20.x
"""
# What each cloud answers when the instance running a call dies under it: the injected fault.
OW_KILLED = {
    "The action did not produce a valid response and exited unexpectedly.",
    "The action did not initialize and exited unexpectedly.",
}
LAMBDA_KILLED = "Runtime exited with error: signal: killed"
# The processes that are instances: the runtime proxies (OpenWhisk, Lambda, Azure) and the
# Functions Framework servers (Google).
INSTANCE_COMMANDS = (b"proxy.py", b"proxy.js", b"functions_framework")


def write_project(folder: Path, node: bool) -> None:
    (folder / "azure").mkdir(parents=True)
    (folder / "azure" / "function_app.py").write_text(AZURE_APP)
    (folder / "azure" / "host.json").write_text(AZURE_HOST)
    (folder / "gcp").mkdir()
    (folder / "gcp" / "main.py").write_text(GCP_MAIN)
    (folder / "gcp" / "requirements.txt").write_text("functions-framework==3.*\n")
    (folder / "emu.yaml").write_text(GCP_MANIFEST)
    (folder / "py").mkdir()
    (folder / "py" / "main.py").write_text(PY)
    (folder / "manifest.yaml").write_text(MANIFEST.format(node_action=NODE_ACTION if node else ""))
    (folder / "template.yaml").write_text(TEMPLATE.format(node_function=NODE_FUNCTION if node else ""))
    if node:
        (folder / "node").mkdir()
        (folder / "node" / "index.js").write_text(NODE)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def instance_pids(gateway_pid: int) -> list[int]:
    """The gateway's instance processes (warm instances and stem cells)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == gateway_pid and any(name in command for name in INSTANCE_COMMANDS):
            pids.append(int(entry.name))
    return pids


@dataclass
class Tally:
    made: int = 0
    answered: int = 0
    kills: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    rss_samples_mb: list[float] = field(default_factory=list)  # every tenth of the run: a trend, not a point

    def injected(self) -> int:
        return sum(count for kind, count in self.outcomes.items() if kind.startswith("injected"))

    def unexpected(self) -> int:
        return sum(
            count for kind, count in self.outcomes.items() if kind != "ok" and not kind.startswith("injected")
        )


Call = Callable[[aiohttp.ClientSession, int], Awaitable[str]]


def openwhisk_call(base: str, action: str) -> Call:
    url = f"{base}/api/v1/namespaces/_/actions/soak/{action}?blocking=true"

    async def call(session: aiohttp.ClientSession, n: int) -> str:
        async with session.post(url, data=json.dumps({"n": n}), headers={**JSON, **AUTH}) as response:
            body = await response.json(content_type=None)
        if response.status == 200 and body["response"]["result"] == {"echo": n}:
            return "ok"
        if response.status == 502 and body.get("response", {}).get("result", {}).get("error") in OW_KILLED:
            return "injected: openwhisk instance died"
        return f"openwhisk {response.status}: {json.dumps(body)[:200]}"

    return call


def lambda_call(base: str, function: str) -> Call:
    url = f"{base}/2015-03-31/functions/{function}/invocations"

    async def call(session: aiohttp.ClientSession, n: int) -> str:
        async with session.post(url, data=json.dumps({"n": n}), headers=JSON) as response:
            body = await response.json(content_type=None)
            error = response.headers.get("X-Amz-Function-Error")
        if response.status == 200 and not error and body == {"echo": n}:
            return "ok"
        if error == "Unhandled" and LAMBDA_KILLED in str(body.get("errorMessage")):
            return "injected: lambda Runtime.ExitError (signal: killed)"
        return f"lambda {response.status} {error}: {json.dumps(body)[:200]}"

    return call


def azure_call(base: str) -> Call:
    async def call(session: aiohttp.ClientSession, n: int) -> str:
        async with session.get(f"{base}/api/soak?n={n}") as response:
            text = await response.text()
        if response.status == 200 and text == str(n):
            return "ok"
        # The Functions host answers an empty 500 when the worker running the call dies.
        if response.status == 500 and text == "":
            return "injected: azure worker died"
        return f"azure {response.status}: {text[:200]}"

    return call


def gcp_call(base: str) -> Call:
    async def call(session: aiohttp.ClientSession, n: int) -> str:
        async with session.get(f"{base}/soak?n={n}") as response:
            text = await response.text()
        if response.status == 200 and text == str(n):
            return "ok"
        # Google's front end answers 503 when the instance serving the request dies.
        if response.status == 503 and text.startswith("Service Unavailable:"):
            return "injected: cloud functions instance died"
        return f"gcp {response.status}: {text[:200]}"

    return call


def apigateway_call(base: str) -> Call:
    async def call(session: aiohttp.ClientSession, n: int) -> str:
        async with session.get(f"{base}/soak?n={n}") as response:
            text = await response.text()
        if response.status == 200 and text == str(n):
            return "ok"
        # An HTTP API answers a failed integration (here: its instance was killed) 500.
        if response.status == 500 and json.loads(text) == {"message": "Internal Server Error"}:
            return "injected: api gateway integration failed"
        return f"apigateway {response.status}: {text[:200]}"

    return call


async def soak(
    urls: dict[str, str], gateway_pid: int, args: argparse.Namespace, node: bool
) -> dict[str, object]:
    calls = [
        openwhisk_call(urls["openwhisk"], "py"),
        lambda_call(urls["lambda"], "SoakPy"),
        apigateway_call(urls["apigateway"]),
        azure_call(urls["azure"]),
        gcp_call(urls["gcp"]),
    ]
    if node:
        calls += [openwhisk_call(urls["openwhisk"], "node"), lambda_call(urls["lambda"], "SoakNode")]
    tally = Tally()
    rng = random.Random(args.seed)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as session:
        rss_idle = rss_mb(gateway_pid)
        # Warm up at full concurrency: every function's instances started and connections open, so
        # that growth from there on is what the calls leave behind, not the instances they need.
        warmup = iter(range(args.warmup))

        async def warm() -> None:
            for n in warmup:
                await calls[n % len(calls)](session, n)

        await asyncio.gather(*(warm() for _ in range(args.concurrency)))
        rss_start = rss_mb(gateway_pid)
        numbers = iter(range(args.calls))

        async def client() -> None:
            for n in numbers:
                tally.made += 1
                if n % max(1, args.calls // 10) == 0:
                    tally.rss_samples_mb.append(round(rss_mb(gateway_pid), 1))
                if args.kill_every and n % args.kill_every == args.kill_every // 2:
                    victims = instance_pids(gateway_pid)
                    if victims:
                        try:
                            os.kill(rng.choice(victims), signal.SIGKILL)
                            tally.kills += 1
                        except ProcessLookupError:
                            pass
                started = time.perf_counter()
                try:
                    outcome = await calls[n % len(calls)](session, n)
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                    tally.outcomes[f"unanswered: {type(error).__name__}"] += 1
                    continue
                tally.latencies_ms.append((time.perf_counter() - started) * 1000)
                tally.answered += 1
                tally.outcomes[outcome] += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - started
        rss_end = rss_mb(gateway_pid)
    latencies = sorted(tally.latencies_ms)
    return {
        "calls_made": tally.made,
        "calls_answered": tally.answered,
        "functions": len(calls),
        "concurrency": args.concurrency,
        "instance_kills": tally.kills,
        "outcomes": dict(tally.outcomes.most_common()),
        "injected_errors": tally.injected(),
        "unexpected_errors": tally.unexpected(),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99)], 2) if latencies else None,
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "calls_per_s": round(tally.made / elapsed, 1),
        "rss_idle_mb": round(rss_idle, 1),
        "rss_start_mb": round(rss_start, 1),
        "rss_end_mb": round(rss_end, 1),
        "rss_growth_pct": round((rss_end - rss_start) / rss_start * 100, 1),
        "rss_samples_mb": tally.rss_samples_mb,
    }


def passed(report: dict[str, object]) -> bool:
    return (
        report["calls_answered"] == report["calls_made"]
        and report["unexpected_errors"] == 0
        and int(report["injected_errors"]) <= int(report["instance_kills"])  # type: ignore[call-overload]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--kill-every", type=int, default=500, help="SIGKILL an instance every N calls (0: never)"
    )
    parser.add_argument("--warmup", type=int, default=2000, help="calls before the measured run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args()
    node = shutil.which("node") is not None
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "project"
        write_project(project, node)
        process, urls = start_emu(Path(folder) / "state", project)
        try:
            report = asyncio.run(soak(urls, process.pid, args, node))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                report_exit = process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                report_exit = process.wait()
    report["gateway_exit"] = report_exit
    report["passed"] = passed(report) and report_exit == 0
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            if key == "outcomes":
                print("outcomes:")
                for kind, count in value.items():  # type: ignore[attr-defined]
                    print(f"  {count:>7}  {kind}")
            else:
                print(f"{key:<18} {value}")
    sys.exit(0 if report["passed"] else 1)


if __name__ == "__main__":
    main()
