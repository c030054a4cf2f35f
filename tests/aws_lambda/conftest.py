"""A gateway per module and the AWS clients Lambda users point at it."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.conftest import RunningEmu, start_emu

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "emu", "AWS_SECRET_ACCESS_KEY": "emu", "AWS_DEFAULT_REGION": "us-east-1"}


def lambda_client(emu: RunningEmu) -> Any:
    """boto3 as users configure it for a local endpoint; one attempt, so an error is seen once."""
    return boto3.client(
        "lambda",
        endpoint_url=emu.urls["lambda"],
        region_name="us-east-1",
        aws_access_key_id="emu",
        aws_secret_access_key="emu",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=70),
    )


def zip_bytes(files: dict[str, str], modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o644) | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return buffer.getvalue()


def create(client: Any, name: str, files: dict[str, str], **fields: Any) -> dict[str, Any]:
    modes = fields.pop("modes", None)
    settings: dict[str, Any] = {"Runtime": "python3.12", "Handler": "app.handler", **fields}
    return client.create_function(
        FunctionName=name,
        Role="arn:aws:iam::000000000000:role/lambda-role",
        Code={"ZipFile": zip_bytes(files, modes)},
        **settings,
    )


@pytest.fixture(scope="module")
def lambda_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmu]:
    running = start_emu(None, tmp_path_factory.mktemp("state"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(lambda_emu: RunningEmu) -> Any:
    return lambda_client(lambda_emu)


def aws_cli(emu: RunningEmu, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The AWS CLI (v1 from PyPI, the one installed beside the tests) against emu."""
    executable = shutil.which("aws", path=os.path.dirname(sys.executable)) or shutil.which("aws")
    if executable is None:
        pytest.skip("the AWS CLI is not installed")
    return subprocess.run(
        [executable, "--endpoint-url", emu.urls["lambda"], "--region", "us-east-1", "lambda", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **CREDENTIALS},
    )
