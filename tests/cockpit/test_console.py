"""What `emu up` prints: invocation lines with the function's output, and `--log-format json`."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import httpx
import pytest

from emulator.cockpit import scaffold
from emulator.cockpit.records import matches, normalise, output_lines
from emulator.console import JsonLogFormatter
from tests.cockpit.conftest import run_cli
from tests.conftest import RunningEmu


def wait_for(emu: RunningEmu, pattern: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while not re.search(pattern, emu.console(), re.M):
        assert time.monotonic() < deadline, emu.console()
        time.sleep(0.02)
    return emu.console()


def test_the_function_output_follows_its_invocation_line_prefixed_with_its_name(
    cockpit_emu: RunningEmu,
) -> None:
    assert run_cli(cockpit_emu, "invoke", "greet", "--data", '{"name": "Ada"}').exit_code == 0
    console = wait_for(cockpit_emu, r"^  greet \| greet: greeting Ada$")
    lines = console.splitlines()
    at = lines.index("  greet | greet: greeting Ada")
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d openwhisk /guest/greet success \d+ ms (cold|warm)( \(init \d+ ms\))?", lines[at - 1]
    )
    # Not a terminal: no colour codes.
    assert "\x1b[" not in console


def test_log_format_json_prints_one_object_per_line(tmp_path: Path, emu_factory: object) -> None:
    project = tmp_path / "project"
    scaffold.create("openwhisk", "greet", "python", project)
    scaffold.create("lambda", "broken", "python", project)
    (project / "broken" / "template.yaml").write_text("Resources: [not, a, mapping]\n")
    emu = emu_factory(project, "--log-format", "json")  # type: ignore[operator]
    assert run_cli(emu, "invoke", "greet", "--data", '{"name": "Ada"}').exit_code == 0
    wait_for(emu, r'"kind": "invocation"')
    emu.stop()
    records = [json.loads(line) for line in emu.console().splitlines() if line.strip()]
    kinds = [record["kind"] for record in records]
    assert kinds[:1] == ["warning"] and "broken" in records[0]["message"]
    assert {"functions", "ready", "invocation", "stopping"} <= set(kinds)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", record["time"]) for record in records)
    ready = next(record for record in records if record["kind"] == "ready")
    assert ready["urls"]["admin"] == emu.urls["admin"]
    functions = next(record for record in records if record["kind"] == "functions")["functions"]
    assert [item["name"] for item in functions] == ["/guest/greet"]
    call = next(record for record in records if record["kind"] == "invocation")
    assert call["provider"] == "openwhisk" and call["function"] == "/guest/greet"
    assert call["status"] == "success" and call["cold"] is True
    assert call["request"] == {"name": "Ada"} and call["response"] == {"greeting": "Hello, Ada!"}
    assert any(line.endswith("stdout: greet: greeting Ada") for line in call["logs"])


def test_records_of_each_cloud_read_alike() -> None:
    openwhisk = {
        "activationId": "a1",
        "namespace": "guest",
        "name": "hello",
        "start": 1000,
        "end": 1012,
        "duration": 12,
        "response": {"status": "success", "success": True, "result": {"ok": 1}},
        "logs": ["2026-01-01T00:00:00.000000Z  stdout: hi"],
        "annotations": [{"key": "path", "value": "guest/demo/hello"}, {"key": "initTime", "value": 9}],
    }
    assert normalise("openwhisk", openwhisk) == {
        "provider": "openwhisk",
        "function": "/guest/demo/hello",
        "id": "a1",
        "status": "success",
        "start": 1000,
        "duration": 12,
        "cold": True,
        "waitTime": None,
        "initTime": 9,
        "request": None,
        "response": {"ok": 1},
        "logs": openwhisk["logs"],
    }
    lambda_log = "START RequestId: r1 Version: $LATEST\nhi\nEND RequestId: r1\nREPORT RequestId: r1\tInit Duration: 7.20 ms\t\n"
    record = {
        "requestId": "r1",
        "functionName": "Fn",
        "start": 5,
        "end": 9,
        "functionError": "Unhandled",
        "log": lambda_log,
    }
    read = normalise("lambda", record)
    assert (read["function"], read["status"], read["duration"], read["cold"], read["initTime"]) == (
        "Fn",
        "error",
        4,
        True,
        7,
    )
    assert output_lines(read["logs"]) == [("stdout", "hi")]
    node = "2026-01-01T00:00:00.000Z\t" + "0" * 8 + "-0000-0000-0000-" + "0" * 12 + "\tERROR\toops"
    assert output_lines([node, openwhisk["logs"][0]]) == [("stderr", "oops"), ("stdout", "hi")]


def test_azure_and_google_records_read_alike() -> None:
    azure = {
        "invocationId": "i1",
        "functionName": "HttpExample",
        "app": "app",
        "trigger": "httpTrigger",
        "start": 100,
        "end": 130,
        "duration": 30,
        "status": "failed",
        "httpStatus": None,
        "cold": True,
        "waitTime": 2,
        "initTime": 20,
        "request": {"method": "POST", "path": "/api/HttpExample", "body": {"a": 1}},
        "response": None,
        "logs": ["starting", "Executed 'Functions.HttpExample' (Failed, Id=i1): boom"],
    }
    read = normalise("azure", azure)
    assert (read["provider"], read["function"], read["id"], read["status"]) == (
        "azure",
        "HttpExample",
        "i1",
        "failed",
    )
    assert (read["duration"], read["cold"], read["waitTime"], read["initTime"]) == (30, True, 2, 20)
    assert read["request"]["body"] == {"a": 1} and read["response"] is None
    assert output_lines(read["logs"])[0] == ("stdout", "starting")
    # A record written before requests and responses were kept.
    older = normalise(
        "azure", {"invocationId": "i0", "functionName": "F", "status": "success", "httpStatus": 201}
    )
    assert older["response"] == {"status": 201} and older["cold"] is False
    service = {
        "id": "r1",
        "provider": "cloudrun",
        "name": "hello-run",
        "status": 503,
        "outcome": "unavailable",
        "start": 5,
        "duration": 7,
        "cold": True,
        "waitTime": 1,
        "request": {"method": "GET", "path": "/"},
        "response": {"status": 503, "headers": {}},
        "error": "service 'hello-run' exited with status 1",
        "logs": ["2026-01-01T00:00:00.000000Z stderr: Traceback"],
    }
    read = normalise("gcp", service)
    assert (read["provider"], read["function"], read["status"], read["duration"]) == (
        "cloudrun",
        "hello-run",
        "unavailable",
        7,
    )
    assert read["response"]["error"] == "service 'hello-run' exited with status 1"
    assert output_lines(read["logs"]) == [("stderr", "Traceback")]
    function = normalise("gcp", {"id": "r2", "name": "hello_http", "status": 200, "outcome": "success"})
    assert (function["provider"], function["response"]) == ("gcp", {"status": 200})


def test_names_match_as_people_type_them() -> None:
    item = {"provider": "openwhisk", "function": "/guest/demo/hello"}
    for query in (
        "/guest/demo/hello",
        "guest/demo/hello",
        "demo/hello",
        "hello",
        "openwhisk/guest/demo/hello",
        None,
    ):
        assert matches(query, item), query
    for query in ("ello", "demo", "lambda/guest/demo/hello"):
        assert not matches(query, item), query


def test_python_log_records_become_json_lines_too() -> None:
    record = logging.LogRecord(
        "emu.gateway", logging.WARNING, __file__, 1, "listening on %s", ("0.0.0.0",), None
    )
    line = json.loads(JsonLogFormatter().format(record))
    assert line == {
        "time": line["time"],
        "kind": "log",
        "level": "warning",
        "logger": "emu.gateway",
        "message": "listening on 0.0.0.0",
    }


def test_a_dependency_install_shows_progress_events_on_the_first_call(
    tmp_path: Path, emu_factory: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMU_DEPS_CACHE", str(tmp_path / "fresh-cache"))  # not the session's warm one
    project = tmp_path / "project"
    scaffold.create("lambda", "table", "python", project)
    code = project / "table" / "table"
    (code / "requirements.txt").write_text("tabulate==0.9.0\n")
    (code / "app.py").write_text(
        "from tabulate import tabulate\n\ndef lambda_handler(event, context):\n    return tabulate([[1, 2]])\n"
    )
    emu = emu_factory(project, "--log-format", "json", "--no-reload")  # type: ignore[operator]
    reply = httpx.post(
        f"{emu.urls['lambda']}/2015-03-31/functions/TableFunction/invocations", json={}, timeout=120
    )
    assert reply.status_code == 200 and reply.json() == "-  -\n1  2\n-  -", reply.text
    wait_for(emu, r'"kind": "invocation"')
    records = [json.loads(line) for line in emu.console().splitlines() if line.strip()]
    progress = [record for record in records if record["kind"] == "progress"]
    label = f"Installing dependencies from {code / 'requirements.txt'}"
    assert {record["task"] for record in progress} == {label}
    phases = [record["phase"] for record in progress]
    assert phases[0] == "start" and phases[-1] == "end" and "update" in phases
    update = next(record for record in progress if record["phase"] == "update")
    assert update["current"] == 1 and update["detail"] == "tabulate==0.9.0" and update["total"] is None
    assert progress[-1]["ok"] is True and progress[-1]["elapsed_ms"] > 0
    kinds = [record["kind"] for record in records]
    assert kinds.index("progress") < kinds.index("invocation")  # installed before the cold start ran
