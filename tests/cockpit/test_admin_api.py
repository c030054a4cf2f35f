"""The admin port's API for the commands and the dashboard."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from emulator.cockpit import scaffold
from tests.cockpit.conftest import LAMBDA_NAME, OW_NAME
from tests.conftest import RunningEmu


def test_invoke_answers_the_invocation(cockpit_emu: RunningEmu) -> None:
    admin = cockpit_emu.urls["admin"]
    reply = httpx.post(
        f"{admin}/_emu/invoke", json={"name": f"lambda/{LAMBDA_NAME}", "payload": {"name": "Ada"}}
    )
    assert reply.status_code == 200, reply.text
    call = reply.json()
    assert (call["provider"], call["function"], call["status"]) == ("lambda", LAMBDA_NAME, "success")
    assert call["request"] == {"name": "Ada"}
    assert json.loads(call["response"]["body"]) == {"message": "Hello, Ada!"}
    assert isinstance(call["duration"], int) and isinstance(call["waitTime"], int)
    assert isinstance(call["cold"], bool)
    # The function stays warm: one instance, and no call running.
    listing = httpx.get(f"{admin}/_emu/functions").json()
    greeter = next(item for item in listing if item["provider"] == "lambda" and item["name"] == LAMBDA_NAME)
    assert (greeter["instances"], greeter["running"], greeter["queued"]) == (1, 0, 0)


def test_invoke_errors(cockpit_emu: RunningEmu) -> None:
    admin = cockpit_emu.urls["admin"]
    cases = [
        ({"name": "nope"}, 404, "no function nope"),
        ({"payload": {}}, 400, "the body must be JSON"),
        ({"name": "openwhisk/greet", "payload": "text"}, 400, "parameters must be a JSON object"),
        ({"name": "apigateway/GET /greeter"}, 404, "no function apigateway/GET /greeter"),
    ]
    for body, status, message in cases:
        reply = httpx.post(f"{admin}/_emu/invoke", json=body)
        assert reply.status_code == status, (body, reply.text)
        assert message in reply.json()["error"]


def test_invocations_come_from_the_store_newest_first(cockpit_emu: RunningEmu) -> None:
    admin = cockpit_emu.urls["admin"]
    for name in ("first", "second"):
        httpx.post(
            f"{admin}/_emu/invoke", json={"name": "greet", "payload": {"name": name}}
        ).raise_for_status()
    recent = httpx.get(f"{admin}/_emu/invocations", params={"name": "greet", "limit": 2}).json()
    assert [call["function"] for call in recent] == [OW_NAME, OW_NAME]
    assert [call["response"]["greeting"] for call in recent] == ["Hello, second!", "Hello, first!"]
    assert httpx.get(f"{admin}/_emu/invocations", params={"limit": "x"}).status_code == 400


def test_past_lambda_invocations_keep_their_event_and_result(cockpit_emu: RunningEmu) -> None:
    admin, lambda_url = cockpit_emu.urls["admin"], cockpit_emu.urls["lambda"]
    invoke = f"{lambda_url}/2015-03-31/functions/{LAMBDA_NAME}/invocations"
    httpx.post(invoke, json={"name": "Kept"}).raise_for_status()
    large = {"name": "x" * 70_000}  # past what the store keeps of a body
    httpx.post(invoke, json=large).raise_for_status()
    recent = httpx.get(f"{admin}/_emu/invocations", params={"name": LAMBDA_NAME, "limit": 2}).json()
    assert recent[1]["request"] == {"name": "Kept"}
    assert json.loads(recent[1]["response"]["body"]) == {"message": "Hello, Kept!"}
    # A large event is kept as the start of its JSON, marked as cut.
    assert isinstance(recent[0]["request"], str) and recent[0]["request"].endswith("…")
    assert len(recent[0]["request"]) == 64 * 1024 + 1


def test_events_stream_each_invocation_as_it_finishes(cockpit_emu: RunningEmu) -> None:
    admin = cockpit_emu.urls["admin"]
    with httpx.stream("GET", f"{admin}/_emu/events", params={"name": "greet"}, timeout=20) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == ": connected"
        httpx.post(f"{admin}/_emu/invoke", json={"name": LAMBDA_NAME, "payload": {}}).raise_for_status()
        reply = httpx.post(f"{admin}/_emu/invoke", json={"name": "greet", "payload": {"name": "Live"}})
        event = [next(lines) for _ in range(4)]
    assert event[0] == "" and event[1] == "event: invocation"
    assert event[2] == f"id: {reply.json()['id']}"
    call = json.loads(event[3].removeprefix("data: "))
    assert call["function"] == OW_NAME and call["request"] == {"name": "Live"}


def test_an_open_event_stream_does_not_hold_up_stopping(tmp_path: Path, emu_factory: object) -> None:
    scaffold.create("openwhisk", "greet", "python", tmp_path / "project")
    emu = emu_factory(tmp_path / "project")  # type: ignore[operator]
    opened = threading.Event()

    def listen() -> None:
        try:
            with httpx.stream("GET", f"{emu.urls['admin']}/_emu/events", timeout=30) as stream:
                opened.set()
                for _ in stream.iter_lines():
                    pass
        except httpx.HTTPError:
            pass

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(10)
    started = time.monotonic()
    assert emu.stop() == 0
    assert time.monotonic() - started < 3  # uvicorn would otherwise wait 5 s for the stream
    listener.join(5)
    assert not listener.is_alive()


def test_the_dashboard_is_served_with_its_assets(cockpit_emu: RunningEmu) -> None:
    admin = cockpit_emu.urls["admin"]
    page = httpx.get(f"{admin}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for asset in ("/dashboard/app.js", "/dashboard/style.css"):
        assert asset in page.text
        assert httpx.get(admin + asset).status_code == 200
    # Offline: nothing is loaded from another host.
    assert "http" not in page.text.replace('xmlns="http', "")


def _next_invocation(lines: Iterator[str]) -> dict[str, Any]:
    for line in lines:
        if line.startswith("data: "):
            return json.loads(line.removeprefix("data: "))
    raise AssertionError("the event stream ended")


def test_http_calls_of_azure_and_google_functions_stream_with_their_request_and_response(
    clouds_emu: RunningEmu,
) -> None:
    admin, urls = clouds_emu.urls["admin"], clouds_emu.urls
    with httpx.stream("GET", f"{admin}/_emu/events", timeout=60) as stream:
        lines = stream.iter_lines()
        assert next(lines) == ": connected"
        reply = httpx.post(f"{urls['azure']}/api/HttpExample?x=1", json={"name": "Di"}, timeout=60)
        assert reply.status_code == 200, reply.text
        azure = _next_invocation(lines)
        reply = httpx.get(f"{urls['gcp']}/hello_http", params={"name": "Ed"}, timeout=60)
        assert reply.text == "Hello, Ed!"
        gcp = _next_invocation(lines)
    assert (azure["provider"], azure["function"], azure["status"]) == ("azure", "HttpExample", "success")
    assert azure["request"] == {"method": "POST", "path": "/api/HttpExample?x=1", "body": {"name": "Di"}}
    assert azure["response"]["status"] == 200 and azure["response"]["body"].startswith("Hello, Di.")
    assert azure["logs"] == ["Python HTTP trigger function processed a request."]
    assert (gcp["provider"], gcp["function"], gcp["status"]) == ("gcp", "hello_http", "success")
    assert gcp["request"] == {"method": "GET", "path": "/?name=Ed"}
    assert gcp["response"]["status"] == 200 and gcp["response"]["body"] == "Hello, Ed!"


def test_invoke_answers_azure_and_google_invocations(clouds_emu: RunningEmu) -> None:
    admin = clouds_emu.urls["admin"]
    # As the dashboard sends it: PROVIDER/NAME.
    reply = httpx.post(
        f"{admin}/_emu/invoke", json={"name": "cloudrun/hello-run", "payload": {"k": "v"}}, timeout=60
    )
    assert reply.status_code == 200, reply.text
    call = reply.json()
    assert (call["provider"], call["function"], call["status"]) == ("cloudrun", "hello-run", "success")
    assert call["request"]["body"] == {"k": "v"} and call["response"]["body"] == {"k": "v"}
    reply = httpx.post(f"{admin}/_emu/invoke", json={"name": "azure/Cleanup", "payload": "go"}, timeout=60)
    assert reply.status_code == 200, reply.text
    # A timer gets the host's TimerInfo, as `POST /admin/functions/Cleanup` gives it.
    assert reply.json()["request"]["IsPastDue"] is False
