"""Actions CRUD over HTTP against a running `emu up`: create, update, get, delete, list, packages."""

from __future__ import annotations

import re

import httpx

from tests.conftest import annotations, assert_error, put_action, put_package, zip_code

ACTIONS = "/api/v1/namespaces/_/actions"
CODE = "def main(args):\n    return {'ok': True}\n"
TID = re.compile(r"\A[A-Za-z0-9]{32}\Z")


def test_create_returns_the_full_action(ow: httpx.Client) -> None:
    body = {"exec": {"kind": "python:3.11", "code": CODE}, "parameters": [{"key": "a", "value": 1}]}
    reply = ow.put(f"{ACTIONS}/crud-create", json=body)
    assert reply.status_code == 200, reply.text
    assert TID.match(reply.headers["x-request-id"])
    action = reply.json()
    assert action["namespace"] == "guest"
    assert action["name"] == "crud-create"
    assert action["version"] == "0.0.1"
    assert action["exec"] == {"kind": "python:3.11", "code": CODE, "binary": False}
    assert action["parameters"] == [{"key": "a", "value": 1}]
    assert action["limits"] == {"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1}
    assert action["annotations"] == [
        {"key": "provide-api-key", "value": False},
        {"key": "exec", "value": "python:3.11"},
    ]
    assert action["publish"] is False
    assert isinstance(action["updated"], int)


def test_create_of_an_existing_action_is_a_conflict(ow: httpx.Client) -> None:
    put_action(ow, "crud-conflict", CODE)
    reply = ow.put(f"{ACTIONS}/crud-conflict", json={"exec": {"kind": "python:3.11", "code": CODE}})
    assert_error(reply, 409, "resource already exists")
    reply = ow.put(
        f"{ACTIONS}/crud-conflict?overwrite=false", json={"exec": {"kind": "python:3.11", "code": CODE}}
    )
    assert_error(reply, 409, "resource already exists")


def test_update_bumps_the_version_and_merges_annotations(ow: httpx.Client) -> None:
    created = put_action(ow, "crud-update", CODE, annotations=[{"key": "a", "value": 1}])
    assert created["version"] == "0.0.1"
    reply = ow.put(
        f"{ACTIONS}/crud-update?overwrite=true",
        json={"annotations": [{"key": "b", "value": 2}], "limits": {"timeout": 5000}},
    )
    assert reply.status_code == 200, reply.text
    updated = reply.json()
    assert updated["version"] == "0.0.2"
    assert updated["exec"]["code"] == CODE  # absent fields keep their old values
    assert updated["limits"]["timeout"] == 5000
    assert annotations(updated) == {"a": 1, "b": 2, "provide-api-key": False, "exec": "python:3.11"}
    reply = ow.put(f"{ACTIONS}/crud-update?overwrite=true", json={"delAnnotations": ["a"]})
    assert reply.json()["version"] == "0.0.3"
    assert "a" not in annotations(reply.json())
    assert ow.get(f"{ACTIONS}/crud-update").json()["version"] == "0.0.3"


def test_a_refused_update_changes_nothing(ow: httpx.Client) -> None:
    created = put_action(ow, "crud-refused", CODE, annotations=[{"key": "a", "value": 1}])
    body = {
        "exec": {"kind": "nodejs:20", "code": "x"},
        "annotations": [{"key": "a", "value": 2}],
        "limits": {"timeout": 1},
    }
    reply = ow.put(f"{ACTIONS}/crud-refused?overwrite=true", json=body)
    assert_error(
        reply,
        400,
        "The request content was malformed:\ntimeout 1 milliseconds below allowed threshold of 100 milliseconds.",
    )
    assert ow.get(f"{ACTIONS}/crud-refused").json() == created
    package = put_package(ow, "crud-refused-pkg", annotations=[{"key": "a", "value": 1}])
    reply = ow.put(
        "/api/v1/namespaces/_/packages/crud-refused-pkg?overwrite=true",
        json={"annotations": [{"key": "a", "value": 2}], "binding": 1},
    )
    assert reply.status_code == 400
    assert ow.get("/api/v1/namespaces/_/packages/crud-refused-pkg").json() == {
        **package,
        "actions": [],
        "feeds": [],
    }


def test_create_without_exec_is_refused(ow: httpx.Client) -> None:
    reply = ow.put(f"{ACTIONS}/crud-no-exec", json={"parameters": []})
    assert reply.status_code == 400
    assert "exec undefined" in reply.json()["error"]


def test_default_kind_resolves_and_exec_annotation_follows_the_kind(ow: httpx.Client) -> None:
    action = put_action(ow, "crud-default-kind", "function main() { return {} }", kind="nodejs:default")
    assert action["exec"]["kind"] == "nodejs:20"
    # A caller cannot set `exec` to something else: the server always writes the real kind.
    action = put_action(
        ow, "crud-default-kind", CODE, kind="python:3.11", annotations=[{"key": "exec", "value": "x"}]
    )
    assert annotations(action)["exec"] == "python:3.11"


def test_base64_zip_code_is_binary(ow: httpx.Client) -> None:
    code = zip_code({"__main__.py": CODE})
    action = put_action(ow, "crud-zip", code)
    assert action["exec"]["binary"] is True
    # The request's `binary` is ignored for text code: the server decides from the code.
    reply = ow.put(
        f"{ACTIONS}/crud-text?overwrite=true",
        json={"exec": {"kind": "python:3.11", "code": CODE, "binary": True}},
    )
    assert reply.json()["exec"]["binary"] is False


def test_get_with_and_without_code(ow: httpx.Client) -> None:
    put_action(ow, "crud-get", CODE)
    full = ow.get(f"{ACTIONS}/crud-get").json()
    assert full["exec"]["code"] == CODE
    reply = ow.get(f"{ACTIONS}/crud-get?code=false")
    assert reply.status_code == 200
    assert reply.json()["exec"] == {"kind": "python:3.11", "binary": False}


def test_main_appears_only_when_set(ow: httpx.Client) -> None:
    reply = ow.put(
        f"{ACTIONS}/crud-main?overwrite=true",
        json={"exec": {"kind": "python:3.11", "code": "def go(a):\n    return a\n", "main": "go"}},
    )
    assert reply.json()["exec"]["main"] == "go"
    assert "main" not in ow.get(f"{ACTIONS}/crud-get").json()["exec"]


def test_delete_returns_the_action_then_it_is_gone(ow: httpx.Client) -> None:
    put_action(ow, "crud-delete", CODE)
    reply = ow.delete(f"{ACTIONS}/crud-delete")
    assert reply.status_code == 200
    assert reply.json()["name"] == "crud-delete"
    assert reply.json()["exec"]["code"] == CODE
    assert_error(ow.get(f"{ACTIONS}/crud-delete"), 404, "The requested resource does not exist.")
    assert_error(ow.delete(f"{ACTIONS}/crud-delete"), 404, "The requested resource does not exist.")


def test_list_is_newest_first_with_limit_skip_and_count(ow: httpx.Client) -> None:
    for name in ("crud-list-a", "crud-list-b", "crud-list-c"):
        put_action(ow, name, CODE)
    newest = ow.get(f"{ACTIONS}?limit=2").json()
    assert [item["name"] for item in newest] == ["crud-list-c", "crud-list-b"]
    skipped = ow.get(f"{ACTIONS}?limit=2&skip=1").json()
    assert [item["name"] for item in skipped] == ["crud-list-b", "crud-list-a"]
    everything = ow.get(f"{ACTIONS}?limit=0").json()  # 0 means the maximum, 200
    assert ow.get(f"{ACTIONS}?count=true").json() == {"actions": len(everything)}
    # Summaries carry no code and no kind: the `exec` annotation tells the kind.
    item = newest[0]
    assert set(item) == {
        "namespace",
        "name",
        "version",
        "publish",
        "annotations",
        "limits",
        "exec",
        "updated",
    }
    assert item["exec"] == {"binary": False}
    assert annotations(item)["exec"] == "python:3.11"


def test_list_refuses_a_bad_limit(ow: httpx.Client) -> None:
    assert_error(
        ow.get(f"{ACTIONS}?limit=201"), 400, "The value '201' is not in the range of 0 to 200 for actions."
    )
    assert_error(
        ow.get(f"{ACTIONS}?limit=-1"), 400, "The value '-1' is not in the range of 0 to 200 for actions."
    )


def test_actions_in_a_package(ow: httpx.Client) -> None:
    put_package(ow, "crudpkg")
    created = put_action(ow, "crudpkg/inner", CODE)
    assert created["namespace"] == "guest/crudpkg"
    assert created["name"] == "inner"
    assert ow.get(f"{ACTIONS}/crudpkg/inner").json()["namespace"] == "guest/crudpkg"
    # The package's own listing holds only its actions; the namespace listing holds them too.
    in_package = ow.get(f"{ACTIONS}/crudpkg/").json()
    assert [(item["namespace"], item["name"]) for item in in_package] == [("guest/crudpkg", "inner")]
    everything = ow.get(f"{ACTIONS}?limit=0").json()
    assert ("guest/crudpkg", "inner") in [(item["namespace"], item["name"]) for item in everything]
    package = ow.get("/api/v1/namespaces/_/packages/crudpkg").json()
    assert [action["name"] for action in package["actions"]] == ["inner"]


def test_action_in_a_missing_package_is_not_found(ow: httpx.Client) -> None:
    reply = ow.put(f"{ACTIONS}/no-such-pkg/a", json={"exec": {"kind": "python:3.11", "code": CODE}})
    assert_error(reply, 404, "The requested resource does not exist.")


def test_a_package_name_is_not_an_action(ow: httpx.Client) -> None:
    put_package(ow, "crud-taken")
    reply = ow.put(f"{ACTIONS}/crud-taken", json={"exec": {"kind": "python:3.11", "code": CODE}})
    wrong = "Resource by this name exists but is not in this collection."
    assert_error(reply, 409, wrong)
    assert_error(ow.get(f"{ACTIONS}/crud-taken"), 409, wrong)
    assert_error(ow.delete(f"{ACTIONS}/crud-taken"), 409, wrong)
    assert_error(ow.post(f"{ACTIONS}/crud-taken?blocking=true", json={}), 409, wrong)
    put_action(ow, "crud-an-action", CODE)
    assert_error(ow.get("/api/v1/namespaces/_/packages/crud-an-action"), 409, wrong)
    assert_error(ow.put("/api/v1/namespaces/_/packages/crud-an-action", json={}), 409, wrong)
