"""The gateway itself going away: `kill -9` with accepted calls pending, and SIGTERM with calls in
flight. (One accepted OpenWhisk call surviving a `kill -9` is tests/openwhisk/test_e2e_restart.py;
here many calls of both clouds at once, and Lambda's Event calls end to end.)
"""

from __future__ import annotations

import base64
import json
import signal
import socket
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.aws_lambda.conftest import create, lambda_client
from tests.conftest import GUEST_KEY, RunningEmu, invoke, poll_activation, put_action

# Sleeps, then leaves a marker named after the call: a marker per call means nothing was lost.
SLOW_MARKER = """
import os, pathlib, time

def work(args):
    pathlib.Path(args["dir"], "started-" + args["id"]).touch()
    time.sleep(args.get("sleep", 1))
    pathlib.Path(args["dir"], "done-" + args["id"]).touch()
    return {"id": args["id"], "pid": os.getpid()}

def main(args):
    return work(args)

def handler(event, context):
    return work(event)
"""
CALLS = 6


def deploy(emu: RunningEmu) -> Any:
    with emu.openwhisk() as ow:
        put_action(ow, "slow", SLOW_MARKER)
    client = lambda_client(emu)
    create(client, "slow", {"app.py": SLOW_MARKER}, Timeout=30)
    return client


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_accepted_calls_of_both_clouds_survive_kill_9(emu_factory: Any, tmp_path: Path) -> None:
    state = tmp_path / "state"
    markers = tmp_path / "markers"
    markers.mkdir()
    first = emu_factory(None, "--no-reload", state_dir=state)
    client = deploy(first)
    activation_ids = []
    with first.openwhisk() as ow:
        for n in range(CALLS):
            reply = invoke(ow, "slow", {"dir": str(markers), "id": f"ow{n}", "sleep": 2}, query="")
            assert reply.status_code == 202
            activation_ids.append(reply.json()["activationId"])
    for n in range(CALLS):
        event = {"dir": str(markers), "id": f"aws{n}", "sleep": 2}
        reply = client.invoke(FunctionName="slow", InvocationType="Event", Payload=json.dumps(event))
        assert reply["StatusCode"] == 202
    # Every accepted call is in the store before its 202 was sent.
    with sqlite3.connect(state / "emu.db") as db:
        (pending,) = db.execute("SELECT COUNT(*) FROM pending_invocations").fetchone()
    assert pending == 2 * CALLS
    first.stop(signal.SIGKILL)  # while they sleep

    second = emu_factory(None, "--no-reload", state_dir=state)
    expected = {f"done-{prefix}{n}" for prefix in ("ow", "aws") for n in range(CALLS)}
    wait_for(lambda: expected <= {p.name for p in markers.iterdir()}, 40, "an accepted call was lost")
    with second.openwhisk() as ow:
        for activation_id in activation_ids:
            record = poll_activation(ow, activation_id, timeout=20)
            assert record["response"]["success"] is True
    wait_for(lambda: not pending_rows(state), 10, "finished calls stayed pending")


def pending_rows(state: Path) -> list[tuple[str]]:
    with sqlite3.connect(state / "emu.db") as db:
        return db.execute("SELECT id FROM pending_invocations").fetchall()


def ow_blocking(
    emu: RunningEmu, args: dict[str, Any], query: str = "blocking=true&result=true"
) -> httpx.Response:
    with emu.openwhisk() as ow:
        return invoke(ow, "slow", args, query)


def test_sigterm_lets_calls_in_flight_finish_then_stops(emu_factory: Any, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    emu = emu_factory(None, "--no-reload")
    client = deploy(emu)
    with ThreadPoolExecutor(2 * CALLS) as pool:
        ow_calls = [
            pool.submit(ow_blocking, emu, {"dir": str(markers), "id": f"ow{n}", "sleep": 2})
            for n in range(CALLS)
        ]
        aws_calls = [
            pool.submit(
                client.invoke,
                FunctionName="slow",
                Payload=json.dumps({"dir": str(markers), "id": f"aws{n}", "sleep": 2}),
            )
            for n in range(CALLS)
        ]
        started = {f"started-{p}{n}" for p in ("ow", "aws") for n in range(CALLS)}
        wait_for(lambda: started <= {p.name for p in markers.iterdir()}, 20, "the calls did not start")
        stopping = time.monotonic()
        emu.process.send_signal(signal.SIGTERM)
        for n, call in enumerate(ow_calls):
            reply = call.result(timeout=30)
            assert reply.status_code == 200 and reply.json()["id"] == f"ow{n}", reply.text
        for n, call in enumerate(aws_calls):
            reply = call.result(timeout=30)
            assert "FunctionError" not in reply
            assert json.loads(reply["Payload"].read())["id"] == f"aws{n}"
    assert emu.process.wait(20) == 0
    assert time.monotonic() - stopping < 10
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.urls["openwhisk"] + "/api/v1")


def test_sigterm_past_the_grace_period_stops_and_keeps_accepted_calls(
    emu_factory: Any, tmp_path: Path
) -> None:
    """Calls longer than the grace period (5 s) are cut off with their cloud's answer: an
    OpenWhisk blocking call becomes accepted, as past its wait, and stays pending with the
    other accepted call, to run after the next start; a Lambda call gets the service's error."""
    state = tmp_path / "state"
    markers = tmp_path / "markers"
    markers.mkdir()
    emu = emu_factory(None, "--no-reload", state_dir=state)
    client = deploy(emu)
    with emu.openwhisk() as ow:
        accepted = invoke(ow, "slow", {"dir": str(markers), "id": "later", "sleep": 30}, query="").json()
    lambda_url = f"{emu.urls['lambda']}/2015-03-31/functions/slow/invocations"
    with ThreadPoolExecutor(2) as pool:
        long_call = pool.submit(
            ow_blocking, emu, {"dir": str(markers), "id": "long", "sleep": 30}, "blocking=true"
        )
        long_lambda = pool.submit(
            httpx.post, lambda_url, json={"dir": str(markers), "id": "aws-long", "sleep": 30}, timeout=60
        )
        wanted = {"started-later", "started-long", "started-aws-long"}
        wait_for(lambda: wanted <= {p.name for p in markers.iterdir()}, 20, "the calls did not start")
        stopping = time.monotonic()
        emu.process.send_signal(signal.SIGTERM)
        assert emu.process.wait(30) == 0
        assert time.monotonic() - stopping < 15
        cut = long_call.result(timeout=30)
        assert cut.status_code == 202, cut.text
        long_id = cut.json()["activationId"]
        assert cut.headers["x-openwhisk-activation-id"] == long_id
        cut_lambda = long_lambda.result(timeout=30)
        assert cut_lambda.status_code == 500
        assert cut_lambda.headers["x-amzn-ErrorType"] == "ServiceException"
        assert "stopping" in cut_lambda.json()["Message"]
    assert "Traceback" not in emu.console()
    assert sorted(row[0] for row in pending_rows(state)) == sorted([accepted["activationId"], long_id])
    client.close()

    again = emu_factory(None, "--no-reload", state_dir=state)
    with again.openwhisk() as ow:
        # The re-runs sleep 30 s too; that they started again is what matters here.
        for name in ("started-later", "started-long"):
            wait_for(
                lambda name=name: (markers / name).stat().st_mtime > stopping, 20, f"{name}: not run again"
            )
        assert ow.get(f"/api/v1/namespaces/_/activations/{accepted['activationId']}").status_code == 404


def test_deployed_functions_activations_and_logs_survive_kill_9(emu_factory: Any, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = emu_factory(None, "--no-reload", state_dir=state)
    client = lambda_client(first)
    create(client, "kept", {"app.py": "def handler(event, context):\n    return event\n"})
    with first.openwhisk() as ow:
        put_action(ow, "logs", "def main(args):\n    print('line', args['n'])\n    return {'n': args['n']}\n")
        records = [invoke(ow, "logs", {"n": n}).json() for n in range(30)]
    first.stop(signal.SIGKILL)  # right after the last answer

    second = emu_factory(None, "--no-reload", state_dir=state)
    reply = lambda_client(second).invoke(FunctionName="kept", Payload=b'{"k": 1}')
    assert json.loads(reply["Payload"].read()) == {"k": 1}
    with second.openwhisk() as ow:
        for n, record in enumerate(records):
            stored = ow.get(f"/api/v1/namespaces/_/activations/{record['activationId']}").json()
            assert stored["response"]["result"] == {"n": n}
            assert stored["logs"][0].endswith(f"stdout: line {n}")


def test_clients_that_hang_up_mid_call_cost_nothing(emu_factory: Any, tmp_path: Path) -> None:
    """Callers that leave before the answer: their calls still finish and are recorded, no
    instance or queue slot is lost, and the gateway serves on."""
    markers = tmp_path / "markers"
    markers.mkdir()
    emu = emu_factory(None, "--no-reload", "--max-instances", "2", "--max-queue", "4")
    client = deploy(emu)
    user, password = GUEST_KEY.split(":")
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    for n in range(12):
        port = "openwhisk" if n % 2 == 0 else "lambda"
        parts = urlsplit(emu.urls[port])
        body = json.dumps({"dir": str(markers), "id": f"left{n}", "sleep": 0.3}).encode()
        path = (
            "/api/v1/namespaces/_/actions/slow?blocking=true"
            if port == "openwhisk"
            else "/2015-03-31/functions/slow/invocations"
        )
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Basic {auth}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        with socket.create_connection((parts.hostname, parts.port)) as sock:
            sock.sendall(head.encode() + body)
        time.sleep(0.05)  # the gateway reads it, then finds the caller gone
    # Half of them found every instance and queue slot taken and were refused at once; the rest ran.
    wait_for(lambda: len(list(markers.glob("done-*"))) >= 4, 30, "the abandoned calls did not run")
    with emu.openwhisk() as ow:
        reply = invoke(
            ow, "slow", {"dir": str(markers), "id": "after", "sleep": 0}, "blocking=true&result=true"
        )
        assert reply.json()["id"] == "after"
        ran = [int(p.name[len("done-left") :]) for p in markers.glob("done-left*")]
        # OpenWhisk records an activation whether or not its caller waited for it.
        listed = ow.get("/api/v1/namespaces/_/activations?name=slow&limit=200").json()
        assert len(listed) == 1 + sum(1 for n in ran if n % 2 == 0)
    reply = client.invoke(
        FunctionName="slow", Payload=json.dumps({"dir": str(markers), "id": "after2", "sleep": 0})
    )
    assert json.loads(reply["Payload"].read())["id"] == "after2"
    # Every slot came back: a full load of calls at once is served, none throttled.
    with ThreadPoolExecutor(6) as pool:
        replies = list(
            pool.map(
                lambda n: ow_blocking(emu, {"dir": str(markers), "id": f"full{n}", "sleep": 0.2}),
                range(6),
            )
        )
    assert [r.status_code for r in replies] == [200] * 6
    assert "Traceback" not in emu.console()
