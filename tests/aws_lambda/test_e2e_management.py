"""Function management through boto3 and the AWS CLI, and functions surviving a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.aws_lambda.conftest import aws_cli, create, lambda_client, zip_bytes
from tests.conftest import start_emu

APP = "def handler(event, context):\n    return {'version': VERSION}\nVERSION = 1\n"


def test_create_get_update_delete(client: Any) -> None:
    created = create(client, "managed", {"app.py": APP}, Timeout=5, MemorySize=256)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:managed"
    assert created["State"] == "Active" and created["LastUpdateStatus"] == "Successful"
    assert created["Version"] == "$LATEST" and created["PackageType"] == "Zip"
    assert created["CodeSize"] > 0 and len(created["CodeSha256"]) == 44
    assert created["LastModified"].endswith("+0000")
    client.get_waiter("function_active_v2").wait(FunctionName="managed")

    fetched = client.get_function(FunctionName="managed")
    assert fetched["Configuration"]["Timeout"] == 5
    assert fetched["Code"]["RepositoryType"] == "S3"
    assert client.get_function_configuration(FunctionName="managed")["MemorySize"] == 256

    updated = client.update_function_code(
        FunctionName="managed", ZipFile=zip_bytes({"app.py": APP.replace("1", "2")})
    )
    assert updated["CodeSha256"] != created["CodeSha256"] and updated["RevisionId"] != created["RevisionId"]
    client.get_waiter("function_updated_v2").wait(FunctionName="managed")
    reply = client.invoke(FunctionName="managed", Payload=b"{}")
    assert json.loads(reply["Payload"].read()) == {"version": 2}

    configured = client.update_function_configuration(
        FunctionName="managed", Timeout=9, Environment={"Variables": {"COLOR": "blue"}}
    )
    assert configured["Timeout"] == 9 and configured["Environment"] == {"Variables": {"COLOR": "blue"}}

    assert client.delete_function(FunctionName="managed")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert "managed" not in [f["FunctionName"] for f in client.list_functions()["Functions"]]


def test_list_pages_with_markers(client: Any) -> None:
    for index in range(5):
        create(client, f"paged-{index}", {"app.py": APP})
    first = client.list_functions(MaxItems=2)
    assert len(first["Functions"]) == 2 and "NextMarker" in first
    assert "State" not in first["Functions"][0]
    names = [f["FunctionName"] for f in first["Functions"]]
    marker = first["NextMarker"]
    while marker:
        page = client.list_functions(MaxItems=2, Marker=marker)
        names += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
    assert {f"paged-{index}" for index in range(5)} <= set(names)
    assert len(names) == len(set(names))


def test_concurrency_settings(client: Any) -> None:
    create(client, "reserved", {"app.py": APP})
    assert (
        client.put_function_concurrency(FunctionName="reserved", ReservedConcurrentExecutions=3)[
            "ReservedConcurrentExecutions"
        ]
        == 3
    )
    assert client.get_function_concurrency(FunctionName="reserved")["ReservedConcurrentExecutions"] == 3
    assert client.get_function(FunctionName="reserved")["Concurrency"] == {"ReservedConcurrentExecutions": 3}


def test_aws_cli(lambda_emu: Any, tmp_path: Path) -> None:
    package = tmp_path / "function.zip"
    package.write_bytes(zip_bytes({"app.py": "def handler(event, context):\n    return {'cli': event}\n"}))
    created = aws_cli(
        lambda_emu, "create-function", "--function-name", "cli-fn", "--runtime", "python3.12",
        "--handler", "app.handler", "--role", "arn:aws:iam::000000000000:role/r",
        "--zip-file", f"fileb://{package}",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["FunctionName"] == "cli-fn"
    invoked = aws_cli(
        lambda_emu, "invoke", "--function-name", "cli-fn",
        "--payload", '{"x": 1}', "out.json", cwd=tmp_path,
    )  # fmt: skip
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout)["StatusCode"] == 200
    assert json.loads((tmp_path / "out.json").read_text()) == {"cli": {"x": 1}}
    missing = aws_cli(lambda_emu, "get-function", "--function-name", "nope")
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
    listed = aws_cli(lambda_emu, "list-functions")
    assert "cli-fn" in [f["FunctionName"] for f in json.loads(listed.stdout)["Functions"]]


def test_functions_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = start_emu(None, state)
    try:
        create(lambda_client(first), "durable", {"app.py": APP})
    finally:
        first.stop()
    second = start_emu(None, state)
    try:
        reply = lambda_client(second).invoke(FunctionName="durable", Payload=b"{}")
        assert json.loads(reply["Payload"].read()) == {"version": 1}
    finally:
        second.stop()


def test_updates_keep_only_the_current_and_previous_code(client: Any, lambda_emu: Any) -> None:
    create(client, "pruned", {"app.py": APP})
    for version in (2, 3, 4):
        client.update_function_code(
            FunctionName="pruned", ZipFile=zip_bytes({"app.py": APP.replace("1", str(version))})
        )
    folders = list((lambda_emu.state_dir / "lambda" / "code" / "pruned").iterdir())
    current = Path(client.get_function(FunctionName="pruned")["Code"]["Location"].removeprefix("file://"))
    assert len(folders) == 2 and current in folders
    assert json.loads(client.invoke(FunctionName="pruned", Payload=b"{}")["Payload"].read()) == {"version": 4}
