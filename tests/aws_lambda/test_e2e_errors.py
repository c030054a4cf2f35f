"""Service errors as AWS sends them, so boto3 raises the exception users catch."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.aws_lambda.conftest import create
from tests.conftest import RunningEmu

APP = "def handler(event, context):\n    return event\n"


def test_unknown_function(client: Any) -> None:
    with pytest.raises(client.exceptions.ResourceNotFoundException) as error:
        client.invoke(FunctionName="nope", Payload=b"{}")
    response = error.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope:$LATEST"
    )
    with pytest.raises(client.exceptions.ResourceNotFoundException) as error:
        client.get_function(FunctionName="nope")
    assert error.value.response["Error"]["Message"].endswith(":function:nope")


def test_body_that_is_not_json(client: Any, lambda_emu: RunningEmu) -> None:
    create(client, "echo-errors", {"app.py": APP})
    with pytest.raises(client.exceptions.InvalidRequestContentException) as error:
        client.invoke(FunctionName="echo-errors", Payload=b"'test'")
    assert error.value.response["Error"]["Message"].startswith("Could not parse request body into json")
    reply = httpx.post(
        f"{lambda_emu.urls['lambda']}/2015-03-31/functions/echo-errors/invocations", content=b"{bad"
    )
    assert reply.status_code == 400
    assert reply.headers["x-amzn-ErrorType"] == "InvalidRequestContentException"
    assert reply.json()["Type"] == "User"
    assert reply.headers["x-amzn-RequestId"]


def test_payload_over_6_mb(client: Any) -> None:
    create(client, "big", {"app.py": APP})
    with pytest.raises(ClientError) as error:
        client.invoke(FunctionName="big", Payload=json.dumps({"x": "a" * 6_300_000}))
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert error.value.response["Error"]["Message"] == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )
    with pytest.raises(ClientError) as error:
        client.invoke(FunctionName="big", InvocationType="Event", Payload=json.dumps({"x": "a" * 1_100_000}))
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_duplicate_create_conflicts(client: Any) -> None:
    create(client, "twice", {"app.py": APP})
    with pytest.raises(client.exceptions.ResourceConflictException) as error:
        create(client, "twice", {"app.py": APP})
    assert error.value.response["Error"]["Message"] == "Function already exist: twice"


def test_reserved_concurrency_zero_throttles(client: Any) -> None:
    create(client, "throttled", {"app.py": APP})
    client.put_function_concurrency(FunctionName="throttled", ReservedConcurrentExecutions=0)
    with pytest.raises(client.exceptions.TooManyRequestsException) as error:
        client.invoke(FunctionName="throttled", Payload=b"{}")
    assert error.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    client.delete_function_concurrency(FunctionName="throttled")
    assert client.invoke(FunctionName="throttled", Payload=b"{}")["StatusCode"] == 200


def test_zip_entries_cannot_escape_their_folder(client: Any) -> None:
    for bad in ("../escape.py", "/etc/evil.py"):
        with pytest.raises(client.exceptions.InvalidParameterValueException) as error:
            create(client, "evil", {"app.py": APP, bad: "x"})
        assert "Could not unzip uploaded file" in error.value.response["Error"]["Message"]


def test_bad_parameters(client: Any) -> None:
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        create(client, "reserved-env", {"app.py": APP}, Environment={"Variables": {"AWS_REGION": "x"}})
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        create(client, "old-runtime", {"app.py": APP}, Runtime="java21")
    with pytest.raises(ClientError) as error:
        client.invoke(FunctionName="bad name!", Payload=b"{}")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unknown_operation(lambda_emu: RunningEmu) -> None:
    reply = httpx.get(f"{lambda_emu.urls['lambda']}/2099-01-01/nothing")
    assert reply.status_code == 404
    assert reply.headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_calls_past_reserved_concurrency_are_throttled_at_once(client: Any, tmp_path) -> None:  # type: ignore[no-untyped-def]
    slow = (
        "import pathlib, time\n"
        "def handler(event, context):\n"
        "    pathlib.Path(event['marker']).touch()\n"
        "    time.sleep(event['sleep'])\n"
        "    return 'done'\n"
    )
    create(client, "one-at-a-time", {"app.py": slow})
    client.put_function_concurrency(FunctionName="one-at-a-time", ReservedConcurrentExecutions=1)
    marker = tmp_path / "running"
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(
            client.invoke,
            FunctionName="one-at-a-time",
            Payload=json.dumps({"marker": str(marker), "sleep": 1}),
        )
        deadline = time.monotonic() + 15
        while not marker.exists():
            assert time.monotonic() < deadline, "the first call did not start"
            time.sleep(0.02)
        with pytest.raises(client.exceptions.TooManyRequestsException) as error:
            client.invoke(
                FunctionName="one-at-a-time", Payload=json.dumps({"marker": str(marker), "sleep": 0})
            )
        assert error.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
        assert json.loads(running.result()["Payload"].read()) == "done"
