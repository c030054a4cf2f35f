"""Instances that crash, hang, are killed from outside, flood their output or eat memory.

Each call gets the cloud's own error, the gateway keeps serving, and the next call runs on a
fresh instance. (An instance exiting by itself, a plain timeout and a slow init are covered in
tests/openwhisk/test_e2e_errors.py and tests/aws_lambda/test_e2e_invoke.py.)
"""

from __future__ import annotations

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RunningEmu, annotations, invoke, needs_node, poll_activation, put_action
from tests.faults.conftest import VICTIM, alive, kill, wait_for_pidfile

EXITED = "The action did not produce a valid response and exited unexpectedly."


def ow_call(emu: RunningEmu, name: str, args: dict[str, Any]) -> httpx.Response:
    with emu.openwhisk() as ow:
        return invoke(ow, name, args)


def aws_call(aws: Any, name: str, event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    reply = aws.invoke(FunctionName=name, Payload=json.dumps(event), **kwargs)
    reply["body"] = json.loads(reply["Payload"].read())
    return reply


def gateway_rss_mb(emu: RunningEmu) -> float:
    for line in Path(f"/proc/{emu.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


# -- killed from outside -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["victim", pytest.param("node-victim", marks=needs_node)])
def test_openwhisk_instance_killed_mid_call(faults_emu: RunningEmu, tmp_path: Path, name: str) -> None:
    pidfile = tmp_path / "pid"
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(ow_call, faults_emu, name, {"op": "pidfile", "path": str(pidfile), "sleep": 30})
        pid = wait_for_pidfile(pidfile)
        kill(pid)
        reply = running.result(timeout=30)
    assert reply.status_code == 502, reply.text
    record = reply.json()
    assert record["response"]["status"] == "action developer error"
    assert record["response"]["result"] == {"error": EXITED}
    again = ow_call(faults_emu, name, {})
    assert again.status_code == 200, again.text
    assert again.json()["response"]["result"]["pid"] != pid
    assert "initTime" in annotations(again.json())  # a fresh instance


@pytest.mark.parametrize("name", ["victim", pytest.param("node-victim", marks=needs_node)])
def test_lambda_instance_killed_mid_call(faults_emu: RunningEmu, aws: Any, tmp_path: Path, name: str) -> None:
    pidfile = tmp_path / "pid"
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(aws_call, aws, name, {"op": "pidfile", "path": str(pidfile), "sleep": 30})
        pid = wait_for_pidfile(pidfile)
        kill(pid)
        reply = running.result(timeout=30)
    request_id = reply["ResponseMetadata"]["RequestId"]
    assert reply["StatusCode"] == 200
    assert reply["FunctionError"] == "Unhandled"
    assert reply["body"] == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
    }
    assert aws_call(aws, name, {})["body"]["pid"] != pid


def test_an_idle_instance_killed_from_outside_is_not_used_again(faults_emu: RunningEmu, aws: Any) -> None:
    ow_pid = ow_call(faults_emu, "victim", {}).json()["response"]["result"]["pid"]
    aws_pid = aws_call(aws, "victim", {})["body"]["pid"]
    kill(ow_pid)
    kill(aws_pid)
    # At once, without waiting for the gateway to notice: the next call must not land on the corpse.
    reply = ow_call(faults_emu, "victim", {})
    assert reply.status_code == 200, reply.text
    assert reply.json()["response"]["result"]["pid"] != ow_pid
    assert aws_call(aws, "victim", {})["body"]["pid"] != aws_pid


# -- crashes and hangs ---------------------------------------------------------------------------


def test_lambda_instance_that_calls_os_exit(aws: Any) -> None:
    reply = aws_call(aws, "victim", {"op": "exit", "code": 7})
    request_id = reply["ResponseMetadata"]["RequestId"]
    assert reply["body"] == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status 7",
    }
    assert aws_call(aws, "victim", {"op": "again"})["body"]["op"] == "again"


def test_a_hang_that_ignores_sigterm_is_killed_at_its_timeout(faults_emu: RunningEmu, aws: Any) -> None:
    started = time.monotonic()
    reply = ow_call(faults_emu, "victim", {"op": "stubborn"})
    assert reply.status_code == 502
    assert reply.json()["response"]["result"] == {
        "error": "The action exceeded its time limits of 3000 milliseconds."
    }
    assert time.monotonic() - started < 15
    reply = aws_call(aws, "victim", {"op": "stubborn"})
    assert reply["body"]["errorType"] == "Sandbox.Timedout"
    assert ow_call(faults_emu, "victim", {"op": "after"}).json()["response"]["result"]["op"] == "after"
    assert aws_call(aws, "victim", {"op": "after"})["body"]["op"] == "after"


# -- output floods -------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["flood", "flood-line"])
def test_an_output_flood_is_capped_per_activation(faults_emu: RunningEmu, op: str) -> None:
    before = gateway_rss_mb(faults_emu)
    reply = ow_call(faults_emu, "victim", {"op": op, "kb": 30 * 1024})  # 30 MB, in lines or in one
    assert reply.status_code == 200, reply.text[:500]
    with faults_emu.openwhisk() as ow:
        logs = poll_activation(ow, reply.json()["activationId"])["logs"]
    kept = sum(len(line) for line in logs)
    assert 9 * 1024 * 1024 < kept < 12 * 1024 * 1024  # 10 MB, OpenWhisk's default limits.logs
    assert logs[-1].endswith(
        "stderr: Logs were truncated because the total bytes size exceeds the limit of 10485760 bytes."
    )
    # The flood did not stay in the gateway, and the next activation's logs are its own.
    assert gateway_rss_mb(faults_emu) - before < 100
    again = ow_call(faults_emu, "victim", {"op": "after-flood"})
    with faults_emu.openwhisk() as ow:
        assert poll_activation(ow, again.json()["activationId"])["logs"] == []


def test_an_actions_own_log_limit_caps_its_output(faults_emu: RunningEmu) -> None:
    with faults_emu.openwhisk() as ow:
        put_action(ow, "small-logs", VICTIM, limits={"logs": 1})
        reply = invoke(ow, "small-logs", {"op": "flood", "kb": 3 * 1024})
        logs = poll_activation(ow, reply.json()["activationId"])["logs"]
    assert 1000 * 1024 < sum(len(line) for line in logs) < 1200 * 1024
    assert logs[-1].endswith("the total bytes size exceeds the limit of 1048576 bytes.")


def test_a_lambda_output_flood_keeps_the_tail(aws: Any) -> None:
    reply = aws_call(aws, "victim", {"op": "flood", "kb": 12 * 1024}, LogType="Tail")
    assert reply["body"]["op"] == "flood"
    tail = base64.b64decode(reply["LogResult"]).decode()
    assert len(tail.encode()) <= 4096
    assert "REPORT RequestId:" in tail


# -- memory --------------------------------------------------------------------------------------


def test_memory_past_the_limit_is_not_enforced_on_the_process_backend(
    faults_emu: RunningEmu, aws: Any
) -> None:
    """Lambda would end this call with `Runtime.OutOfMemory`; a local process has no cgroup to
    hold it to 128 MB, so the call succeeds and the REPORT line shows the overrun. The gateway,
    a separate process, is not affected."""
    reply = aws_call(aws, "victim", {"op": "eat", "mb": 256}, LogType="Tail")
    assert reply["body"]["op"] == "eat"
    report = base64.b64decode(reply["LogResult"]).decode().rsplit("REPORT", 1)[1]
    used = int(report.split("Max Memory Used: ")[1].split(" MB")[0])
    assert "Memory Size: 128 MB" in report and used > 256
    assert gateway_rss_mb(faults_emu) < 200
    assert aws_call(aws, "victim", {"op": "after"})["body"]["op"] == "after"


def test_calls_in_parallel_with_a_killed_instance_are_unaffected(
    faults_emu: RunningEmu, tmp_path: Path
) -> None:
    """Killing one instance costs only its own call: calls on other instances all succeed."""
    pidfile = tmp_path / "pid"
    results: list[int] = []

    def steady() -> None:
        for _ in range(20):
            results.append(ow_call(faults_emu, "victim", {"op": "steady"}).status_code)

    worker = threading.Thread(target=steady)
    with ThreadPoolExecutor(1) as pool:
        doomed = pool.submit(ow_call, faults_emu, "victim", {"op": "pidfile", "path": str(pidfile)})
        pid = wait_for_pidfile(pidfile)
        worker.start()
        kill(pid)
        assert doomed.result(timeout=30).status_code == 502
    worker.join(60)
    assert results == [200] * 20
    deadline = time.monotonic() + 5
    while alive(pid):
        assert time.monotonic() < deadline
        time.sleep(0.02)
