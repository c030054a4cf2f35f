"""Cloud Functions end to end: `emu up` on an emu.yaml project, called over HTTP as on cloudfunctions.net.

The functions run under the real Functions Framework, installed from their requirements.txt and
package.json by emu's dependency cache.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from tests.conftest import RunningEmu, needs_node
from tests.gcp.conftest import gcp_emu, node_function, python_function, write

CRASH_BODY = (
    "500 Internal Server Error: The server encountered an internal error and was unable to complete "
    "your request. Either the server is overloaded or there is an error in the application."
)

ECHO = """
import os
import time

import functions_framework


@functions_framework.http
def echo(request):
    if request.args.get("crash"):
        raise RuntimeError("boom")
    if request.args.get("sleep"):
        time.sleep(float(request.args["sleep"]))
    if request.args.get("tuple"):
        return "created", 201, {"X-Custom": "yes"}
    print("echo called", request.path)
    names = ("K_SERVICE", "K_REVISION", "FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE", "PORT", "GREETING")
    return {
        "method": request.method,
        "path": request.path,
        "args": request.args.to_dict(),
        "body": request.get_data(as_text=True),
        "headers": {name.lower(): value for name, value in request.headers.items()},
        "pid": os.getpid(),
        "env": {name: os.environ.get(name) for name in names},
    }
"""

NODE_ECHO = """
const functions = require('@google-cloud/functions-framework');

functions.http('nodeEcho', (req, res) => {
  if (req.query.crash) throw new Error('node boom');
  if (req.query.uncaught) {
    setTimeout(() => { throw new Error('uncaught boom'); }, 0);
    return;
  }
  if (req.query.exit) {
    res.send('bye');
    setTimeout(() => process.exit(16), 0);
    return;
  }
  const names = ['K_SERVICE', 'K_REVISION', 'FUNCTION_TARGET', 'FUNCTION_SIGNATURE_TYPE', 'PORT'];
  res.json({
    method: req.method, path: req.path, query: req.query, body: req.body, pid: process.pid,
    env: Object.fromEntries(names.map((name) => [name, process.env[name]])),
  });
});
"""

EVENTS = """
import json
import os

import functions_framework


@functions_framework.cloud_event
def events(cloud_event):
    record = {
        "id": cloud_event["id"],
        "type": cloud_event["type"],
        "source": cloud_event["source"],
        "subject": cloud_event.get("subject"),
        "data": cloud_event.data,
    }
    with open(os.path.join(os.environ["OUT"], cloud_event["id"] + ".json"), "w") as file:
        json.dump(record, file)
"""


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("events")


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory, out_dir: Path) -> Iterator[RunningEmu]:
    def build(project: Path) -> None:
        python_function(project / "echo", ECHO)
        node_function(project / "node_echo", NODE_ECHO)
        python_function(project / "events", EVENTS)
        manifest = {
            "functions": [
                {
                    "name": "echo",
                    "runtime": "python312",
                    "source": "echo",
                    "timeout": 2,
                    "environment": {"GREETING": "Hi"},
                },
                {
                    "name": "node_echo",
                    "runtime": "nodejs20",
                    "source": "node_echo",
                    "entry_point": "nodeEcho",
                },
                {
                    "name": "events",
                    "runtime": "python312",
                    "source": "events",
                    "signature_type": "cloudevent",
                    "environment": {"OUT": str(out_dir)},
                },
            ]
        }
        write(project, {"emu.yaml": json.dumps(manifest)})

    yield from gcp_emu(tmp_path_factory, build)


@pytest.fixture(scope="module")
def gcp(emu: RunningEmu) -> Iterator[httpx.Client]:
    # The first call of each function waits for its dependencies to install.
    with httpx.Client(base_url=emu.urls["gcp"], timeout=180) as client:
        yield client


def test_http_function_gets_the_rest_of_the_path_and_the_query(gcp: httpx.Client) -> None:
    reply = gcp.post("/echo/users/42?name=Ada&x=1", content="hello", headers={"X-Thing": "yes"})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["method"] == "POST"
    assert body["path"] == "/users/42"
    assert body["args"] == {"name": "Ada", "x": "1"}
    assert body["body"] == "hello"
    assert body["headers"]["x-thing"] == "yes"
    assert gcp.get("/echo").json()["path"] == "/"


def test_platform_environment(gcp: httpx.Client) -> None:
    env = gcp.get("/echo").json()["env"]
    assert env["K_SERVICE"] == "echo"
    assert env["K_REVISION"].startswith("echo-00001-")
    assert env["FUNCTION_TARGET"] == "echo"
    assert env["FUNCTION_SIGNATURE_TYPE"] == "http"
    assert env["PORT"].isdigit()
    assert env["GREETING"] == "Hi"


def test_return_values_follow_flask(gcp: httpx.Client) -> None:
    reply = gcp.get("/echo?tuple=1")
    assert reply.status_code == 201
    assert reply.text == "created"
    assert reply.headers["x-custom"] == "yes"
    assert reply.headers["content-type"] == "text/html; charset=utf-8"


def test_an_exception_is_a_500_with_the_crash_header(gcp: httpx.Client) -> None:
    reply = gcp.get("/echo?crash=1")
    assert reply.status_code == 500
    assert reply.headers["x-google-status"] == "crash"
    assert reply.text == CRASH_BODY
    assert gcp.get("/echo").status_code == 200  # the instance goes on serving


def test_ignored_routes_are_404(gcp: httpx.Client) -> None:
    assert gcp.get("/echo/favicon.ico").status_code == 404
    assert gcp.get("/echo/robots.txt").status_code == 404


def test_timeout_is_504_and_the_instance_is_replaced(gcp: httpx.Client) -> None:
    before = gcp.get("/echo").json()["pid"]
    started = time.monotonic()
    reply = gcp.get("/echo?sleep=10")
    assert reply.status_code == 504
    assert reply.text == "upstream request timeout"
    assert time.monotonic() - started < 8
    after = gcp.get("/echo").json()["pid"]
    assert after != before


def test_unknown_function_is_the_front_ends_404(gcp: httpx.Client) -> None:
    reply = gcp.get("/no_such_function/x")
    assert reply.status_code == 404
    assert "<title>404 Page not found</title>" in reply.text


@needs_node
def test_node_http_function(gcp: httpx.Client) -> None:
    reply = gcp.post("/node_echo/a/b?name=Ada", json={"n": 1})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["path"] == "/a/b"
    assert body["query"] == {"name": "Ada"}
    assert body["body"] == {"n": 1}
    assert body["env"]["K_SERVICE"] == "node_echo"
    assert body["env"]["FUNCTION_TARGET"] == "nodeEcho"
    assert body["env"]["FUNCTION_SIGNATURE_TYPE"] == "http"


@needs_node
def test_node_exception_is_a_500_with_the_crash_header(gcp: httpx.Client) -> None:
    reply = gcp.get("/node_echo?crash=1")
    assert reply.status_code == 500
    assert reply.headers["x-google-status"] == "crash"
    assert gcp.get("/node_echo").status_code == 200


@needs_node
def test_node_uncaught_exception_answers_the_pending_request(gcp: httpx.Client) -> None:
    reply = gcp.get("/node_echo?uncaught=1")
    assert reply.status_code == 500
    assert reply.headers["x-google-status"] == "crash"
    assert reply.text == "uncaught boom"
    assert gcp.get("/node_echo").status_code == 200


@needs_node
def test_an_instance_that_exits_is_replaced(gcp: httpx.Client) -> None:
    before = gcp.get("/node_echo").json()["pid"]
    assert gcp.get("/node_echo?exit=1").text == "bye"
    _wait_until_gone(before)  # it exits just after answering; a call before then would still reach it
    after = gcp.get("/node_echo")
    assert after.status_code == 200, after.text
    assert after.json()["pid"] != before


def _wait_until_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and "zombie" not in _process_state(pid):
        assert time.monotonic() < deadline, f"process {pid} did not exit"
        time.sleep(0.01)


def _process_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


def _wait_for(path: Path) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was not written"
        time.sleep(0.02)
    return json.loads(path.read_text())


def test_structured_cloudevent(gcp: httpx.Client, out_dir: Path) -> None:
    event = CloudEvent(
        {"type": "com.example.ping", "source": "/tests", "id": "structured-1", "subject": "s"}, {"n": 1}
    )
    headers, body = to_structured(event)
    assert headers["content-type"] == "application/cloudevents+json"
    reply = gcp.post("/events", headers=headers, content=body)
    assert (reply.status_code, reply.text) == (200, "OK")
    assert _wait_for(out_dir / "structured-1.json") == {
        "id": "structured-1",
        "type": "com.example.ping",
        "source": "/tests",
        "subject": "s",
        "data": {"n": 1},
    }


def test_binary_cloudevent(gcp: httpx.Client, out_dir: Path) -> None:
    event = CloudEvent({"type": "com.example.ping", "source": "/tests", "id": "binary-1"}, {"n": 2})
    headers, body = to_binary(event)
    assert "ce-id" in headers
    reply = gcp.post("/events", headers=headers, content=body)
    assert (reply.status_code, reply.text) == (200, "OK")
    assert _wait_for(out_dir / "binary-1.json")["data"] == {"n": 2}


def test_a_body_that_is_no_cloudevent_is_400(gcp: httpx.Client) -> None:
    # Neither a CloudEvent nor a legacy background event: the framework answers 400.
    assert gcp.post("/events", json={"hello": "world"}).status_code == 400


def test_functions_are_listed_and_calls_reach_the_console(emu: RunningEmu, gcp: httpx.Client) -> None:
    gcp.get("/echo/listed")
    listing = httpx.get(emu.urls["admin"] + "/_emu/functions").json()
    gcp_functions = {item["name"]: item for item in listing if item["provider"] == "gcp"}
    assert set(gcp_functions) == {"echo", "node_echo", "events"}
    assert gcp_functions["echo"]["url"] == emu.urls["gcp"] + "/echo"
    assert gcp_functions["echo"]["runtime"] == "python312"
    deadline = time.monotonic() + 5
    while "gcp echo success" not in emu.console():
        assert time.monotonic() < deadline, emu.console()
        time.sleep(0.05)
