"""Gateways for the cockpit's tests: a project made by `emu init` (one OpenWhisk action and one Lambda
function), and the Azure and Google samples."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from emulator.cli import main
from emulator.cockpit import scaffold
from tests.conftest import SAMPLES, RunningEmu, start_emu

OW_NAME = "/guest/greet"
LAMBDA_NAME = "GreeterFunction"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    scaffold.create("openwhisk", "greet", "python", root)
    scaffold.create("lambda", "greeter", "python", root)
    return root


@pytest.fixture(scope="module")
def cockpit_emu(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmu]:
    running = start_emu(project, tmp_path_factory.mktemp("state"), "--no-reload")
    yield running
    running.stop()


def run_cli(running: RunningEmu, *args: str, input: str | None = None) -> Result:
    """`emu ARGS` through click's runner, pointed at `running` by its admin URL."""
    return CliRunner().invoke(main, [*args, "--admin-url", running.urls["admin"]], input=input)


@pytest.fixture(scope="module")
def clouds_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmu]:
    """A gateway serving the Azure Python (v1) sample app and the Google samples."""
    root = tmp_path_factory.mktemp("clouds")
    shutil.copytree(SAMPLES / "azure" / "python-v1", root / "azure")
    shutil.copytree(SAMPLES / "gcp", root / "gcp")
    running = start_emu(root, tmp_path_factory.mktemp("state"), "--no-reload")
    yield running
    running.stop()
