"""Sequences and packages over HTTP: piping, component activations, bindings, package CRUD."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import annotations, assert_error, invoke, poll_activation, put_action, put_package

ACTIONS = "/api/v1/namespaces/_/actions"
PACKAGES = "/api/v1/namespaces/_/packages"
ACTIVATIONS = "/api/v1/namespaces/_/activations"


@pytest.fixture(scope="module", autouse=True)
def steps(ow: httpx.Client) -> None:
    put_package(ow, "seq")
    put_action(ow, "seq/add", "def main(args):\n    return {'n': args.get('n', 0) + 1}\n")
    put_action(
        ow, "double", "def main(args):\n    print('doubling', args['n'])\n    return {'n': args['n'] * 2}\n"
    )
    put_action(ow, "fail", "def main(args):\n    raise RuntimeError('stop here')\n")


def put_sequence(ow: httpx.Client, name: str, components: list[str]) -> httpx.Response:
    body = {"exec": {"kind": "sequence", "components": components}}
    return ow.put(f"{ACTIONS}/{name}?overwrite=true", json=body)


def test_sequence_pipes_results(ow: httpx.Client) -> None:
    reply = put_sequence(ow, "add-double", ["/_/seq/add", "/guest/double", "/_/seq/add"])
    assert reply.status_code == 200, reply.text
    action = reply.json()
    # `_` is the caller's namespace: it is stored resolved, as OpenWhisk does.
    assert action["exec"]["components"] == ["/guest/seq/add", "/guest/double", "/guest/seq/add"]
    assert action["exec"]["kind"] == "sequence"
    assert action["parameters"] == [{"key": "_actions", "value": action["exec"]["components"]}]
    reply = invoke(ow, "add-double", {"n": 4}, "blocking=true&result=true")
    assert reply.status_code == 200
    assert reply.json() == {"n": 11}


def test_sequence_activation_and_its_components(ow: httpx.Client) -> None:
    put_sequence(ow, "add-double-2", ["/_/seq/add", "/_/double"])
    record = invoke(ow, "add-double-2", {"n": 1}).json()
    assert record["response"]["result"] == {"n": 4}
    notes = annotations(record)
    assert notes["kind"] == "sequence"
    assert notes["topmost"] is True
    assert notes["path"] == "guest/add-double-2"
    assert "waitTime" in notes
    component_ids = record["logs"]  # a sequence's logs are its components' activation ids
    assert len(component_ids) == 2
    components = [ow.get(f"{ACTIVATIONS}/{cid}").json() for cid in component_ids]
    assert [c["name"] for c in components] == ["add", "double"]
    for component in components:
        assert component["cause"] == record["activationId"]
        assert annotations(component)["causedBy"] == "sequence"
    assert [c["response"]["result"] for c in components] == [{"n": 2}, {"n": 4}]
    assert any("doubling 2" in line for line in components[1]["logs"])
    # The stored sequence activation keeps the component ids as its logs.
    assert ow.get(f"{ACTIVATIONS}/{record['activationId']}/logs").json() == {"logs": component_ids}


def test_a_failing_component_stops_the_sequence(ow: httpx.Client) -> None:
    put_sequence(ow, "fails-midway", ["/_/seq/add", "/_/fail", "/_/double"])
    reply = invoke(ow, "fails-midway", {"n": 1})
    assert reply.status_code == 502
    record = reply.json()
    assert record["response"]["status"] == "application error"
    assert record["response"]["result"] == {"error": "stop here"}
    assert len(record["logs"]) == 2  # `double` never ran
    assert invoke(ow, "fails-midway", {}, "blocking=true&result=true").json() == {"error": "stop here"}


def test_missing_component_is_400(ow: httpx.Client) -> None:
    reply = put_sequence(ow, "broken-seq", ["/_/seq/add", "/_/no-such-action"])
    assert reply.status_code == 400
    assert reply.json()["error"] == "Sequence component does not exist."
    assert ow.get(f"{ACTIONS}/broken-seq").status_code == 404


def test_sequence_may_not_refer_to_itself(ow: httpx.Client) -> None:
    put_sequence(ow, "selfish", ["/_/double"])
    reply = put_sequence(ow, "selfish", ["/_/double", "/_/selfish"])
    assert reply.status_code == 400
    assert reply.json()["error"] == "Sequence may not refer to itself."


def test_a_cycle_through_other_sequences_is_refused(ow: httpx.Client) -> None:
    assert put_sequence(ow, "cycle-a", ["/_/double"]).status_code == 200
    assert put_sequence(ow, "cycle-b", ["/_/cycle-a"]).status_code == 200
    assert put_sequence(ow, "cycle-c", ["/_/seq/add", "/_/cycle-b"]).status_code == 200
    for components in (["/_/cycle-b"], ["/_/double", "/_/cycle-c"]):
        assert_error(put_sequence(ow, "cycle-a", components), 400, "Sequence may not refer to itself.")
    # Refused, so nothing changed: the sequences still run.
    assert ow.get(f"{ACTIONS}/cycle-a").json()["exec"]["components"] == ["/guest/double"]
    assert invoke(ow, "cycle-c", {"n": 1}, "blocking=true&result=true").json() == {"n": 4}
    # The same component twice is no cycle.
    assert put_sequence(ow, "cycle-d", ["/_/cycle-b", "/_/cycle-b"]).status_code == 200


def test_an_array_result_fails_the_sequence(ow: httpx.Client) -> None:
    put_action(ow, "listy", "def main(args):\n    return [args.get('n'), 2]\n")
    for components in (["/_/listy", "/_/double"], ["/_/seq/add", "/_/listy"]):
        put_sequence(ow, "with-array", components)
        reply = invoke(ow, "with-array", {"n": 1})
        # OpenWhisk reads every component's result as an object: an array is a whisk error.
        assert reply.status_code == 500, reply.text
        record = reply.json()
        assert record["response"]["status"] == "whisk internal error"
        assert record["response"]["result"] == {"error": "Sequence failed."}
        assert poll_activation(ow, record["activationId"])["response"]["success"] is False


def test_non_blocking_sequence(ow: httpx.Client) -> None:
    put_sequence(ow, "async-seq", ["/_/seq/add", "/_/double"])
    reply = invoke(ow, "async-seq", {"n": 2}, query="")
    assert reply.status_code == 202
    record = poll_activation(ow, reply.json()["activationId"])
    assert record["response"]["result"] == {"n": 6}


# -- packages ----------------------------------------------------------------------------------


def test_package_crud(ow: httpx.Client) -> None:
    reply = ow.put(f"{PACKAGES}/tools", json={"parameters": [{"key": "p", "value": 1}]})
    assert reply.status_code == 200, reply.text
    package = reply.json()
    assert package["namespace"] == "guest"
    assert package["name"] == "tools"
    assert package["version"] == "0.0.1"
    assert package["binding"] == {}
    assert package["publish"] is False
    assert ow.put(f"{PACKAGES}/tools", json={}).status_code == 409
    updated = ow.put(f"{PACKAGES}/tools?overwrite=true", json={"publish": False}).json()
    assert updated["version"] == "0.0.2"
    assert updated["parameters"] == [{"key": "p", "value": 1}]
    put_action(ow, "tools/hammer", "def main(args):\n    return {'p': args['p']}\n")
    got = ow.get(f"{PACKAGES}/tools").json()
    assert [a["name"] for a in got["actions"]] == ["hammer"]
    assert got["feeds"] == []
    listed = ow.get(PACKAGES).json()
    assert "tools" in [p["name"] for p in listed]
    assert ow.get(f"{PACKAGES}?count=true").json() == {"packages": len(listed)}


def test_package_delete_needs_force_when_not_empty(ow: httpx.Client) -> None:
    put_package(ow, "full")
    put_action(ow, "full/a", "def main(args):\n    return {}\n")
    reply = ow.delete(f"{PACKAGES}/full")
    assert reply.status_code == 409
    assert reply.json()["error"] == (
        "Package not empty (contains 1 entities). Set force param or delete package contents."
    )
    assert ow.delete(f"{PACKAGES}/full?force=true").status_code == 200
    assert ow.get(f"{ACTIONS}/full/a").status_code == 404
    assert ow.get(f"{PACKAGES}/full").status_code == 404


def test_default_package_name_is_reserved(ow: httpx.Client) -> None:
    reply = ow.put(f"{PACKAGES}/default", json={})
    assert reply.status_code == 400
    assert reply.json()["error"] == "Package name 'default' is reserved."


def test_binding_inherits_actions_and_merges_parameters(ow: httpx.Client) -> None:
    put_package(ow, "lib", parameters=[{"key": "who", "value": "lib"}, {"key": "keep", "value": "lib"}])
    put_action(ow, "lib/show", "def main(args):\n    return args\n")
    put_package(
        ow, "mylib", binding={"namespace": "guest", "name": "lib"}, parameters=[{"key": "who", "value": "me"}]
    )
    reply = invoke(ow, "mylib/show", {"extra": 1}, "blocking=true&result=true")
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"who": "me", "keep": "lib", "extra": 1}
    assert [a["name"] for a in ow.get(f"{PACKAGES}/mylib").json()["actions"]] == ["show"]
    reply = ow.put(f"{ACTIONS}/mylib/new", json={"exec": {"kind": "python:3.11", "code": "x"}})
    assert reply.status_code == 400


def test_a_binding_needs_string_names(ow: httpx.Client) -> None:
    for binding, field in (({"namespace": 1, "name": {"a": 1}}, "namespace"), ({"name": ["lib"]}, "name")):
        reply = ow.put(f"{PACKAGES}/bad-binding?overwrite=true", json={"binding": binding})
        assert_error(
            reply, 400, f"The request content was malformed:\nthe binding's '{field}' must be a string"
        )
    assert ow.get(f"{PACKAGES}/bad-binding").status_code == 404
