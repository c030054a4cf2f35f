"""sample_functions/gcp as a user runs it: `emu up`, then curl each function and the service."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import SAMPLES, RunningEmu, needs_node, start_emu


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmu]:
    running = start_emu(SAMPLES / "gcp", tmp_path_factory.mktemp("state"), "--no-reload")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def gcp(emu: RunningEmu) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.urls["gcp"], timeout=180) as client:
        yield client


def test_python_http_function(gcp: httpx.Client) -> None:
    reply = gcp.get("/hello_http", params={"name": "Ada"})
    assert (reply.status_code, reply.text) == (200, "Hello, Ada!")
    assert gcp.post("/hello_http", json={"name": "Grace"}).text == "Hello, Grace!"


@needs_node
def test_node_http_function(gcp: httpx.Client) -> None:
    reply = gcp.get("/hello_node", params={"name": "Ada"})
    assert (reply.status_code, reply.text) == (200, "Hello, Ada!")


def test_cloudevent_function(emu: RunningEmu, gcp: httpx.Client) -> None:
    event = {
        "specversion": "1.0",
        "type": "com.example.ping",
        "source": "/tests",
        "id": "sample-1",
        "data": {"n": 1},
    }
    reply = gcp.post("/on_event", json=event, headers={"Content-Type": "application/cloudevents+json"})
    assert (reply.status_code, reply.text) == (200, "OK")


def test_cloud_run_service(emu: RunningEmu) -> None:
    listing = httpx.get(emu.urls["admin"] + "/_emu/functions").json()
    (service,) = [item for item in listing if item["provider"] == "cloudrun"]
    assert service["name"] == "hello-run"
    body = httpx.get(service["url"] + "hi", timeout=30).json()
    assert body["service"] == "hello-run"
    assert body["path"] == "/hi"
    assert httpx.get(service["url"] + "stream", timeout=30).text == "".join(f"tick {n}\n" for n in range(5))
