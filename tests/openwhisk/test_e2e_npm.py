"""The npm `openwhisk` client (3.21.9) against a running `emu up`, as a Node.js user drives it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GUEST_KEY, RunningEmu, needs_node, run_node, zip_code

pytestmark = needs_node

PRELUDE = """
const openwhisk = require('openwhisk');
const ow = openwhisk({apihost: process.env.APIHOST, api_key: process.env.API_KEY});
const out = (value) => console.log(JSON.stringify(value));
const failure = (e) => ({statusCode: e.statusCode, message: e.message, error: e.error});
"""


@pytest.fixture(scope="module")
def node(node_clients: Path, empty_emu: RunningEmu) -> Any:
    """Run a script body (an async function body that returns a JSON value) with `ow` set up."""
    env = {"APIHOST": empty_emu.urls["openwhisk"], "API_KEY": GUEST_KEY}

    def run(body: str, **extra_env: str) -> Any:
        script = PRELUDE + f"(async () => {{\n{body}\n}})().then(out, (e) => out({{thrown: failure(e)}}));"
        result = run_node(node_clients, script, env={**env, **extra_env})
        assert not (isinstance(result, dict) and "thrown" in result), json.dumps(result, indent=2)
        return result

    return run


def test_actions_create_get_list_update_delete(node: Any) -> None:
    result = node(
        """
        const code = 'function main(p) { return {hello: p.name || "world"} }';
        const created = await ow.actions.create({name: 'npm-hello', action: code});
        const conflict = await ow.actions.create({name: 'npm-hello', action: code}).catch(failure);
        const got = await ow.actions.get({name: 'npm-hello'});
        const noCode = await ow.actions.get({name: 'npm-hello', code: false});
        const updated = await ow.actions.update({name: 'npm-hello', action: code, params: {name: 'npm'}});
        const list = await ow.actions.list({limit: 5});
        const count = await ow.actions.list({count: true});
        const invoked = await ow.actions.invoke({name: 'npm-hello', blocking: true, result: true});
        const deleted = await ow.actions.delete({name: 'npm-hello'});
        const gone = await ow.actions.get({name: 'npm-hello'}).catch(failure);
        return {created, conflict, got, noCode, updated, list, count, invoked, deleted, gone};
        """
    )
    assert result["created"]["exec"]["kind"] == "nodejs:20"  # the client sends nodejs:default
    assert result["created"]["version"] == "0.0.1"
    assert result["conflict"]["statusCode"] == 409
    assert result["conflict"]["error"]["error"] == "resource already exists"
    assert "resource already exists" in result["conflict"]["message"]
    assert "code" in result["got"]["exec"]
    assert "code" not in result["noCode"]["exec"]
    assert result["updated"]["version"] == "0.0.2"
    assert result["updated"]["parameters"] == [{"key": "name", "value": "npm"}]
    assert "npm-hello" in [item["name"] for item in result["list"]]
    assert result["count"]["actions"] >= 1
    assert result["invoked"] == {"hello": "npm"}
    assert result["deleted"]["name"] == "npm-hello"
    assert result["gone"]["statusCode"] == 404
    assert result["gone"]["error"]["error"] == "The requested resource does not exist."
    assert "The requested resource does not exist." in result["gone"]["message"]


def test_invoke_and_activations(node: Any) -> None:
    result = node(
        """
        const code = 'function main(p) { console.log("got", p.n); return {twice: p.n * 2} }';
        await ow.actions.update({name: 'npm-twice', action: code, kind: 'nodejs:20'});
        const full = await ow.actions.invoke({name: 'npm-twice', params: {n: 2}, blocking: true});
        const onlyResult = await ow.actions.invoke({name: 'npm-twice', params: {n: 3}, blocking: true, result: true});
        const accepted = await ow.actions.invoke({name: 'npm-twice', params: {n: 4}});
        let activation;
        for (let i = 0; i < 300 && !activation; i++) {
          activation = await ow.activations.get({activationId: accepted.activationId}).catch(() => undefined);
          if (!activation) await new Promise((r) => setTimeout(r, 50));
        }
        const logs = await ow.activations.logs({activationId: accepted.activationId});
        const res = await ow.activations.result({activationId: accepted.activationId});
        const list = await ow.activations.list({name: 'npm-twice', limit: 10});
        const docs = await ow.activations.list({name: 'npm-twice', docs: true, limit: 1});
        const count = await ow.activations.list({name: 'npm-twice', count: true});
        return {full, onlyResult, accepted, activation, logs, res, list, docs, count};
        """
    )
    assert result["full"]["response"]["result"] == {"twice": 4}
    assert result["full"]["response"]["success"] is True
    assert result["onlyResult"] == {"twice": 6}
    activation_id = result["accepted"]["activationId"]
    assert len(activation_id) == 32
    assert result["activation"]["response"]["result"] == {"twice": 8}
    assert len(result["logs"]["logs"]) == 1
    assert result["logs"]["logs"][0].endswith(" stdout: got 4")
    assert result["res"]["result"] == {"twice": 8}
    assert result["res"]["success"] is True
    assert len(result["list"]) == 3
    assert result["list"][0]["activationId"] == activation_id
    assert result["docs"][0]["response"]["result"] == {"twice": 8}
    assert result["count"] == {"activations": 3}


def test_failed_invocation_rejects_with_the_openwhisk_message(node: Any) -> None:
    result = node(
        """
        await ow.actions.update({name: 'npm-fails', action: 'function main() { return {error: "nope"} }'});
        const failed = await ow.actions.invoke({name: 'npm-fails', blocking: true}).catch(failure);
        const missing = await ow.actions.invoke({name: 'npm-missing', blocking: true}).catch(failure);
        return {failed, missing};
        """
    )
    failed = result["failed"]
    assert failed["statusCode"] == 502
    assert failed["error"]["response"]["status"] == "application error"
    assert '"nope"' in failed["message"]
    assert failed["message"].startswith("POST ")
    assert result["missing"]["statusCode"] == 404
    assert '"The requested resource does not exist."' in result["missing"]["message"]


def test_packages_and_namespaces(node: Any) -> None:
    result = node(
        """
        const created = await ow.packages.create({name: 'npm-pkg', package: {parameters: [{key: 'p', value: 1}]}});
        await ow.actions.update({name: 'npm-pkg/inside', action: 'function main(p) { return {p: p.p} }'});
        const list = await ow.packages.list();
        const got = await ow.packages.get({name: 'npm-pkg'});
        const invoked = await ow.actions.invoke({name: 'npm-pkg/inside', blocking: true, result: true});
        const namespaces = await ow.namespaces.list();
        const everything = await ow.namespaces.get();
        return {created, list, got, invoked, namespaces, everything};
        """
    )
    assert result["created"]["name"] == "npm-pkg"
    assert "npm-pkg" in [p["name"] for p in result["list"]]
    assert [a["name"] for a in result["got"]["actions"]] == ["inside"]
    assert result["invoked"] == {"p": 1}
    assert result["namespaces"] == ["guest"]
    everything = result["everything"]
    assert set(everything) == {"actions", "packages", "triggers", "rules"}
    assert "inside" in [a["name"] for a in everything["actions"]]
    assert everything["triggers"] == [] and everything["rules"] == []


def test_a_wrong_key_is_rejected(node_clients: Path, empty_emu: RunningEmu) -> None:
    script = PRELUDE + "ow.actions.list().then(out, (e) => out(failure(e)));"
    env = {"APIHOST": empty_emu.urls["openwhisk"], "API_KEY": GUEST_KEY.split(":")[0] + ":" + "x" * 64}
    result = run_node(node_clients, script, env=env)
    assert result["statusCode"] == 401
    assert result["error"]["error"] == "The supplied authentication is invalid"


def test_a_zip_buffer_becomes_a_binary_action(node: Any) -> None:
    archive = zip_code({"index.js": "exports.main = (p) => ({zipped: true, n: p.n});\n"})
    result = node(
        """
        const action = Buffer.from(process.env.ZIP, 'base64');
        const created = await ow.actions.update({name: 'npm-zip', action, annotations: {note: 'zip'}});
        const result = await ow.actions.invoke({name: 'npm-zip', params: {n: 1}, blocking: true, result: true});
        return {created, result};
        """,
        ZIP=archive,
    )
    assert result["created"]["exec"]["binary"] is True
    assert {"key": "note", "value": "zip"} in result["created"]["annotations"]
    assert result["result"] == {"zipped": True, "n": 1}
