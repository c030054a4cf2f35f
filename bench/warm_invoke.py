"""Warm-invoke benchmark: a function through emu versus a direct call to its instance.

For each cloud front (an OpenWhisk action, an AWS Lambda function), both sides run the same
Python code on the same runtime proxy, in the same run, with the same keep-alive HTTP client, so
the ratio is emu's own overhead: auth, routing, records, log collection and the hop to the
instance. A last pair calls one Lambda function through an API Gateway route (HTTP API, payload
2.0) and through the Invoke API, to show what building the event and mapping the answer costs.

The floor of any gateway built this way on this machine is measured too: a bare relay (uvicorn
with uvloop and httptools, and emu's own instance client) that passes the direct call's request
to an instance and its answer back, with no routing, records or logs. Like emu's pool, it runs
one call at a time per instance, over as many instances as there are concurrent clients.

    python bench/warm_invoke.py [--requests 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

# The process backend unless EMU_BACKEND says otherwise: a Docker engine would change what is measured.
os.environ.setdefault("EMU_BACKEND", "process")

ROOT = Path(__file__).resolve().parent.parent
PROXY = ROOT / "emulator" / "runtime" / "python" / "proxy.py"
GUEST_KEY = (
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)
OPENWHISK_CODE = "def main(args):\n    return {'echo': args.get('n', 0)}\n"
LAMBDA_CODE = "def handler(event, context):\n    return {'echo': event.get('n', 0)}\n"
JSON = {"Content-Type": "application/json"}
Call = Callable[[int], Awaitable[None]]


API_TEMPLATE = """
Resources:
  BenchApi:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: api/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Get:
          Type: HttpApi
          Properties:
            Path: /bench
            Method: get
"""
API_CODE = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"


def write_project(folder: Path) -> Path:
    (folder / "api").mkdir(parents=True)
    (folder / "template.yaml").write_text(API_TEMPLATE)
    (folder / "api" / "app.py").write_text(API_CODE)
    return folder


def start_emu(
    state_dir: Path, project: Path | None, *extra: str
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """`emu up` on ephemeral ports, without reload; returns once it is ready, with its URLs."""
    ports = [f"--{name}-port=0" for name in ("openwhisk", "lambda", "apigateway", "azure", "gcp", "admin")]
    command = [sys.executable, "-m", "emulator", "up", *([str(project)] if project else []), *ports]
    command += ["--state-dir", str(state_dir), "--no-reload", *extra]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gateway_file = state_dir / "gateway.json"
    deadline = time.monotonic() + 30
    while not gateway_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("emu up did not start")
        time.sleep(0.02)
    return process, json.loads(gateway_file.read_text())["urls"]


RELAY_APP = """
import asyncio
import json
import os

from emulator.instance_http import InstanceClient

TARGETS = json.loads(os.environ["EMU_BENCH_RELAY_TARGETS"])
client = InstanceClient()
free = None  # the instances not running a call: one call at a time each, as emu's pool runs them


async def app(scope, receive, send):
    global free
    if free is None:
        free = asyncio.Queue()
        for target in TARGETS:
            free.put_nowait(target)
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    target = await free.get()
    try:
        answer = await client.post(target, scope["path"], body, 60)
    finally:
        free.put_nowait(target)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer.body)).encode())]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
"""


def start_relay(instance_urls: list[str], folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The bare relay in front of `instance_urls`; returns once it accepts connections."""
    (folder / "bench_relay.py").write_text(RELAY_APP)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "EMU_BENCH_RELAY_TARGETS": json.dumps(instance_urls),
           "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}  # fmt: skip
    command = [sys.executable, "-m", "uvicorn", "bench_relay:app", "--host", "127.0.0.1", "--port", str(port),
               "--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}"
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("the bench relay did not start")
        time.sleep(0.02)


def start_instance(scratch: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The runtime proxy on its own, as the process backend starts it; its temporary files in `scratch`."""
    env = {**os.environ, "__EMU_PROXY_HOST": "127.0.0.1", "__EMU_PROXY_PORT": "0", "TMPDIR": str(scratch)}
    process = subprocess.Popen(
        [sys.executable, str(PROXY)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdout is not None
    port = int(process.stdout.readline().split()[-1])
    # Keep draining its output so the pipe never fills, as the gateway does.
    subprocess.Popen(["cat"], stdin=process.stdout, stdout=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}"


async def measure(call: Call, requests: int, concurrency: int) -> dict[str, float]:
    # Warm up the way it is measured: connections and caches, then one warm instance per
    # concurrent client, so the throughput figure has no cold start in it.
    for _ in range(50):
        await call(0)
    await clients(call, range(concurrency * 10), concurrency)
    latencies: list[float] = []
    for n in range(requests):
        started = time.perf_counter()
        await call(n)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    started = time.perf_counter()
    await clients(call, range(requests), concurrency)
    elapsed = time.perf_counter() - started
    return {
        "p50": statistics.median(latencies),
        "p90": latencies[int(len(latencies) * 0.9)],
        "p99": latencies[int(len(latencies) * 0.99)],
        "throughput": requests / elapsed,
    }


async def clients(call: Call, numbers: range, concurrency: int) -> None:
    """`call` once for each of `numbers`, by `concurrency` clients that each wait for their answer."""
    remaining = iter(numbers)

    async def client() -> None:
        for n in remaining:
            await call(n)

    await asyncio.gather(*(client() for _ in range(concurrency)))


async def post(session: aiohttp.ClientSession, url: str, payload: object, headers: dict[str, str]) -> None:
    async with session.post(url, data=json.dumps(payload), headers={**JSON, **headers}) as response:
        assert response.status == 200, await response.text()
        await response.read()


def small_event(n: int) -> dict[str, object]:
    return {"n": n}


def large_event(n: int) -> dict[str, object]:
    """About 210 KB of JSON: a page of records, as an API or a queue batch hands a function."""
    return {
        "n": n,
        "items": [{"id": i, "name": f"item {i}", "tags": ["a", "b"], "price": i * 1.5} for i in range(3000)],
    }


def direct_call(
    session: aiohttp.ClientSession,
    instance_url: str,
    context: dict[str, object],
    event: Callable[[int], object] = small_event,
) -> Call:
    async def call(n: int) -> None:
        await post(session, instance_url + "/run", {"value": event(n), **context}, {})

    return call


def lambda_invoke(
    session: aiohttp.ClientSession, urls: dict[str, str], event: Callable[[int], object]
) -> Call:
    invoke_url = f"{urls['lambda']}/2015-03-31/functions/bench-noop/invocations"

    async def call(n: int) -> None:
        await post(session, invoke_url, event(n), {})

    return call


def openwhisk_init() -> dict[str, object]:
    return {
        "value": {"name": "bench-noop", "main": "main", "code": OPENWHISK_CODE, "binary": False, "env": {}}
    }


async def openwhisk_pair(
    session: aiohttp.ClientSession, urls: dict[str, str], instance: str
) -> tuple[dict[str, object], Call]:
    """The direct call's /run context, and the call through emu."""
    auth = {"Authorization": aiohttp.BasicAuth(*GUEST_KEY.split(":")).encode()}
    action_url = f"{urls['openwhisk']}/api/v1/namespaces/_/actions/bench-noop"
    body = {"exec": {"kind": "python:3.11", "code": OPENWHISK_CODE}}
    async with session.put(action_url + "?overwrite=true", json=body, headers=auth) as response:
        assert response.status == 200, await response.text()
    await post(session, instance + "/init", openwhisk_init(), {})

    async def through_emu(n: int) -> None:
        await post(session, action_url + "?blocking=true&result=true", {"n": n}, auth)

    context = {"namespace": "guest", "action_name": "/guest/bench-noop", "activation_id": "0" * 32,
               "transaction_id": "0" * 32, "deadline": "0"}  # fmt: skip
    return context, through_emu


async def lambda_pair(
    session: aiohttp.ClientSession, urls: dict[str, str], instance: str, code_dir: Path
) -> tuple[dict[str, object], Call]:
    """The direct call's /run context, and the call through emu."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", LAMBDA_CODE)
    create = {"FunctionName": "bench-noop", "Runtime": "python3.12", "Handler": "app.handler",
              "Role": "arn:aws:iam::000000000000:role/r",
              "Code": {"ZipFile": base64.b64encode(buffer.getvalue()).decode()}}  # fmt: skip
    async with session.post(f"{urls['lambda']}/2015-03-31/functions", json=create) as response:
        assert response.status == 201, await response.text()
    (code_dir / "app.py").write_text(LAMBDA_CODE)
    init = {"value": {"name": "bench-noop", "main": "app.handler", "adapter": "lambda", "path": str(code_dir),
                      "env": {"AWS_LAMBDA_FUNCTION_NAME": "bench-noop"}}}  # fmt: skip
    await post(session, instance + "/init", init, {})
    context = {
        "activation_id": "0" * 32,
        "deadline": str(int(time.time() * 1000) + 3_600_000),
        "lambda": {"invoked_function_arn": "arn:aws:lambda:us-east-1:000000000000:function:bench-noop"},
    }
    return context, lambda_invoke(session, urls, small_event)


def api_pair(session: aiohttp.ClientSession, urls: dict[str, str]) -> tuple[Call, Call]:
    invoke_url = f"{urls['lambda']}/2015-03-31/functions/BenchApi/invocations"

    async def through_invoke(n: int) -> None:
        await post(session, invoke_url, {"n": n}, {})

    async def through_api(n: int) -> None:
        async with session.get(f"{urls['apigateway']}/bench?n={n}") as response:
            assert response.status == 200, await response.text()
            await response.read()

    return through_invoke, through_api


async def run(requests: int, concurrency: int) -> None:
    results: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        emu, urls = start_emu(Path(scratch) / "state", write_project(Path(scratch) / "project"))
        instances = [start_instance(Path(scratch)) for _ in range(2 + concurrency)]
        floor_instances = [url for _, url in instances[2:]]
        relay = start_relay(floor_instances, Path(scratch))
        code_dir = Path(scratch) / "code"
        code_dir.mkdir()
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                fronts = {
                    "OpenWhisk action": await openwhisk_pair(session, urls, instances[0][1]),
                    "Lambda function": await lambda_pair(session, urls, instances[1][1], code_dir),
                }
                for (label, (context, through_emu)), (_, instance) in zip(
                    fronts.items(), instances, strict=False
                ):
                    direct = direct_call(session, instance, context)
                    results[label] = [
                        await measure(call, requests, concurrency) for call in (direct, through_emu)
                    ]
                # The floor: the OpenWhisk action's own calls, through the bare relay.
                context, _ = fronts["OpenWhisk action"]
                for url in floor_instances:
                    await post(session, url + "/init", openwhisk_init(), {})
                floor = await measure(direct_call(session, relay[1], context), requests, concurrency)
                results["floor"] = [results["OpenWhisk action"][0], floor]
                # A large event: what the gateway does with a payload's bytes shows.
                context, _ = fronts["Lambda function"]
                large = [
                    direct_call(session, instances[1][1], context, large_event),
                    lambda_invoke(session, urls, large_event),
                ]
                results["Lambda function, 210 KB event"] = [
                    await measure(call, requests // 10, concurrency) for call in large
                ]
                through_invoke, through_api = api_pair(session, urls)
                results["API Gateway route"] = [
                    await measure(call, requests, concurrency) for call in (through_invoke, through_api)
                ]
        finally:
            emu.send_signal(signal.SIGTERM)
            emu.wait(20)
            for process, _ in (*instances, relay):
                process.kill()
                process.wait()
    for label in ("OpenWhisk action", "Lambda function"):
        report(label, *results[label], requests, concurrency, ("direct", "through emu"))
    label = "Lambda function, 210 KB event"
    report(label, *results[label], requests // 10, concurrency, ("direct", "through emu"))
    direct, floor = results["floor"]
    print(
        f"\nthe floor, a bare relay over {concurrency} instances, one call at a time each: "
        f"p50 +{floor['p50'] - direct['p50']:.3f} ms over direct, "
        f"throughput {floor['throughput']:.0f} calls/s ({floor['throughput'] / direct['throughput']:.2f}x direct)"
    )
    report(
        "API Gateway route",
        *results["API Gateway route"],
        requests,
        concurrency,
        ("Invoke API", "API Gateway"),
    )


def report(
    label: str,
    baseline: dict[str, float],
    measured: dict[str, float],
    requests: int,
    concurrency: int,
    columns: tuple[str, str],
) -> None:
    """Figures of `measured` beside its `baseline`, measured in the same run."""
    print(
        f"\nwarm invoke, Python {label}: {requests} sequential calls, then {requests} over {concurrency} clients"
    )
    print(f"{'':<28}{columns[0]:>20}{columns[1]:>14}{'ratio':>9}")
    for key, name in (("p50", "latency p50 (ms)"), ("p90", "latency p90 (ms)"), ("p99", "latency p99 (ms)")):
        print(f"{name:<28}{baseline[key]:>20.3f}{measured[key]:>14.3f}{measured[key] / baseline[key]:>8.2f}x")
    print(f"{'difference p50 (ms)':<28}{'':>20}{measured['p50'] - baseline['p50']:>14.3f}")
    print(
        f"{'throughput (calls/s)':<28}{baseline['throughput']:>20.0f}{measured['throughput']:>14.0f}"
        f"{measured['throughput'] / baseline['throughput']:>8.2f}x"
    )


def run_from_command_line(run: Callable[[int, int], Awaitable[None]], doc: str | None) -> None:
    """The warm-call benchmarks' one command line: `--requests` and `--concurrency`."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.concurrency))


def main() -> None:
    run_from_command_line(run, __doc__)


if __name__ == "__main__":
    main()
