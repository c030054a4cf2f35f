"""Service errors as AWS sends them, so boto3 raises the exception users catch."""

from __future__ import annotations

import base64
import io
import json
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from providers.aws_lambda.code import UNZIP_FAILED
from tests.aws_lambda.conftest import create, zip_bytes
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


def corrupted_deflate() -> bytes:
    data = bytearray(zip_bytes({"app.py": APP * 50}))
    start = 30 + len("app.py")  # the member's compressed bytes follow its local header
    data[start : start + 8] = b"\xff" * 8
    return bytes(data)


def unknown_method() -> bytes:
    """A stored member relabelled with compression method 99 (AES), which zipfile cannot read."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("app.py", APP)
    data = bytearray(buffer.getvalue())
    data[8:10] = (99).to_bytes(2, "little")
    central = data.index(b"PK\x01\x02")
    data[central + 10 : central + 12] = (99).to_bytes(2, "little")
    return bytes(data)


@pytest.mark.parametrize(
    "archive",
    [
        corrupted_deflate(),
        unknown_method(),
        zip_bytes({"a": "x", "a/b": "y"}),
        zip_bytes({"a/b": "y", "a": "x"}),
    ],
    ids=["bad-deflate", "method-99", "file-then-folder", "folder-then-file"],
)
def test_zips_that_cannot_be_unpacked(client: Any, archive: bytes) -> None:
    with pytest.raises(client.exceptions.InvalidParameterValueException) as error:
        client.create_function(
            FunctionName="unzippable",
            Role="arn:aws:iam::000000000000:role/lambda-role",
            Runtime="python3.12",
            Handler="app.handler",
            Code={"ZipFile": archive},
        )
    assert error.value.response["Error"]["Message"] == UNZIP_FAILED
    existing(client, "update-unzippable")
    with pytest.raises(client.exceptions.InvalidParameterValueException) as error:
        client.update_function_code(FunctionName="update-unzippable", ZipFile=archive)
    assert error.value.response["Error"]["Message"] == UNZIP_FAILED


def existing(client: Any, name: str) -> None:
    """The function, created by the first test case that needs it."""
    try:
        client.get_function(FunctionName=name)
    except client.exceptions.ResourceNotFoundException:
        create(client, name, {"app.py": APP})


def raw_create(emu: RunningEmu, **fields: Any) -> httpx.Response:
    body = {
        "FunctionName": "typed",
        "Role": "arn:aws:iam::000000000000:role/lambda-role",
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "Code": {"ZipFile": base64.b64encode(zip_bytes({"app.py": APP})).decode()},
        **fields,
    }
    return httpx.post(f"{emu.urls['lambda']}/2015-03-31/functions", json=body)


@pytest.mark.parametrize(
    ("fields", "member"),
    [
        ({"Tags": ["a"]}, "tags"),
        ({"Tags": {"a": 1}}, "tags"),
        ({"Handler": 5}, "handler"),
        ({"Handler": "has space"}, "handler"),
        ({"Role": 7}, "role"),
        ({"Role": "not-an-arn"}, "role"),
        ({"Description": {}}, "description"),
        ({"Description": "x" * 257}, "description"),
        ({"Architectures": "arm"}, "architectures"),
        ({"Architectures": []}, "architectures"),
        ({"Architectures": ["x86_64", "arm64"]}, "architectures"),
        ({"Architectures": ["sparc"]}, "architectures"),
    ],
)
def test_field_types_are_checked(lambda_emu: RunningEmu, fields: dict[str, Any], member: str) -> None:
    reply = raw_create(lambda_emu, **fields)
    assert reply.status_code == 400
    assert reply.headers["x-amzn-ErrorType"] == "ValidationException"
    assert reply.json()["message"].startswith("1 validation error detected: Value ")
    assert f"at '{member}' failed to satisfy constraint" in reply.json()["message"]


def test_configuration_field_types_are_checked(client: Any, lambda_emu: RunningEmu) -> None:
    create(client, "typed-config", {"app.py": APP}, Architectures=["arm64"])
    assert client.get_function_configuration(FunctionName="typed-config")["Architectures"] == ["arm64"]
    url = f"{lambda_emu.urls['lambda']}/2015-03-31/functions/typed-config/configuration"
    for fields in ({"Handler": 5}, {"Role": 7}, {"Description": {}}):
        reply = httpx.put(url, json=fields)
        assert reply.status_code == 400 and reply.headers["x-amzn-ErrorType"] == "ValidationException"
    assert client.get_function_configuration(FunctionName="typed-config")["Handler"] == "app.handler"


@pytest.mark.parametrize("payload", [b"NaN", b"1e999", b"-Infinity", b'{"a": Infinity}', b"[-1e400]"])
def test_numbers_json_does_not_have(client: Any, payload: bytes) -> None:
    existing(client, "echo-numbers")
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="echo-numbers", Payload=payload)


@pytest.mark.parametrize("marker", [base64.b64encode(b"-1").decode(), "not a marker!", "LTE=x", "Kw=="])
def test_bad_list_markers(client: Any, marker: str) -> None:
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.list_functions(Marker=marker)


def test_reservations_leave_100_unreserved(client: Any) -> None:
    create(client, "greedy-a", {"app.py": APP})
    create(client, "greedy-b", {"app.py": APP})
    for too_many in (99999999999999999999, 901):
        with pytest.raises(client.exceptions.InvalidParameterValueException) as error:
            client.put_function_concurrency(FunctionName="greedy-a", ReservedConcurrentExecutions=too_many)
        assert error.value.response["Error"]["Message"] == (
            "Specified ReservedConcurrentExecutions for function decreases account's "
            "UnreservedConcurrentExecution below its minimum value of [100]."
        )
    client.put_function_concurrency(FunctionName="greedy-a", ReservedConcurrentExecutions=800)
    # The sum across functions counts.
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.put_function_concurrency(FunctionName="greedy-b", ReservedConcurrentExecutions=100)
    client.put_function_concurrency(
        FunctionName="greedy-a", ReservedConcurrentExecutions=700
    )  # its own is replaced
    client.delete_function_concurrency(FunctionName="greedy-a")
    client.put_function_concurrency(FunctionName="greedy-b", ReservedConcurrentExecutions=100)
    client.delete_function_concurrency(FunctionName="greedy-b")
