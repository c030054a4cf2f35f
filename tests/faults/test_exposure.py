"""Nothing let in: ports on loopback unless asked, the gateway's secrets and one function's
settings out of reach of other functions. (Keys and namespaces: tests/openwhisk/test_e2e_errors.py.)"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.aws_lambda.conftest import create, lambda_client
from tests.conftest import RunningEmu, invoke, put_action

ENV_DUMP = (
    "import os\n"
    "def main(args):\n    return {'env': dict(os.environ)}\n"
    "def handler(event, context):\n    return {'env': dict(os.environ)}\n"
)


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket `pid` listens on, read from /proc: no traffic sent."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address, port = local.split(":")
                assert len(address) == width
                found.add((_address(address), int(port, 16)))
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:
        return ".".join(str(int(hex_address[i : i + 2], 16)) for i in (6, 4, 2, 0))
    return hex_address


def with_function_url(emu: RunningEmu) -> int:
    client = lambda_client(emu)
    create(client, "public", {"app.py": ENV_DUMP})
    url = client.create_function_url_config(FunctionName="public", AuthType="NONE")["FunctionUrl"]
    return int(url.rstrip("/").rsplit(":", 1)[1])


def test_every_port_listens_on_loopback_by_default(emu_factory: Any) -> None:
    emu: RunningEmu = emu_factory(None, "--no-reload")
    url_port = with_function_url(emu)
    listening = listening_addresses(emu.process.pid)
    ports = {int(url.rsplit(":", 1)[1]) for url in emu.urls.values()} | {url_port}
    assert {port for _, port in listening} == ports
    assert {address for address, _ in listening} == {"127.0.0.1"}
    assert "other machines can reach emu" not in emu.console()


def test_host_chooses_the_address_of_every_port(emu_factory: Any) -> None:
    emu: RunningEmu = emu_factory(None, "--no-reload", "--host", "127.0.0.2")
    with_function_url(emu)
    assert {address for address, _ in listening_addresses(emu.process.pid)} == {"127.0.0.2"}


def test_another_address_warns(emu_factory: Any) -> None:
    emu: RunningEmu = emu_factory(None, "--no-reload", "--host", "0.0.0.0")
    try:
        assert {address for address, _ in listening_addresses(emu.process.pid)} == {"0.0.0.0"}
        assert "listening on 0.0.0.0: other machines can reach emu" in emu.console()
    finally:
        emu.stop()  # at once: no longer exposed than needed


def test_the_gateways_environment_does_not_reach_functions(
    emu_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "gateway-secret")
    monkeypatch.setenv("EMU_TEST_TOKEN", "gateway-token")
    emu: RunningEmu = emu_factory(None, "--no-reload")
    with emu.openwhisk() as ow:
        put_action(ow, "env", ENV_DUMP)
        ow_env = invoke(ow, "env", {}, "blocking=true&result=true").json()["env"]
    create(lambda_client(emu), "env", {"app.py": ENV_DUMP})
    aws_env = json.loads(lambda_client(emu).invoke(FunctionName="env")["Payload"].read())["env"]
    for env in (ow_env, aws_env):
        assert "gateway-secret" not in env.values() and "gateway-token" not in env.values()
        assert "EMU_TEST_TOKEN" not in env


def test_a_functions_settings_do_not_reach_another_function(emu_factory: Any) -> None:
    emu: RunningEmu = emu_factory(None, "--no-reload")
    client = lambda_client(emu)
    create(client, "holder", {"app.py": ENV_DUMP}, Environment={"Variables": {"HOLDER_SECRET": "s3cret"}})
    with emu.openwhisk() as ow:
        put_action(ow, "holder", ENV_DUMP, parameters=[{"key": "OW_SECRET", "value": "s3cret", "init": True}])
        assert invoke(ow, "holder", {}, "blocking=true&result=true").json()["env"]["OW_SECRET"] == "s3cret"
        assert (
            json.loads(client.invoke(FunctionName="holder")["Payload"].read())["env"]["HOLDER_SECRET"]
            == "s3cret"
        )
        # Other functions start on fresh stem cells; nothing of the holders' is in theirs.
        put_action(ow, "other", ENV_DUMP)
        create(client, "other", {"app.py": ENV_DUMP})
        for env in (
            invoke(ow, "other", {}, "blocking=true&result=true").json()["env"],
            json.loads(client.invoke(FunctionName="other")["Payload"].read())["env"],
        ):
            assert "s3cret" not in env.values()
