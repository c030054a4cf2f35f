"""Bad input and failing actions over HTTP: OpenWhisk's status codes and `{error, code}` bodies."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import (
    RunningEmu,
    annotations,
    assert_error,
    invoke,
    needs_node,
    poll_activation,
    put_action,
)

ACTIONS = "/api/v1/namespaces/_/actions"
NOT_FOUND = "The requested resource does not exist."
CHALLENGE = 'Basic realm="OpenWhisk secure realm"'
WRONG_KEY = ("23bc46b1-71f6-4ed5-8c54-816aa4f8c502", "x" * 64)
SYSTEM_KEY = (
    "789c46b1-71f6-4ed5-8c54-816aa4f8c502",
    "abczO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP",
)


@pytest.fixture(scope="module")
def anonymous(empty_emu: RunningEmu) -> httpx.Client:
    with httpx.Client(base_url=empty_emu.urls["openwhisk"], timeout=30) as client:
        yield client


# -- authentication and authorisation ----------------------------------------------------------


def test_no_key_is_401_with_the_challenge(anonymous: httpx.Client) -> None:
    reply = anonymous.get(ACTIONS)
    assert_error(reply, 401, "The resource requires authentication, which was not supplied with the request")
    assert reply.headers["www-authenticate"] == CHALLENGE


def test_wrong_key_is_401_with_the_challenge(anonymous: httpx.Client) -> None:
    reply = anonymous.get(ACTIONS, auth=WRONG_KEY)
    assert_error(reply, 401, "The supplied authentication is invalid")
    assert reply.headers["www-authenticate"] == CHALLENGE
    reply = anonymous.post(f"{ACTIONS}/x?blocking=true", auth=WRONG_KEY, json={})
    assert reply.status_code == 401


def test_another_namespace_is_403(ow: httpx.Client, anonymous: httpx.Client) -> None:
    message = "The supplied authentication is not authorized to access this resource."
    assert_error(ow.get("/api/v1/namespaces/whisk.system/actions"), 403, message)
    assert_error(ow.get("/api/v1/namespaces/someone/actions/x"), 403, message)
    assert_error(anonymous.get("/api/v1/namespaces/guest/actions", auth=SYSTEM_KEY), 403, message)


def test_each_key_sees_its_own_namespace(ow: httpx.Client, anonymous: httpx.Client) -> None:
    assert ow.get("/api/v1/namespaces").json() == ["guest"]
    assert anonymous.get("/api/v1/namespaces", auth=SYSTEM_KEY).json() == ["whisk.system"]
    put_action(ow, "mine", "def main(a):\n    return {}\n")
    reply = anonymous.get("/api/v1/namespaces/_/actions/mine", auth=SYSTEM_KEY)
    assert_error(reply, 404, NOT_FOUND)


def test_info_endpoints_need_no_key(anonymous: httpx.Client) -> None:
    assert anonymous.get("/api/v1").json()["api_version"] == "1.0.0"
    info = anonymous.get("/").json()
    assert info["api_paths"] == ["/api/v1"]
    assert any(kind["default"] for kind in info["runtimes"]["nodejs"])
    assert anonymous.get("/ping").status_code == 200


# -- bad requests ------------------------------------------------------------------------------


def test_unknown_action_is_404(ow: httpx.Client) -> None:
    assert_error(ow.get(f"{ACTIONS}/nope"), 404, NOT_FOUND)
    assert_error(invoke(ow, "nope"), 404, NOT_FOUND)
    assert_error(ow.post(f"{ACTIONS}/nope"), 404, NOT_FOUND)  # non-blocking too
    assert_error(ow.get(f"{ACTIONS}/nopkg/nope"), 404, NOT_FOUND)


def test_malformed_json_is_400(ow: httpx.Client) -> None:
    headers = {"content-type": "application/json"}
    reply = ow.put(f"{ACTIONS}/bad-json", content=b'{"exec": ', headers=headers)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith("The request content was malformed:")
    put_action(ow, "takes-json", "def main(a):\n    return a\n")
    reply = ow.post(f"{ACTIONS}/takes-json?blocking=true", content=b"{not json", headers=headers)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith("The request content was malformed:")


def test_unknown_kind_is_400(ow: httpx.Client) -> None:
    reply = ow.put(f"{ACTIONS}/bad-kind", json={"exec": {"kind": "cobol:85", "code": "x"}})
    assert reply.status_code == 400
    assert "The specified runtime 'cobol:85' is not supported by this platform." in reply.json()["error"]


def test_bad_invoke_timeout_is_400(ow: httpx.Client) -> None:
    put_action(ow, "timeout-param", "def main(a):\n    return a\n")
    for value in ("0", "60001"):
        reply = invoke(ow, "timeout-param", {}, f"blocking=true&timeout={value}")
        assert_error(reply, 400, "Timeout must be number of milliseconds up to 60000.")


def test_body_over_one_megabyte_is_413(ow: httpx.Client) -> None:
    put_action(ow, "big-body", "def main(a):\n    return {}\n")
    payload = {"data": "x" * (1024 * 1024)}
    reply = invoke(ow, "big-body", payload)
    assert reply.status_code == 413
    assert re.match(r"\ARequest larger than allowed: \d+ > 1048576 bytes\.\Z", reply.json()["error"])


def test_final_parameters_cannot_be_overridden(ow: httpx.Client) -> None:
    put_action(
        ow,
        "final",
        "def main(a):\n    return a\n",
        parameters=[{"key": "fixed", "value": 1}],
        annotations=[{"key": "final", "value": True}],
    )
    reply = invoke(ow, "final", {"fixed": 2})
    assert_error(reply, 400, "Request defines parameters that are not allowed (e.g., reserved properties).")
    assert invoke(ow, "final", {"other": 2}, "blocking=true&result=true").json() == {"fixed": 1, "other": 2}


def test_final_parameters_are_refused_before_a_non_blocking_call_is_accepted(ow: httpx.Client) -> None:
    put_action(
        ow,
        "final-async",
        "def main(a):\n    return a\n",
        parameters=[{"key": "fixed", "value": 1}],
        annotations=[{"key": "final", "value": True}],
    )
    reply = invoke(ow, "final-async", {"fixed": 2}, query="")
    assert_error(reply, 400, "Request defines parameters that are not allowed (e.g., reserved properties).")
    assert ow.get("/api/v1/namespaces/_/activations?name=final-async").json() == []
    reply = invoke(ow, "final-async", {"other": 2}, query="")
    assert reply.status_code == 202
    record = poll_activation(ow, reply.json()["activationId"])
    assert record["response"]["result"] == {"fixed": 1, "other": 2}


@pytest.mark.parametrize(
    "query",
    [
        "since=99999999999999999999",
        "upto=-99999999999999999999",
        "skip=99999999999999999999",
        "limit=99999999999999999999",
        "since=9223372036854775808",
    ],
)
def test_query_integers_out_of_64_bits_are_400(ow: httpx.Client, query: str) -> None:
    name = query.split("=")[0]
    reply = ow.get(f"/api/v1/namespaces/_/activations?{query}")
    assert_error(
        reply, 400, f"The request content was malformed:\nthe '{name}' parameter must be a 64-bit integer"
    )


def test_query_integers_at_the_edges(ow: httpx.Client) -> None:
    largest = 2**63 - 1
    assert ow.get(f"/api/v1/namespaces/_/activations?since={largest}").json() == []
    assert ow.get(f"/api/v1/namespaces/_/activations?upto={-largest - 1}").json() == []
    reply = ow.get(f"{ACTIONS}?skip={largest}")
    assert_error(reply, 400, f"The value '{largest}' is not in the range of 0 to 2147483647 for actions.")
    assert ow.get(f"{ACTIONS}?skip=2147483647").json() == []


# -- failing actions ---------------------------------------------------------------------------


def test_code_that_does_not_parse_is_a_developer_error(ow: httpx.Client) -> None:
    put_action(ow, "syntax", "def main(args:\n    return {}\n")
    reply = invoke(ow, "syntax")
    assert reply.status_code == 502
    record = reply.json()
    assert record["response"]["status"] == "action developer error"
    assert record["response"]["success"] is False
    assert isinstance(record["response"]["result"]["error"], str)
    result = invoke(ow, "syntax", {}, "blocking=true&result=true")
    assert result.status_code == 502
    assert set(result.json()) == {"error"}
    logs = poll_activation(ow, record["activationId"])["logs"]
    assert any("SyntaxError" in line for line in logs), logs


def test_an_exception_is_an_application_error(ow: httpx.Client) -> None:
    put_action(ow, "raises", "def main(args):\n    raise ValueError('boom')\n")
    reply = invoke(ow, "raises")
    assert reply.status_code == 502
    response = reply.json()["response"]
    assert response["status"] == "application error"
    assert response["result"] == {"error": "boom"}
    result = invoke(ow, "raises", {}, "blocking=true&result=true")
    assert result.status_code == 502
    assert result.json() == {"error": "boom"}
    # Still the same instance: an application error does not cost a cold start.
    assert "initTime" not in annotations(invoke(ow, "raises").json())


def test_a_returned_error_is_an_application_error(ow: httpx.Client) -> None:
    put_action(ow, "returns-error", "def main(args):\n    return {'error': {'why': 'no'}}\n")
    reply = invoke(ow, "returns-error", {}, "blocking=true&result=true")
    assert reply.status_code == 502
    assert reply.json() == {"error": {"why": "no"}}


def test_a_non_dict_result_is_a_developer_error(ow: httpx.Client) -> None:
    put_action(ow, "returns-str", "def main(args):\n    return 'text'\n")
    reply = invoke(ow, "returns-str")
    assert reply.status_code == 502
    assert reply.json()["response"]["status"] == "action developer error"
    assert reply.json()["response"]["result"] == {"error": "The action did not return a dictionary or array."}


EXIT_ONCE = """
import os
def main(args):
    if args.get("exit"):
        os._exit(1)
    return {"alive": True}
"""


def test_a_python_action_that_exits_then_the_next_call_works(ow: httpx.Client) -> None:
    put_action(ow, "py-exit", EXIT_ONCE)
    assert invoke(ow, "py-exit", {}).status_code == 200
    reply = invoke(ow, "py-exit", {"exit": True})
    assert reply.status_code == 502
    response = reply.json()["response"]
    assert response["status"] == "action developer error"
    assert response["result"] == {
        "error": "The action did not produce a valid response and exited unexpectedly."
    }
    again = invoke(ow, "py-exit", {})
    assert again.status_code == 200
    assert again.json()["response"]["result"] == {"alive": True}
    assert "initTime" in annotations(again.json())  # a new instance


@needs_node
def test_a_node_action_that_exits_then_the_next_call_works(ow: httpx.Client) -> None:
    code = "function main(p) { if (p.exit) { process.exit(1) } return {alive: true} }"
    put_action(ow, "node-exit", code, kind="nodejs:20")
    reply = invoke(ow, "node-exit", {"exit": True})
    assert reply.status_code == 502
    assert reply.json()["response"]["status"] == "action developer error"
    assert reply.json()["response"]["result"] == {
        "error": "The action did not produce a valid response and exited unexpectedly."
    }
    assert invoke(ow, "node-exit", {}, "blocking=true&result=true").json() == {"alive": True}


@needs_node
def test_a_node_exception_is_a_developer_error(ow: httpx.Client) -> None:
    put_action(ow, "node-throws", "function main() { throw new Error('kaput') }", kind="nodejs:20")
    reply = invoke(ow, "node-throws")
    assert reply.status_code == 502
    response = reply.json()["response"]
    assert response["status"] == "action developer error"
    assert response["result"] == {"error": "An error has occurred: Error: kaput"}


@needs_node
def test_a_node_rejection_is_an_application_error(ow: httpx.Client) -> None:
    put_action(
        ow, "node-rejects", "function main() { return Promise.reject({reason: 'no'}) }", kind="nodejs:20"
    )
    reply = invoke(ow, "node-rejects", {}, "blocking=true&result=true")
    assert reply.status_code == 502
    assert reply.json() == {"error": {"reason": "no"}}


def test_an_action_over_its_time_limit_is_killed(ow: httpx.Client) -> None:
    code = "import time\ndef main(args):\n    time.sleep(30)\n    return {}\n"
    put_action(ow, "forever", code, limits={"timeout": 500})
    reply = invoke(ow, "forever")
    assert reply.status_code == 502
    record = reply.json()
    assert record["response"]["status"] == "action developer error"
    assert record["response"]["result"] == {
        "error": "The action exceeded its time limits of 500 milliseconds."
    }
    assert annotations(record)["timeout"] is True
    assert 400 <= record["duration"] < 5000
    # The gateway still serves, and the action runs again on a fresh instance.
    put_action(ow, "after-timeout", "def main(args):\n    return {'ok': 1}\n")
    assert invoke(ow, "after-timeout", {}, "blocking=true&result=true").json() == {"ok": 1}
    assert invoke(ow, "forever").json()["response"]["result"]["error"].startswith("The action exceeded")


def test_blocking_wait_limit_answers_202_then_the_activation_appears(ow: httpx.Client) -> None:
    put_action(ow, "slow", "import time\ndef main(args):\n    time.sleep(1)\n    return {'done': True}\n")
    reply = invoke(ow, "slow", {}, "blocking=true&timeout=300")
    assert reply.status_code == 202
    activation_id = reply.json()["activationId"]
    assert reply.json() == {"activationId": activation_id}
    assert reply.headers["x-openwhisk-activation-id"] == activation_id
    assert ow.get(f"/api/v1/namespaces/_/activations/{activation_id}").status_code == 404
    record = poll_activation(ow, activation_id)
    assert record["response"]["result"] == {"done": True}


def test_an_init_over_the_time_limit_is_killed(ow: httpx.Client) -> None:
    code = "import time\ntime.sleep(30)\ndef main(args):\n    return {}\n"
    put_action(ow, "slow-init", code, limits={"timeout": 500})
    record = invoke(ow, "slow-init").json()
    assert record["response"]["status"] == "action developer error"
    assert record["response"]["result"] == {
        "error": "The action exceeded its time limits of 500 milliseconds during initialization."
    }
    assert annotations(record)["timeout"] is True


@needs_node
def test_node_code_that_does_not_parse(ow: httpx.Client) -> None:
    put_action(ow, "node-syntax", "function main( { return {} }", kind="nodejs:20")
    reply = invoke(ow, "node-syntax")
    assert reply.status_code == 502
    assert reply.json()["response"]["status"] == "action developer error"
    assert "SyntaxError" in reply.json()["response"]["result"]["error"]
