"""The Docker engine goes away while emu runs, then comes back: calls that need a new container
get the cloud's error for a service failure naming the engine, everything else is served,
/_emu/health says so, and emu recovers by itself. The engine is reached through a relay socket
the test cuts and restores (`relay.py`), so the engine other tests use keeps running."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.aws_lambda.conftest import create, lambda_client
from tests.conftest import invoke, poll_activation, put_action
from tests.docker.conftest import containers_of
from tests.docker.relay import SocketRelay, engine_socket

HELLO = "def handler(event, context):\n    return {'hello': event.get('name')}\n"


@pytest.fixture
def relay(engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SocketRelay]:
    target = engine_socket()
    if target is None:
        pytest.skip("the engine is not on a Unix socket")
    relay = SocketRelay(tmp_path / "engine.sock", target)
    relay.start()
    monkeypatch.setenv("DOCKER_HOST", relay.url)  # for the gateways this test starts
    yield relay
    relay.stop()


@pytest.fixture
def docker_emu(relay: SocketRelay, docker_emu: Any) -> Iterator[Any]:
    """The gateways of these tests, which find the engine back before they stop, even when a test fails."""
    yield docker_emu
    relay.restore()


def _health(emu: Any) -> dict[str, Any]:
    reply = httpx.get(emu.urls["admin"] + "/_emu/health", timeout=30)
    assert reply.status_code == 200
    return reply.json()


def test_the_engine_goes_away_and_comes_back(engine: Any, relay: SocketRelay, docker_emu: Any) -> None:
    emu = docker_emu()
    client = lambda_client(emu)
    create(client, "before", {"app.py": HELLO})
    assert json.loads(client.invoke(FunctionName="before", Payload=b'{"name": "a"}')["Payload"].read()) == {
        "hello": "a"
    }
    assert _health(emu) == {"status": "ok"}

    relay.stop()
    health = _health(emu)
    assert health["status"] == "degraded"
    assert f"the Docker engine at {relay.url} does not answer" in health["docker"]
    # What needs no container is served as ever.
    create(client, "during", {"app.py": HELLO})
    assert {f["FunctionName"] for f in client.list_functions()["Functions"]} == {"before", "during"}
    with pytest.raises(ClientError) as raised:
        client.invoke(FunctionName="during", Payload=b"{}")
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert error["Error"]["Code"] == "ServiceException"
    assert "the Docker engine at" in error["Error"]["Message"]
    with emu.openwhisk() as ow:
        put_action(ow, "hello", "def main(args):\n    return {'ok': True}\n")
        reply = invoke(ow, "hello", {}, "blocking=true")
        assert reply.status_code == 500, reply.text
        assert reply.json()["response"]["status"] == "whisk internal error"
        logs = " ".join(poll_activation(ow, reply.json()["activationId"])["logs"])
        assert "the Docker engine at" in logs, logs

    relay.start()
    assert _health(emu) == {"status": "ok"}
    assert json.loads(client.invoke(FunctionName="during", Payload=b'{"name": "b"}')["Payload"].read()) == {
        "hello": "b"
    }
    with emu.openwhisk() as ow:
        assert invoke(ow, "hello", {}, "blocking=true&result=true").json() == {"ok": True}
    # The containers the engine kept while emu could not reach it are removed on the way out.
    assert emu.stop() == 0
    assert containers_of(engine, emu.state_dir) == []
