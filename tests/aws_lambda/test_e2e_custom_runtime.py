"""Custom runtimes: the user's `bootstrap` talks to emu's Runtime API, here through the real awslambdaric."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from tests.aws_lambda.conftest import create

awslambdaric = pytest.importorskip(
    "awslambdaric", reason="awslambdaric (Linux only) is needed as the real client"
)

BOOTSTRAP = f'#!/bin/sh\nexec {sys.executable} -m awslambdaric "$_HANDLER"\n'
APP = """
def handler(event, context):
    if event.get("fail"):
        raise RuntimeError("custom failure")
    print("custom runtime saw", event)
    return {"echo": event, "request_id": context.aws_request_id, "name": context.function_name}
"""


def test_awslambdaric_bootstrap(client: Any) -> None:
    create(
        client,
        "ric",
        {"bootstrap": BOOTSTRAP, "app.py": APP},
        modes={"bootstrap": 0o755},
        Runtime="provided.al2023",
        Handler="app.handler",
    )
    reply = client.invoke(FunctionName="ric", Payload=json.dumps({"n": 1}), LogType="Tail")
    body = json.loads(reply["Payload"].read())
    assert body["echo"] == {"n": 1} and body["name"] == "ric"
    assert body["request_id"] == reply["ResponseMetadata"]["RequestId"]
    assert "FunctionError" not in reply

    failed = client.invoke(FunctionName="ric", Payload=json.dumps({"fail": True}))
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "RuntimeError" and error["errorMessage"] == "custom failure"

    again = client.invoke(FunctionName="ric", Payload=json.dumps({"n": 2}))
    assert json.loads(again["Payload"].read())["echo"] == {"n": 2}


PLAIN_BOOTSTRAP = f"""#!{sys.executable}
import os, urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as call:
        request_id = call.headers["Lambda-Runtime-Aws-Request-Id"]
        call.read()
    answer = urllib.request.Request(api + request_id + "/response", data=b"plain text, not JSON")
    urllib.request.urlopen(answer).read()
"""


def test_a_response_that_is_not_json_is_passed_on_as_it_came(client: Any) -> None:
    create(
        client,
        "plain",
        {"bootstrap": PLAIN_BOOTSTRAP},
        modes={"bootstrap": 0o755},
        Runtime="provided.al2023",
        Handler="unused",
    )
    reply = client.invoke(FunctionName="plain", Payload=b"{}")
    assert "FunctionError" not in reply
    assert reply["Payload"].read() == b"plain text, not JSON"


def test_bootstrap_that_fails_to_import(client: Any) -> None:
    create(
        client,
        "ric-broken",
        {"bootstrap": BOOTSTRAP, "app.py": "import not_a_module\n"},
        modes={"bootstrap": 0o755},
        Runtime="provided.al2023",
        Handler="app.handler",
    )
    reply = client.invoke(FunctionName="ric-broken", Payload=b"{}")
    assert reply["FunctionError"] == "Unhandled"
    assert json.loads(reply["Payload"].read())["errorType"] == "Runtime.ImportModuleError"
