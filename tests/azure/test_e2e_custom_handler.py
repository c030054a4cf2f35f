"""Custom handlers (the sample's handler is Node.js with no dependencies): the exact bytes they receive."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.azure.conftest import copy_sample, wait_for
from tests.conftest import RunningEmu, start_emu

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="the sample handler needs Node.js")

IDENTITY = {
    "AuthenticationType": None,
    "IsAuthenticated": False,
    "Actor": None,
    "BootstrapContext": None,
    "Claims": [],
    "Label": None,
    "Name": None,
    "NameClaimType": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "RoleClaimType": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
}


def start_handler_app(tmp: Path, forwarding: bool) -> tuple[RunningEmu, Path]:
    project = tmp / "project"
    app = copy_sample("custom-handler", project)
    log = tmp / "received.jsonl"
    local = json.loads((app / "local.settings.json").read_text())
    local["Values"]["HANDLER_LOG"] = str(log)
    (app / "local.settings.json").write_text(json.dumps(local))
    if forwarding:
        host = json.loads((app / "host.json").read_text())
        host["customHandler"]["enableForwardingHttpRequest"] = True
        (app / "host.json").write_text(json.dumps(host))
    return start_emu(project, tmp / "state", "--no-reload"), log


def received(log: Path) -> list[dict]:
    """What the handler got, in order, without the readiness probes."""
    if not log.exists():
        return []
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    return [item for item in requests if not (item["method"] == "GET" and item["url"] == "/")]


def headers_of(raw: list[str]) -> list[tuple[str, str]]:
    return list(zip(raw[::2], raw[1::2], strict=True))


@pytest.fixture(scope="module")
def payload_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningEmu, Path]]:
    running, log = start_handler_app(tmp_path_factory.mktemp("payload"), forwarding=False)
    yield running, log
    running.stop()


def test_payload_mode_sends_the_hosts_json_byte_for_byte(payload_app: tuple[RunningEmu, Path]) -> None:
    emu, log = payload_app
    base = emu.urls["azure"]
    host = base.removeprefix("http://")
    body = '{"name":"Ada","n":1}'
    reply = httpx.post(
        f"{base}/api/echo/42?name=Ada&tag=a&tag=b",
        content=body,
        headers={"Content-Type": "application/json", "X-Custom": "v"},
    )
    assert reply.status_code == 200
    assert reply.headers["x-echo"] == "yes"
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"  # no Content-Type in the output
    raw = reply.content  # the handler echoes the request body it received, as it received it
    sent = json.loads(raw)
    sys_values = sent["Metadata"]["sys"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z", sys_values["UtcNow"])
    assert re.fullmatch(r"[0-9a-f-]{36}", sys_values["RandGuid"])
    request_headers = {
        "Host": [host],
        "Accept": ["*/*"],
        "Accept-Encoding": ["gzip, deflate"],
        "Connection": ["keep-alive"],
        "User-Agent": [reply.request.headers["user-agent"]],
        "Content-Type": ["application/json"],
        "X-Custom": ["v"],
        "Content-Length": [str(len(body))],
    }
    sent_headers = sent["Data"]["req"]["Headers"]
    assert {k: v for k, v in sent_headers.items()} == request_headers
    expected = {
        "Data": {
            "req": {
                "Url": f"{base}/api/echo/42?name=Ada&tag=a&tag=b",
                "Method": "POST",
                "Query": {"name": "Ada", "tag": "a,b"},
                "Headers": sent_headers,
                "Params": {"id": "42"},
                "Identities": [IDENTITY],
                "Body": body,
            }
        },
        "Metadata": {
            "name": "Ada",
            "n": 1,
            "Query": {"name": "Ada", "tag": "a,b"},
            "Headers": {name: ",".join(values) for name, values in sent_headers.items()},
            "id": "42",
            "sys": {"MethodName": "Echo", "UtcNow": sys_values["UtcNow"], "RandGuid": sys_values["RandGuid"]},
        },
    }
    assert sent == expected
    # Compact JSON, keys in the host's order.
    assert raw == json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode()
    request = received(log)[-1]
    assert (request["method"], request["url"]) == ("POST", "/Echo")
    names = [name for name, _ in headers_of(request["headers"])]
    assert names == [
        "Host",
        "X-Azure-Functions-HostVersion",
        "X-Azure-Functions-InvocationId",
        "User-Agent",
        "Content-Type",
        "Content-Length",
    ]
    sent_host_headers = dict(headers_of(request["headers"]))
    assert sent_host_headers["Content-Type"] == "application/json; charset=utf-8"
    assert sent_host_headers["User-Agent"].startswith("Azure-Functions-Host/4.")
    assert request["body"].encode() == raw


def test_optional_route_value_is_null_in_data_and_absent_in_metadata(
    payload_app: tuple[RunningEmu, Path],
) -> None:
    emu, _ = payload_app
    sent = httpx.get(emu.urls["azure"] + "/api/echo").json()
    assert sent["Data"]["req"]["Params"] == {"id": None}
    assert "Body" not in sent["Data"]["req"]
    assert "id" not in sent["Metadata"]


def test_return_value_as_http_response(payload_app: tuple[RunningEmu, Path]) -> None:
    emu, _ = payload_app
    reply = httpx.post(
        emu.urls["azure"] + "/api/Report", content="report body", headers={"Content-Type": "text/plain"}
    )
    assert reply.status_code == 201
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"received": "report body"}


def test_timer_through_the_admin_api_gets_timer_data(payload_app: tuple[RunningEmu, Path]) -> None:
    emu, log = payload_app
    reply = httpx.post(emu.urls["azure"] + "/admin/functions/Tick", json={"input": ""})
    assert reply.status_code == 202
    assert reply.content == b""
    request = wait_for(lambda: [r for r in received(log) if r["url"] == "/Tick"], what="the Tick call")[-1]  # type: ignore[index]
    sent = json.loads(request["body"])
    timer = sent["Data"]["myTimer"]
    assert timer["Schedule"] == {"AdjustForDST": True}
    assert set(timer["ScheduleStatus"]) == {"Last", "Next", "LastUpdated"}
    assert timer["IsPastDue"] is False
    assert set(sent["Metadata"]) == {"sys"}
    assert sent["Metadata"]["sys"]["MethodName"] == "Tick"
    wait_for(lambda: re.search(r"azure Tick success", emu.console()), what="the Tick line on the console")


def test_forwarding_mode_passes_the_request_through(tmp_path: Path) -> None:
    emu, _ = start_handler_app(tmp_path, forwarding=True)
    try:
        base = emu.urls["azure"]
        reply = httpx.post(
            f"{base}/api/echo/7?x=1",
            content=b"hi there",
            headers={"Content-Type": "text/plain", "X-Custom": "v"},
        )
        assert reply.status_code == 200
        assert reply.headers["x-handler"] == "node"
        forwarded = reply.json()["forwarded"]
        assert forwarded["method"] == "POST"
        assert forwarded["url"] == "/api/echo/7?x=1"  # the full original path, not the function name
        assert forwarded["body"] == "hi there"
        headers = dict(headers_of(forwarded["headers"]))
        assert headers["Host"] == base.removeprefix("http://")
        assert headers["X-Custom"] == "v"
        assert headers["Content-Type"] == "text/plain"
        assert headers["Content-Length"] == "8"
        assert headers["User-Agent"].startswith("Azure-Functions-Host/4.")
        assert re.fullmatch(r"[0-9a-f-]{36}", headers["X-Azure-Functions-InvocationId"])
        # Forwarding covers every function with one httpTrigger in and one http out, `$return` too.
        report = httpx.post(f"{base}/api/Report", content=b"x")
        assert report.json()["forwarded"]["url"] == "/api/Report"
    finally:
        emu.stop()


def test_handler_failure_is_a_500(tmp_path: Path) -> None:
    project = tmp_path / "project"
    app = copy_sample("custom-handler", project)
    (app / "handler.js").write_text(
        "require('http').createServer((q, s) => { s.writeHead(q.url === '/' ? 200 : 500); s.end('no'); })"
        ".listen(Number(process.env.FUNCTIONS_CUSTOMHANDLER_PORT), '127.0.0.1');\n"
    )
    emu = start_emu(project, tmp_path / "state", "--no-reload")
    try:
        reply = httpx.get(emu.urls["azure"] + "/api/echo")
        assert (reply.status_code, reply.content) == (500, b"")
    finally:
        emu.stop()


def test_a_handler_that_exits_is_started_again(tmp_path: Path) -> None:
    project = tmp_path / "project"
    app = copy_sample("custom-handler", project)
    (app / "handler.js").write_text(
        "require('http').createServer((q, s) => {\n"
        "  if (q.url === '/Report') process.exit(3);\n"
        "  s.writeHead(200, {'Content-Type': 'application/json'});\n"
        "  s.end(JSON.stringify({Outputs: {res: {statusCode: 200, body: String(process.pid)}}}));\n"
        "}).listen(Number(process.env.FUNCTIONS_CUSTOMHANDLER_PORT), '127.0.0.1');\n"
    )
    emu = start_emu(project, tmp_path / "state", "--no-reload")
    try:
        base = emu.urls["azure"]
        first = httpx.get(base + "/api/echo").text
        assert httpx.post(base + "/api/Report").status_code == 500
        after = httpx.get(base + "/api/echo")
        assert after.status_code == 200
        assert after.text != first
    finally:
        emu.stop()
