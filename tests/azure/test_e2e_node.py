"""The Node.js v3 programming model: `module.exports = async function (context, req)`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.azure.conftest import copy_sample, http_function, settings, write_app

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


def test_node_v3(tmp_path: Path, emu_factory: Any) -> None:
    project = tmp_path / "project"
    copy_sample("node-app", project)
    write_app(
        project / "more",
        {
            "host.json": {"version": "2.0"},
            "local.settings.json": settings("node"),
            "package.json": {"name": "more", "version": "1.0.0"},
            "Json/function.json": http_function(route="json/{id:int}", out="res"),
            "Json/index.js": (
                "module.exports = async function (context, req) {\n"
                "  context.log('json called');\n"
                "  context.res = { status: 201, body: { id: context.bindingData.id, body: req.body, q: req.query } };\n"
                "};\n"
            ),
            "Done/function.json": http_function(),
            "Done/index.js": (
                "module.exports = function (context, req) {\n"
                "  setTimeout(() => context.done(null, { status: 202, headers: {'X-Done': 'yes'}, body: 'later' }), 10);\n"
                "};\n"
            ),
            "Throws/function.json": http_function(),
            "Throws/index.js": "module.exports = async function () { throw new Error('nope'); };\n",
        },
    )
    emu = emu_factory(project, "--no-reload")
    base = emu.urls["azure"]
    reply = httpx.get(f"{base}/api/greet/Ann")
    assert reply.status_code == 200
    assert reply.text == "Hello, Ann. This HTTP triggered function executed successfully."
    assert reply.headers["x-function"] == "Greet"
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert httpx.post(f"{base}/api/greet", json={"name": "Bo"}).text.startswith("Hello, Bo.")
    reply = httpx.post(f"{base}/api/json/5?x=1", json={"a": [1, 2]})
    assert reply.status_code == 201
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    assert reply.json() == {"id": "5", "body": {"a": [1, 2]}, "q": {"x": "1"}}
    assert httpx.get(f"{base}/api/json/x").status_code == 404
    reply = httpx.get(f"{base}/api/Done")
    assert (reply.status_code, reply.text, reply.headers["x-done"]) == (202, "later", "yes")
    reply = httpx.get(f"{base}/api/Throws")
    assert (reply.status_code, reply.content) == (500, b"")


def test_node_v4_with_the_real_library(tmp_path: Path, emu_factory: Any) -> None:
    """`@azure/functions` 4 from the app's package.json, its handlers found by indexing the code."""
    if shutil.which("npm") is None:
        pytest.skip("npm is needed to install @azure/functions")
    project = tmp_path / "project"
    copy_sample("node-v4", project)
    emu = emu_factory(project, "--no-reload")
    base = emu.urls["azure"]
    assert "HelloV4: [GET,POST]" in emu.console()
    assert "CleanupV4: timerTrigger" in emu.console()
    reply = httpx.get(f"{base}/api/v4/hello/Ann")
    assert (reply.status_code, reply.text) == (200, "Hello, Ann!")
    assert reply.headers["content-type"] == "text/plain;charset=UTF-8"
    assert httpx.post(f"{base}/api/v4/hello", content="Bo").text == "Hello, Bo!"
    reply = httpx.put(f"{base}/api/v4/orders/5", json={"qty": 2})
    assert reply.status_code == 201
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert (body["id"], body["qty"]) == (5, 2)
    assert httpx.put(f"{base}/api/v4/orders/x", json={}).status_code == 404
    assert httpx.get(f"{base}/api/v4/orders/5").status_code == 404
    assert httpx.post(f"{base}/admin/functions/CleanupV4", json={"input": ""}).status_code == 202
