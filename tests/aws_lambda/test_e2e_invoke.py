"""Invoke through boto3: results, logs, function errors and the ways a call can end, as AWS answers."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from emulator.store import Store
from providers.aws_lambda.functions import LambdaFunction, build_config
from providers.aws_lambda.service import PROVIDER, LambdaService
from tests.aws_lambda.conftest import create

PYTHON_APP = """
import json, os, sys, time

def handler(event, context):
    print("got", json.dumps(event))
    action = event.get("action")
    if action == "fail":
        raise ValueError("bad thing")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "exit":
        sys.exit(3)
    if action == "touch":
        open(event["path"], "w").close()
    if action == "context":
        return {
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
            "memory": context.memory_limit_in_mb,
            "arn": context.invoked_function_arn,
            "log_group": context.log_group_name,
            "remaining": context.get_remaining_time_in_millis(),
            "client_custom": context.client_context.custom if context.client_context else None,
            "env": {k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "AWS_REGION", "GREETING")},
            "task_root_exists": os.path.isdir(os.environ["LAMBDA_TASK_ROOT"]),
        }
    if action == "string":
        return "just a string"
    if action == "none":
        return None
    return {"echo": event}
"""
NODE_APP = """
exports.handler = async (event, context) => {
  console.log('node got', JSON.stringify(event));
  if (event.action === 'fail') throw new TypeError('node broke');
  return {echo: event, requestId: context.awsRequestId, fn: context.functionName};
};
"""


@pytest.fixture(scope="module")
def functions(client: Any) -> dict[str, str]:
    create(
        client, "py", {"app.py": PYTHON_APP}, Environment={"Variables": {"GREETING": "hi"}}, MemorySize=256
    )
    create(client, "slow", {"app.py": PYTHON_APP}, Timeout=1)
    create(client, "node", {"index.js": NODE_APP}, Runtime="nodejs20.x", Handler="index.handler")
    create(client, "broken", {"app.py": "import no_such_module\n"})
    return {}


def call(client: Any, name: str, event: Any = None, **kwargs: Any) -> dict[str, Any]:
    reply = client.invoke(FunctionName=name, Payload=json.dumps(event or {}), **kwargs)
    reply["body"] = json.loads(reply["Payload"].read() or b"null")
    return reply


def test_request_response_returns_the_result(client: Any, functions: dict[str, str]) -> None:
    reply = call(client, "py", {"a": 1})
    assert reply["StatusCode"] == 200
    assert reply["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in reply
    assert reply["body"] == {"echo": {"a": 1}}
    assert call(client, "py", {"action": "string"})["body"] == "just a string"
    assert call(client, "py", {"action": "none"})["body"] is None


def test_the_event_reaches_the_handler_as_the_client_wrote_it(client: Any, functions: dict[str, str]) -> None:
    # Sent on as its own bytes: escapes, number forms, nesting and size survive the trip.
    written = b'{"text": "caf\\u00e9 \\ud83d\\ude00", "big": 12345678901234567890, "x": 1.5e3, "deep": [[[{"a": null}]]]}'
    reply = client.invoke(FunctionName="py", Payload=written)
    assert json.loads(reply["Payload"].read()) == {"echo": json.loads(written)}
    large = {"blob": "x" * 1_000_000}
    assert call(client, "py", large)["body"] == {"echo": large}


def test_context_and_environment(client: Any, functions: dict[str, str]) -> None:
    context = base64.b64encode(json.dumps({"custom": {"team": "emu"}}).encode()).decode()
    body = call(client, "py", {"action": "context"}, ClientContext=context)["body"]
    assert len(body["request_id"]) == 36
    assert body["function_name"] == "py"
    assert body["memory"] == "256"
    assert body["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:py"
    assert body["log_group"] == "/aws/lambda/py"
    assert 0 < body["remaining"] <= 3000
    assert body["client_custom"] == {"team": "emu"}
    assert body["env"] == {"AWS_LAMBDA_FUNCTION_NAME": "py", "_HANDLER": "app.handler", "AWS_REGION": "us-east-1",
                           "GREETING": "hi"}  # fmt: skip
    assert body["task_root_exists"]


def test_tail_log_has_start_end_report_and_output(client: Any, functions: dict[str, str]) -> None:
    reply = call(client, "py", {"hello": "log"}, LogType="Tail")
    text = base64.b64decode(reply["LogResult"]).decode()
    request_id = reply["ResponseMetadata"]["RequestId"]
    assert f"START RequestId: {request_id} Version: $LATEST" in text
    assert 'got {"hello": "log"}' in text
    assert f"END RequestId: {request_id}" in text
    assert f"REPORT RequestId: {request_id}\tDuration: " in text and "Memory Size: 256 MB" in text
    used = re.search(r"Max Memory Used: (\d+) MB", text)
    assert used is not None and 5 < int(used.group(1)) < 256, text  # the instance's own peak RSS
    assert "LogResult" not in call(client, "py", {})


def test_node_handler(client: Any, functions: dict[str, str]) -> None:
    body = call(client, "node", {"n": 2})["body"]
    assert body["echo"] == {"n": 2} and body["fn"] == "node" and len(body["requestId"]) == 36
    failed = call(client, "node", {"action": "fail"})
    assert failed["FunctionError"] == "Unhandled"
    assert failed["body"]["errorType"] == "TypeError" and failed["body"]["errorMessage"] == "node broke"
    assert isinstance(failed["body"]["trace"], list)


def test_handler_exception_is_a_200_with_function_error(client: Any, functions: dict[str, str]) -> None:
    reply = call(client, "py", {"action": "fail"})
    assert reply["StatusCode"] == 200 and reply["FunctionError"] == "Unhandled"
    body = reply["body"]
    assert body["errorMessage"] == "bad thing" and body["errorType"] == "ValueError"
    assert body["requestId"] == reply["ResponseMetadata"]["RequestId"]
    assert any("raise ValueError" in frame for frame in body["stackTrace"])
    assert call(client, "py", {"a": 2})["body"] == {"echo": {"a": 2}}


def test_import_error_is_an_init_error(client: Any, functions: dict[str, str]) -> None:
    reply = call(client, "broken")
    assert reply["FunctionError"] == "Unhandled"
    assert reply["body"]["errorType"] == "Runtime.ImportModuleError"
    assert reply["body"]["errorMessage"].startswith("Unable to import module 'app'")


def test_timeout_kills_the_instance(client: Any, functions: dict[str, str]) -> None:
    reply = call(client, "slow", {"action": "sleep", "seconds": 10})
    request_id = reply["ResponseMetadata"]["RequestId"]
    assert reply["FunctionError"] == "Unhandled"
    assert reply["body"] == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    assert call(client, "slow", {"a": 3})["body"] == {"echo": {"a": 3}}


def test_process_exit_is_a_runtime_exit_error(client: Any, functions: dict[str, str]) -> None:
    reply = call(client, "py", {"action": "exit"})
    request_id = reply["ResponseMetadata"]["RequestId"]
    assert reply["body"] == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status 3",
    }
    assert call(client, "py", {"a": 4})["body"] == {"echo": {"a": 4}}


def test_event_invocation_is_accepted_then_run(
    client: Any, functions: dict[str, str], tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    reply = client.invoke(
        FunctionName="py",
        InvocationType="Event",
        Payload=json.dumps({"action": "touch", "path": str(marker)}),
    )
    assert reply["StatusCode"] == 202
    assert reply["Payload"].read() == b""
    deadline = time.monotonic() + 15
    while not marker.exists():
        assert time.monotonic() < deadline, "the Event invocation did not run"
        time.sleep(0.05)


def test_dry_run(client: Any, functions: dict[str, str]) -> None:
    assert client.invoke(FunctionName="py", InvocationType="DryRun")["StatusCode"] == 204


def test_names_arns_and_qualifiers(client: Any, functions: dict[str, str]) -> None:
    for name in ("py", "000000000000:function:py", "arn:aws:lambda:us-east-1:000000000000:function:py"):
        assert call(client, name, {"n": name})["body"] == {"echo": {"n": name}}
    assert call(client, "py", {"q": 1}, Qualifier="$LATEST")["body"] == {"echo": {"q": 1}}
    with pytest.raises(client.exceptions.ResourceNotFoundException) as error:
        call(client, "py", Qualifier="7")
    assert error.value.response["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:py:7"
    )


class BrokenInvoker:
    """An invoker that fails in a way the service does not expect, or never answers."""

    def __init__(self, hang: bool = False) -> None:
        self.pool = SimpleNamespace(retire=lambda key: None)
        self.hang = hang

    async def invoke(self, *args: Any) -> Any:
        if self.hang:
            await asyncio.Event().wait()
        raise RuntimeError("unexpected")


def event_service(tmp_path: Path, invoker: BrokenInvoker) -> tuple[LambdaService, LambdaFunction]:
    service = LambdaService(Store(tmp_path / "emu.db"), invoker, tmp_path / "code")  # type: ignore[arg-type]
    config = build_config(
        "broken", {"Runtime": "python3.12", "Handler": "app.handler"}, code_sha="x", code_size=0
    )
    function = LambdaFunction(config, str(tmp_path))
    service.save(function)
    return service, function


async def test_an_event_that_fails_unexpectedly_is_dropped_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service, function = event_service(tmp_path, BrokenInvoker())
    request_id = service.accept_event(function, {})
    deadline = time.monotonic() + 5
    while list(service.store.pending(PROVIDER)):
        assert time.monotonic() < deadline, "the failed event is still pending"
        await asyncio.sleep(0.01)
    assert f"event {request_id} for broken failed" in caplog.text
    await service.close()


async def test_an_event_cut_short_by_shutdown_stays_pending(tmp_path: Path) -> None:
    service, function = event_service(tmp_path, BrokenInvoker(hang=True))
    request_id = service.accept_event(function, {})
    await asyncio.sleep(0.05)
    await service.close()
    assert [pending for pending, _ in service.store.pending(PROVIDER)] == [request_id]
