"""`emu up` on a SAM project: the sample's functions through boto3, and hot reload of a handler file."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx

from tests.aws_lambda.conftest import lambda_client
from tests.conftest import SAMPLES, RunningEmu


def body_of(client: Any, name: str, event: dict[str, Any]) -> Any:
    reply = client.invoke(FunctionName=name, Payload=json.dumps(event))
    assert "FunctionError" not in reply, reply["Payload"].read()
    return json.loads(reply["Payload"].read())


def test_sample_functions_answer(samples_emu: RunningEmu) -> None:
    client = lambda_client(samples_emu)
    python = body_of(client, "HelloPythonFunction", {"name": "Ada"})
    assert python["statusCode"] == 200
    assert json.loads(python["body"]) == {"message": "Hello, Ada!", "stage": "dev"}
    node = body_of(client, "HelloNodeFunction", {"name": "Ada"})
    assert "Ada" in json.dumps(node)
    custom = body_of(client, "CustomRuntimeFunction", {"name": "Ada"})
    assert "Ada" in json.dumps(custom)
    listed = {item["name"]: item for item in httpx.get(samples_emu.urls["admin"] + "/_emu/functions").json()}
    assert listed["HelloPythonFunction"]["provider"] == "lambda"
    assert listed["HelloPythonFunction"]["runtime"] == "python3.12"
    assert listed["HelloPythonFunction"]["source"].endswith("template.yaml")
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert {"HelloPythonFunction", "HelloNodeFunction", "CustomRuntimeFunction"} <= set(names)


def test_saving_a_handler_reloads_it(emu_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "project"
    shutil.copytree(SAMPLES / "aws", project)
    emu: RunningEmu = emu_factory(project, state_dir=tmp_path / "state")
    client = lambda_client(emu)
    handler = project / "hello_python" / "app.py"
    assert "Hello, Ada!" in body_of(client, "HelloPythonFunction", {"name": "Ada"})["body"]
    handler.write_text(handler.read_text().replace('f"{greeting}, {name}!"', 'f"{greeting} there, {name}!"'))
    deadline = time.monotonic() + 15
    while "Hello there, Ada!" not in body_of(client, "HelloPythonFunction", {"name": "Ada"})["body"]:
        assert time.monotonic() < deadline, "the new handler was not loaded"
        time.sleep(0.05)


RESERVING_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Handler: app.handler
Resources:
  Modest:
    Type: AWS::Serverless::Function
    Properties:
      ReservedConcurrentExecutions: 5
  Greedy:
    Type: AWS::Serverless::Function
    Properties:
      ReservedConcurrentExecutions: 950
"""


def test_template_reservations_leave_100_unreserved(emu_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    (project / "template.yaml").write_text(RESERVING_TEMPLATE)
    emu: RunningEmu = emu_factory(project, "--no-reload", state_dir=tmp_path / "state")
    client = lambda_client(emu)
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert "Modest" in names and "Greedy" not in names
    assert "Greedy: Specified ReservedConcurrentExecutions for function decreases" in emu.console()


DEPENDENCIES_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  TableFunction:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, CodeUri: table/, Handler: app.handler}
  NumberFunction:
    Type: AWS::Serverless::Function
    Properties: {Runtime: nodejs20.x, CodeUri: number/, Handler: index.handler}
"""


def test_template_functions_get_their_declared_dependencies(emu_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """As after `sam build`: requirements.txt and package.json are installed for the function."""
    project = tmp_path / "project"
    (project / "table").mkdir(parents=True)
    (project / "number").mkdir()
    (project / "template.yaml").write_text(DEPENDENCIES_TEMPLATE)
    (project / "table" / "requirements.txt").write_text("tabulate==0.9.0\n")
    (project / "table" / "app.py").write_text(
        "from tabulate import tabulate\n\ndef handler(event, context):\n    return tabulate([[1, 2]])\n"
    )
    (project / "number" / "package.json").write_text(json.dumps({"dependencies": {"is-number": "7.0.0"}}))
    (project / "number" / "index.js").write_text(
        "const isNumber = require('is-number');\nexports.handler = async (e) => isNumber(e.value);\n"
    )
    emu: RunningEmu = emu_factory(project, "--no-reload", state_dir=tmp_path / "state")
    client = lambda_client(emu)
    assert body_of(client, "TableFunction", {}) == "-  -\n1  2\n-  -"
    assert body_of(client, "NumberFunction", {"value": "42"}) is True
    assert not (project / "number" / "node_modules").exists()
