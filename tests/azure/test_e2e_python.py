"""Python function apps, v1 (function.json folders) and v2 (function_app.py), through `emu up`."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.azure.conftest import copy_sample, http_function, settings, write_app
from tests.conftest import RunningEmu, start_emu


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmu]:
    project = tmp_path_factory.mktemp("project")
    copy_sample("python-v1", project)
    copy_sample("python-v2", project)
    write_app(
        project / "limits",
        {
            "host.json": {
                "version": "2.0",
                "functionTimeout": "00:00:01",
                "extensions": {"http": {"routePrefix": ""}},
            },
            "local.settings.json": settings("python"),
            "Boom/function.json": http_function(),
            "Boom/__init__.py": "def main(req):\n    raise ValueError('boom')\n",
            "Slow/function.json": http_function(),
            "Slow/__init__.py": (
                "import os, time\nimport azure.functions as func\n\n"
                "def main(req: func.HttpRequest) -> func.HttpResponse:\n"
                "    if req.params.get('sleep'):\n        time.sleep(float(req.params['sleep']))\n"
                "    return func.HttpResponse(str(os.getpid()))\n"
            ),
            "Plain/function.json": http_function(route="plain/{word}"),
            "Plain/__init__.py": "def main(req):\n    return 'plain ' + req.route_params['word']\n",
        },
    )
    running = start_emu(project, tmp_path_factory.mktemp("state"), "--no-reload")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def http(emu: RunningEmu) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.urls["azure"], timeout=30) as client:
        yield client


def test_v1_http_example_with_query_and_json_body(http: httpx.Client) -> None:
    reply = http.get("/api/HttpExample", params={"name": "Ada"})
    assert reply.status_code == 200
    assert reply.text == "Hello, Ada. This HTTP triggered function executed successfully."
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.headers["x-function-name"] == "HttpExample"
    assert re.fullmatch(r"[0-9a-f-]{36}", reply.headers["x-invocation-id"])
    reply = http.post("/api/HttpExample", json={"name": "Bo"})
    assert reply.text.startswith("Hello, Bo.")


def test_v1_keys_are_not_checked_by_default(http: httpx.Client) -> None:
    # HttpExample is authLevel "function": Core Tools lets every caller in.
    assert http.get("/api/httpexample").status_code == 200


def test_v1_route_constraints_and_named_output(http: httpx.Client) -> None:
    reply = http.get("/api/products/shoes/5")
    assert reply.status_code == 200
    assert reply.json() == {"category": "shoes", "id": "5"}
    assert reply.headers["content-type"] == "application/json"
    assert http.get("/api/products/shoes").json() == {"category": "shoes", "id": None}
    assert http.get("/api/products/shoes/x").status_code == 404
    assert http.get("/api/products/123/5").status_code == 404


def test_wrong_method_and_unknown_route_are_empty_404s(http: httpx.Client) -> None:
    for reply in (
        http.post("/api/products/shoes/5"),
        http.get("/api/nothing-here"),
        http.delete("/api/HttpExample"),
    ):
        assert reply.status_code == 404
        assert reply.content == b""


def test_a_body_over_the_hosts_limit_is_refused_before_it_is_read(emu: RunningEmu) -> None:
    host, port = emu.urls["azure"].removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # Only the headers are sent: the answer must not wait for 200 MB that never come.
        sock.sendall(b"POST /api/HttpExample HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 413 ")
    assert httpx.post(emu.urls["azure"] + "/api/HttpExample?name=Ada", content=b"x" * 1000).status_code == 200


def test_home_page(http: httpx.Client) -> None:
    reply = http.get("/")
    assert reply.status_code == 200
    assert "Functions 4.0 app is up and running" in reply.text


def test_v2_routes(http: httpx.Client) -> None:
    assert http.get("/api/hello", params={"name": "Cy"}).text == "Hello, Cy!"
    item = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    reply = http.put(f"/api/items/{item}", content=b"payload")
    assert reply.json() == {"id": item, "method": "PUT", "body": "payload"}
    assert http.get("/api/items/not-a-guid").status_code == 404
    assert http.post(f"/api/items/{item}").status_code == 404
    assert http.get("/api/files/a/b/c.txt").text == "a/b/c.txt"


def test_empty_route_prefix_and_str_return(http: httpx.Client) -> None:
    reply = http.get("/plain/word")
    assert (reply.status_code, reply.text) == (200, "plain word")
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"


def test_exception_is_an_empty_500(http: httpx.Client, emu: RunningEmu) -> None:
    reply = http.get("/Boom")
    assert reply.status_code == 500
    assert reply.content == b""
    emu.wait_console("azure Boom failed")


def test_timeout_is_a_500_and_replaces_the_instance(http: httpx.Client) -> None:
    first = http.get("/Slow")
    assert first.status_code == 200
    assert http.get("/Slow").text == first.text  # warm: the same worker process
    slow = http.get("/Slow", params={"sleep": "5"})
    assert slow.status_code == 500
    assert slow.content == b""
    after = http.get("/Slow")
    assert after.status_code == 200
    assert after.text != first.text  # a new worker process


def test_startup_lists_functions_like_core_tools(emu: RunningEmu) -> None:
    console = emu.console()
    base = emu.urls["azure"]
    assert re.search(
        rf"azure\s+HttpExample: \[GET,POST\]\s+python\s+{re.escape(base)}/api/HttpExample", console
    )
    assert re.search(r"azure\s+Cleanup: timerTrigger", console)
    assert re.search(
        rf"azure\s+item: \[GET,PUT\]\s+python \(v2\)\s+{re.escape(base)}/api/items/{{id:guid}}", console
    )


def test_invocations_reach_the_console(http: httpx.Client, emu: RunningEmu) -> None:
    http.get("/api/hello")
    emu.wait_console(r"azure hello success \d+ ms (cold|warm)")


def test_a_broken_app_is_reported_and_others_still_serve(tmp_path: Path, emu_factory: object) -> None:
    write_app(tmp_path / "bad", {"host.json": {"version": "1.0"}})
    write_app(
        tmp_path / "good",
        {
            "host.json": {"version": "2.0"},
            "local.settings.json": settings("python"),
            "Ok/function.json": http_function(),
            "Ok/__init__.py": "def main(req):\n    return 'ok'\n",
        },
    )
    running = emu_factory(tmp_path)  # type: ignore[operator]
    assert "the 'version' must be \"2.0\"" in running.console()
    assert httpx.get(running.urls["azure"] + "/api/Ok").text == "ok"


def test_host_json_functions_list_and_disabled_setting(tmp_path: Path, emu_factory: object) -> None:
    write_app(
        tmp_path / "app",
        {
            "host.json": {"version": "2.0", "functions": ["One", "Two"]},
            "local.settings.json": settings("python", **{"AzureWebJobs.Two.Disabled": "true"}),
            **{f"{name}/function.json": http_function() for name in ("One", "Two", "Three")},
            **{
                f"{name}/__init__.py": f"def main(req):\n    return '{name}'\n"
                for name in ("One", "Two", "Three")
            },
        },
    )
    running = emu_factory(tmp_path)  # type: ignore[operator]
    base = running.urls["azure"]
    assert httpx.get(f"{base}/api/One").text == "One"
    assert httpx.get(f"{base}/api/Two").status_code == 404  # disabled
    assert httpx.get(f"{base}/api/Three").status_code == 404  # not in host.json's list
