"""Invocations and activation records over HTTP: blocking, non-blocking, logs, listing, runtimes."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from tests.conftest import (
    GUEST_KEY,
    RunningEmu,
    annotations,
    invoke,
    needs_node,
    poll_activation,
    put_action,
    put_package,
    zip_code,
)

ACTIVATIONS = "/api/v1/namespaces/_/activations"
ACTIVATION_ID = re.compile(r"\A[0-9a-f]{32}\Z")
LOG_LINE = re.compile(r"\A(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) *\Z")
GREET = """
def main(args):
    print("hello from", args.get("name", "nobody"))
    print("second line")
    return {"greeting": "Hello, " + args.get("name", "World") + "!"}
"""


def log_texts(lines: list[str]) -> list[str]:
    """`<timestamp padded to 30> stdout: text` -> `stdout: text`, checking the padding."""
    texts = []
    for line in lines:
        assert LOG_LINE.match(line[:30]), line
        assert line[30] == " ", line
        texts.append(line[31:])
    return texts


@pytest.fixture(scope="module")
def greet(ow: httpx.Client) -> str:
    put_action(ow, "greet", GREET)
    return "greet"


def test_blocking_invoke_returns_the_activation(ow: httpx.Client, greet: str) -> None:
    reply = invoke(ow, greet, {"name": "Ann"})
    assert reply.status_code == 200, reply.text
    record = reply.json()
    assert reply.headers["x-openwhisk-activation-id"] == record["activationId"]
    assert ACTIVATION_ID.match(record["activationId"])
    assert record["namespace"] == "guest"
    assert record["name"] == "greet"
    assert record["subject"] == "guest"
    assert record["version"] == "0.0.1"
    assert record["publish"] is False
    assert record["response"] == {
        "status": "success",
        "success": True,
        "result": {"greeting": "Hello, Ann!"},
        "size": record["response"]["size"],
    }
    assert record["logs"] == []  # logs are collected after the answer, in OpenWhisk
    assert record["end"] >= record["start"]
    assert record["duration"] == record["end"] - record["start"]
    notes = annotations(record)
    assert notes["path"] == "guest/greet"
    assert notes["kind"] == "python:3.11"
    assert notes["limits"] == {"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1}
    assert notes["timeout"] is False
    assert isinstance(notes["waitTime"], int)


def test_init_time_only_on_a_cold_start(ow: httpx.Client) -> None:
    put_action(ow, "cold-warm", "def main(args):\n    return {}\n")
    cold = invoke(ow, "cold-warm").json()
    warm = invoke(ow, "cold-warm").json()
    assert isinstance(annotations(cold)["initTime"], int)
    assert "initTime" not in annotations(warm)
    assert "waitTime" in annotations(cold)
    assert "waitTime" in annotations(warm)


def test_blocking_invoke_with_result_returns_only_the_result(ow: httpx.Client, greet: str) -> None:
    reply = invoke(ow, greet, {"name": "Bo"}, "blocking=true&result=true")
    assert reply.status_code == 200
    assert reply.json() == {"greeting": "Hello, Bo!"}
    assert ACTIVATION_ID.match(reply.headers["x-openwhisk-activation-id"])


def test_non_blocking_invoke_is_accepted_and_runs(ow: httpx.Client, greet: str) -> None:
    reply = invoke(ow, greet, {"name": "Cy"}, query="")
    assert reply.status_code == 202
    activation_id = reply.json()["activationId"]
    assert reply.json() == {"activationId": activation_id}
    assert reply.headers["x-openwhisk-activation-id"] == activation_id
    record = poll_activation(ow, activation_id)
    assert record["response"]["result"] == {"greeting": "Hello, Cy!"}
    assert log_texts(record["logs"]) == ["stdout: hello from Cy", "stdout: second line"]


def test_activation_get_result_and_logs(ow: httpx.Client, greet: str) -> None:
    activation_id = invoke(ow, greet, {"name": "Di"}).json()["activationId"]
    record = ow.get(f"{ACTIVATIONS}/{activation_id}").json()
    assert "statusCode" not in record["response"]
    assert log_texts(record["logs"]) == ["stdout: hello from Di", "stdout: second line"]
    result = ow.get(f"{ACTIVATIONS}/{activation_id}/result").json()
    assert result == {
        "result": {"greeting": "Hello, Di!"},
        "size": result["size"],
        "status": "success",
        "success": True,
    }
    assert ow.get(f"{ACTIVATIONS}/{activation_id}/logs").json() == {"logs": record["logs"]}


def test_unknown_and_malformed_activation_ids(ow: httpx.Client) -> None:
    reply = ow.get(f"{ACTIVATIONS}/{'0' * 32}")
    assert reply.status_code == 404
    assert reply.json()["error"] == "The requested resource does not exist."
    reply = ow.get(f"{ACTIVATIONS}/not-an-id")
    assert reply.status_code == 400
    assert reply.json()["error"] == "The activation id is not valid."


def test_activation_list_summaries_docs_name_and_count(ow: httpx.Client) -> None:
    put_action(ow, "listed", "def main(args):\n    return {'n': args.get('n')}\n")
    ids = [invoke(ow, "listed", {"n": n}).json()["activationId"] for n in range(3)]
    summaries = ow.get(f"{ACTIVATIONS}?name=listed").json()
    assert [item["activationId"] for item in summaries] == ids[::-1]  # newest first
    item = summaries[0]
    assert item["statusCode"] == 0
    assert "response" not in item and "logs" not in item
    assert {"namespace", "name", "version", "annotations", "start", "end", "duration"} <= set(item)
    docs = ow.get(f"{ACTIVATIONS}?name=listed&docs=true&limit=2").json()
    assert [record["response"]["result"] for record in docs] == [{"n": 2}, {"n": 1}]
    assert ow.get(f"{ACTIVATIONS}?name=listed&count=true").json() == {"activations": 3}
    assert ow.get(f"{ACTIVATIONS}?name=listed&skip=2").json()[0]["activationId"] == ids[0]
    reply = ow.get(f"{ACTIVATIONS}?count=true&docs=true")
    assert reply.status_code == 400
    first_start = summaries[-1]["start"]
    assert len(ow.get(f"{ACTIVATIONS}?name=listed&since={first_start}").json()) == 3
    assert ow.get(f"{ACTIVATIONS}?name=listed&upto={first_start - 1}").json() == []


def test_default_and_package_parameters_are_merged(ow: httpx.Client) -> None:
    put_package(ow, "params", parameters=[{"key": "a", "value": "pkg"}, {"key": "b", "value": "pkg"}])
    put_action(
        ow,
        "params/show",
        "def main(args):\n    return args\n",
        parameters=[{"key": "b", "value": "action"}, {"key": "c", "value": "action"}],
    )
    result = invoke(ow, "params/show", {"c": "call", "d": "call"}, "blocking=true&result=true").json()
    assert result == {"a": "pkg", "b": "action", "c": "call", "d": "call"}


def test_init_parameters_reach_the_environment_not_the_arguments(ow: httpx.Client) -> None:
    code = "import os\ndef main(args):\n    return {'env': os.environ.get('SECRET'), 'args': sorted(args)}\n"
    put_action(
        ow,
        "init-env",
        code,
        parameters=[{"key": "SECRET", "value": "s3cr3t", "init": True}, {"key": "plain", "value": 1}],
    )
    result = invoke(ow, "init-env", {}, "blocking=true&result=true").json()
    assert result == {"env": "s3cr3t", "args": ["plain"]}


CONTEXT = """
import os
def main(args):
    return {k[5:]: os.environ.get(k) for k in os.environ if k.startswith("__OW_")}
"""


def test_activation_context_in_the_environment(empty_emu: RunningEmu, ow: httpx.Client) -> None:
    put_action(ow, "context", CONTEXT)
    first = invoke(ow, "context", {}, "blocking=true&result=true")
    second = invoke(ow, "context", {}, "blocking=true&result=true")
    for reply in (first, second):  # a warm instance gets the new activation's values
        env = reply.json()
        assert env["NAMESPACE"] == "guest"
        assert env["ACTION_NAME"] == "/guest/context"
        assert env["ACTION_VERSION"] == "0.0.1"
        assert env["ACTIVATION_ID"] == reply.headers["x-openwhisk-activation-id"]
        assert env["API_HOST"] == empty_emu.urls["openwhisk"]
        assert int(env["DEADLINE"]) > time.time() * 1000
        assert len(env["TRANSACTION_ID"]) == 32
        assert "API_KEY" not in env  # provide-api-key is false on new actions
    assert first.json()["ACTIVATION_ID"] != second.json()["ACTIVATION_ID"]


def test_provide_api_key_passes_the_key(ow: httpx.Client) -> None:
    put_action(ow, "keyed", CONTEXT, annotations=[{"key": "provide-api-key", "value": True}])
    assert invoke(ow, "keyed", {}, "blocking=true&result=true").json()["API_KEY"] == GUEST_KEY


def test_python_zip_action(ow: httpx.Client) -> None:
    code = zip_code(
        {
            "__main__.py": "from helper import shout\ndef main(args):\n    return {'said': shout(args['word'])}\n",
            "helper.py": "def shout(word):\n    return word.upper() + '!'\n",
        }
    )
    put_action(ow, "py-zip", code)
    reply = invoke(ow, "py-zip", {"word": "zip"}, "blocking=true&result=true")
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"said": "ZIP!"}


@needs_node
def test_node_action_with_logs_and_params(ow: httpx.Client) -> None:
    code = (
        "function main(params) {\n"
        "  console.log('node says', params.name);\n"
        "  return {greeting: 'Hello, ' + params.name + '!', secret: process.env.TOKEN};\n"
        "}\n"
    )
    put_action(
        ow,
        "node-greet",
        code,
        kind="nodejs:20",
        parameters=[{"key": "name", "value": "World"}, {"key": "TOKEN", "value": "t", "init": True}],
    )
    record = invoke(ow, "node-greet", {}).json()
    assert record["response"]["result"] == {"greeting": "Hello, World!", "secret": "t"}
    assert annotations(record)["kind"] == "nodejs:20"
    assert "initTime" in annotations(record)
    logs = ow.get(f"/api/v1/namespaces/_/activations/{record['activationId']}/logs").json()["logs"]
    assert log_texts(logs) == ["stdout: node says World"]


@needs_node
def test_node_async_action(ow: httpx.Client) -> None:
    code = "async function main(p) { await new Promise(r => setTimeout(r, 10)); return {n: p.n * 2}; }"
    put_action(ow, "node-async", code, kind="nodejs:20")
    assert invoke(ow, "node-async", {"n": 21}, "blocking=true&result=true").json() == {"n": 42}


@needs_node
def test_node_zip_action(ow: httpx.Client) -> None:
    code = zip_code(
        {
            "package.json": '{"name": "zipped", "main": "lib/entry.js"}',
            "lib/entry.js": "const {twice} = require('./twice');\nexports.main = (p) => ({out: twice(p.n)});\n",
            "lib/twice.js": "exports.twice = (n) => n * 2;\n",
        }
    )
    action = put_action(ow, "node-zip", code, kind="nodejs:20")
    assert action["exec"]["binary"] is True
    reply = invoke(ow, "node-zip", {"n": 4}, "blocking=true&result=true")
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"out": 8}


def test_array_result_is_returned_as_is(ow: httpx.Client) -> None:
    put_action(ow, "array", "def main(args):\n    return [1, 2, 3]\n")
    reply = invoke(ow, "array", {})
    assert reply.status_code == 200
    assert reply.json() == [1, 2, 3]


def test_update_runs_the_new_code(ow: httpx.Client) -> None:
    put_action(ow, "changing", "def main(args):\n    return {'v': 1}\n")
    assert invoke(ow, "changing", {}, "blocking=true&result=true").json() == {"v": 1}
    put_action(ow, "changing", "def main(args):\n    return {'v': 2}\n")
    record = invoke(ow, "changing", {}).json()
    assert record["response"]["result"] == {"v": 2}
    assert record["version"] == "0.0.2"
    assert "initTime" in annotations(record)  # the old instance is not reused


def test_parameters_reach_the_action_as_the_client_wrote_them(ow: httpx.Client) -> None:
    put_action(ow, "echo-args", "def main(args):\n    return {'args': args}\n")
    # With nothing to merge they go on as their own bytes: escapes, number forms and size survive.
    written = (
        b'{"text": "caf\\u00e9 \\ud83d\\ude00", "big": 12345678901234567890, "x": 1.5e3, "blob": "'
        + b"x" * 500_000
        + b'"}'
    )
    reply = ow.post(
        "/api/v1/namespaces/_/actions/echo-args?blocking=true&result=true",
        content=written,
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 200, reply.text[:300]
    assert reply.json() == {"args": json.loads(written)}
    # With defaults to merge, the merged object is what the action gets.
    put_action(
        ow, "echo-args", "def main(args):\n    return {'args': args}\n", parameters=[{"key": "d", "value": 1}]
    )
    merged = invoke(ow, "echo-args", {"text": "caf\u00e9"}, "blocking=true&result=true")
    assert merged.json() == {"args": {"d": 1, "text": "caf\u00e9"}}
