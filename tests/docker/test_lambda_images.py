"""Lambda container images (PackageType Image) on the docker backend: the image's ENTRYPOINT + CMD
runs as a custom runtime against the Runtime API; ImageConfig overrides; SAM builds Dockerfiles."""

from __future__ import annotations

import contextlib
import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from botocore.exceptions import ClientError

from tests.aws_lambda.conftest import lambda_client
from tests.docker.conftest import IMAGES_DIR, containers_of

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


def _payload(reply: dict[str, Any]) -> Any:
    return json.loads(reply["Payload"].read())


def test_an_image_function_made_with_the_api(
    engine: Any, docker_emu: Any, test_images: dict[str, str]
) -> None:
    emu = docker_emu()
    client = lambda_client(emu)
    created = client.create_function(
        FunctionName="boxed",
        Role=ROLE,
        PackageType="Image",
        Code={"ImageUri": test_images["lambda"]},
        Environment={"Variables": {"GREETING": "hi"}},
        MemorySize=256,
    )
    assert created["PackageType"] == "Image"
    assert "Runtime" not in created and "Handler" not in created
    got = client.get_function(FunctionName="boxed")
    assert got["Code"]["RepositoryType"] == "ECR"
    assert got["Code"]["ImageUri"] == test_images["lambda"]

    reply = client.invoke(FunctionName="boxed", Payload=b'{"n": 1}', LogType="Tail")
    body = _payload(reply)
    assert "FunctionError" not in reply, body
    assert body["event"] == {"n": 1}
    assert body["handler"] == "app.handler"  # the image's CMD, through its ENTRYPOINT script
    assert body["name"] == "boxed"
    assert body["cwd"] == "/var/task"  # the image's WORKDIR
    assert body["greeting"] == "hi"
    assert body["request_id"] == reply["ResponseMetadata"]["RequestId"]
    (container,) = [c for c in containers_of(engine, emu.state_dir) if "boxed" in c.name]
    host = container.attrs["HostConfig"]
    assert host["Memory"] == 256 * 1024 * 1024
    assert host["ReadonlyRootfs"] is True

    # ImageConfig overrides the image's CMD (and WORKDIR); a new revision gets a new container.
    client.update_function_configuration(
        FunctionName="boxed", ImageConfig={"Command": ["app.other"], "WorkingDirectory": "/tmp"}
    )
    config = client.get_function_configuration(FunctionName="boxed")
    assert config["ImageConfigResponse"]["ImageConfig"] == {
        "Command": ["app.other"],
        "WorkingDirectory": "/tmp",
    }
    assert _payload(client.invoke(FunctionName="boxed")) == {"other": True, "cwd": "/tmp"}

    client.update_function_configuration(FunctionName="boxed", ImageConfig={"Command": ["app.fail"]})
    failed = client.invoke(FunctionName="boxed")
    assert failed["FunctionError"] == "Unhandled"
    error = _payload(failed)
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "no good"

    client.update_function_configuration(
        FunctionName="boxed", ImageConfig={"EntryPoint": ["/no/such/entrypoint"]}
    )
    failed = client.invoke(FunctionName="boxed")
    assert failed["FunctionError"] == "Unhandled"
    error = _payload(failed)
    assert error["errorType"] == "Runtime.InvalidEntrypoint"
    assert error["errorMessage"] == "fork/exec /no/such/entrypoint: no such file or directory"

    # UpdateFunctionCode takes an ImageUri for an image function, and refuses a zip.
    updated = client.update_function_code(FunctionName="boxed", ImageUri=test_images["no-python"])
    assert updated["PackageType"] == "Image" and updated["CodeSha256"] != created["CodeSha256"]
    with pytest.raises(ClientError) as raised:
        client.update_function_code(FunctionName="boxed", ZipFile=b"PK")
    assert raised.value.response["Error"]["Message"] == (
        "Please provide ImageUri when updating a function with packageType Image."
    )


def test_an_image_without_python_is_a_clear_error(docker_emu: Any, test_images: dict[str, str]) -> None:
    client = lambda_client(docker_emu())
    client.create_function(
        FunctionName="nopython", Role=ROLE, PackageType="Image", Code={"ImageUri": test_images["no-python"]}
    )
    with pytest.raises(ClientError) as raised:
        client.invoke(FunctionName="nopython")
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert error["Error"]["Code"] == "ServiceException"
    assert "has no python3" in error["Error"]["Message"]


def test_a_missing_image_uri_and_runtime_with_an_image(docker_emu: Any, test_images: dict[str, str]) -> None:
    client = lambda_client(docker_emu())
    with pytest.raises(ClientError) as raised:
        client.create_function(
            FunctionName="both", Role=ROLE, PackageType="Image", Runtime="python3.12",
            Code={"ImageUri": test_images["lambda"]},
        )  # fmt: skip
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "PackageType is Image" in raised.value.response["Error"]["Message"]


def test_a_sam_image_function_built_from_its_dockerfile(
    engine: Any, docker_emu: Any, test_images: dict[str, str], images: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(IMAGES_DIR / "lambda", project / "fn")
    base = images.get("EMU_IMAGE_PYTHON") or "python:3.12-slim"
    dockerfile = (project / "fn" / "Dockerfile").read_text().replace("emu-local/python:3.11", base)
    (project / "fn" / "Dockerfile.lambda").write_text(dockerfile)
    (project / "template.yaml").write_text(
        textwrap.dedent(
            """
            AWSTemplateFormatVersion: '2010-09-09'
            Transform: AWS::Serverless-2016-10-31
            Resources:
              Built:
                Type: AWS::Serverless::Function
                Properties:
                  PackageType: Image
                  ImageConfig: {Command: [app.other]}
                  Timeout: 10
                Metadata:
                  DockerContext: ./fn
                  Dockerfile: Dockerfile.lambda
                  DockerTag: v1
              ByUri:
                Type: AWS::Serverless::Function
                Properties:
                  PackageType: Image
                  ImageUri: IMAGE_URI
                  Environment: {Variables: {GREETING: from-sam}}
            """
        ).replace("IMAGE_URI", test_images["lambda"])
    )
    emu = docker_emu(project)
    client = lambda_client(emu)
    assert _payload(client.invoke(FunctionName="Built")) == {"other": True, "cwd": "/var/task"}
    assert _payload(client.invoke(FunctionName="ByUri"))["greeting"] == "from-sam"
    listed = {f["FunctionName"]: f for f in client.list_functions()["Functions"]}
    assert listed["Built"]["PackageType"] == "Image"
    emu.stop()
    for image in engine.images.list(name="emu-build/lambda-fn-*"):  # the tag of the image emu built
        for tag in image.tags:
            if tag.startswith("emu-build/lambda-fn-"):
                with contextlib.suppress(docker.errors.DockerException):
                    engine.images.remove(tag)


def test_the_process_backend_refuses_images(emu_factory: Any) -> None:
    client = lambda_client(emu_factory(None, "--backend", "process"))
    with pytest.raises(ClientError) as raised:
        client.create_function(
            FunctionName="img", Role=ROLE, PackageType="Image", Code={"ImageUri": "some/image:1"}
        )
    assert "needs the docker backend" in raised.value.response["Error"]["Message"]
