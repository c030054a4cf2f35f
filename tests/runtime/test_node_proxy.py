"""The Node.js proxy speaks the OpenWhisk action interface like openwhisk-runtime-nodejs."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import shutil
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.runtime.conftest import Proxy

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

RESULTS = """
function main(args) {
  switch (args.kind) {
    case 'throw': throw new Error('boom');
    case 'reject': return Promise.reject(new Error('nope'));
    case 'reject-empty': return Promise.reject();
    case 'reject-string': return Promise.reject('nope');
    case 'async': return new Promise((resolve) => setTimeout(() => resolve({ late: true }), 1));
    case 'string': return 'a string';
    case 'undefined': return;
    case 'null': return null;
    case 'array': return [1, 2];
    default: return { args };
  }
}
"""


@pytest.fixture
def proxy(start_proxy: Callable[..., Proxy]) -> Proxy:
    return start_proxy("node")


def test_init_then_run_returns_the_result_and_logs(proxy: Proxy) -> None:
    code = """
    function main(args) {
      console.log('hello from stdout');
      console.error('hello from stderr');
      return { greeting: 'Hello ' + args.name };
    }
    """
    init = proxy.init(code)
    assert (init.status_code, init.json()) == (200, {"OK": True})
    for name in ("Ann", "Bob"):
        response = proxy.run({"name": name})
        assert (response.status_code, response.json()) == (200, {"greeting": f"Hello {name}"})
        assert proxy.logs() == (["hello from stdout"], ["hello from stderr"])


@pytest.mark.parametrize(
    "code",
    [
        "exports.main = (args) => ({ style: 'exports', args });",
        "module.exports = { main: async (args) => ({ style: 'exports', args }) };",
        "const main = (args) => ({ style: 'exports', args });",
    ],
)
def test_main_is_found_like_the_real_runtime(proxy: Proxy, code: str) -> None:
    assert proxy.init(code).status_code == 200
    assert proxy.run({"a": 1}).json() == {"style": "exports", "args": {"a": 1}}


def test_plain_code_can_require_and_import(proxy: Proxy) -> None:
    code = """
    const os = require('os');
    async function main() {
      const { basename } = await import('node:path');
      return { platform: os.platform(), base: basename('/a/b.txt') };
    }
    """
    assert proxy.init(code).status_code == 200
    response = proxy.run()
    if response.status_code != 200 and "dynamic import" in response.text:
        pytest.skip("import() from evaluated code needs Node 20.12+")
    assert response.json() == {"platform": sys.platform, "base": "b.txt"}


def test_env_from_init_and_activation_fields_reach_the_action(proxy: Proxy) -> None:
    code = "function main(args) { return Object.fromEntries(args.keys.map((k) => [k, process.env[k]])) }"
    proxy.init(code, env={"MY_PARAM": "from init", "OBJECT": {"a": 1}, "NOTHING": None})
    keys = ["MY_PARAM", "OBJECT", "NOTHING", "__OW_NAMESPACE", "__OW_ACTION_NAME", "__OW_ACTIVATION_ID"]
    keys += ["__OW_DEADLINE", "__OW_API_KEY"]
    response = proxy.run(
        {"keys": keys},
        namespace="guest",
        action_name="/guest/hello",
        activation_id="0123456789abcdef",
        deadline="1717171777000",
        api_key="user:pass",
    )
    assert response.json() == {
        "MY_PARAM": "from init",
        "OBJECT": '{"a":1}',
        "NOTHING": "",
        "__OW_NAMESPACE": "guest",
        "__OW_ACTION_NAME": "/guest/hello",
        "__OW_ACTIVATION_ID": "0123456789abcdef",
        "__OW_DEADLINE": "1717171777000",
        "__OW_API_KEY": "user:pass",
    }


def test_a_second_init_is_refused(proxy: Proxy) -> None:
    assert proxy.init("function main() { return {} }").status_code == 200
    again = proxy.init("function main() { return { x: 1 } }")
    assert (again.status_code, again.json()) == (
        403,
        {"error": "Cannot initialize the action more than once."},
    )
    assert proxy.logs() == ([], ["Internal system error: Cannot initialize the action more than once."])


def test_init_without_code_is_refused(proxy: Proxy) -> None:
    response = proxy.post("/init", {"value": {"main": "main"}})
    assert (response.status_code, response.json()) == (403, {"error": "Missing main/no code to execute."})


def test_run_before_init_is_refused(proxy: Proxy) -> None:
    response = proxy.run({"x": 1})
    assert (response.status_code, response.json()) == (403, {"error": "System not initialized."})
    assert proxy.logs() == ([], ["Internal system error: System not initialized."])


def test_results_promises_and_rejections(proxy: Proxy) -> None:
    proxy.init(RESULTS)
    assert proxy.run({"kind": "async"}).json() == {"late": True}
    assert proxy.run({"kind": "undefined"}).json() == {}
    assert proxy.run({"kind": "array"}).json() == [1, 2]
    assert proxy.run(["a"]).json() == {"args": ["a"]}
    rejected = proxy.run({"kind": "reject"})
    assert rejected.status_code == 200
    error = rejected.json()["error"]
    assert (error["name"], error["message"]) == ("Error", "nope")
    assert error["stack"].startswith("Error: nope\n")
    assert proxy.run({"kind": "reject-empty"}).json() == {"error": {}}
    assert proxy.run({"kind": "reject-string"}).json() == {"error": "nope"}


def test_a_result_that_is_not_an_object_is_refused(proxy: Proxy) -> None:
    proxy.init(RESULTS)
    response = proxy.run({"kind": "string"})
    assert (response.status_code, response.json()) == (
        502,
        {"error": "The action did not return a dictionary."},
    )
    assert proxy.logs() == ([], ['Result must be of type object but has type "string": a string'])


def test_a_thrown_exception_is_a_developer_error_that_stops_the_action(proxy: Proxy) -> None:
    proxy.init(RESULTS)
    response = proxy.run({"kind": "throw"})
    assert (response.status_code, response.json()) == (502, {"error": "An error has occurred: Error: boom"})
    stdout, stderr = proxy.logs()
    assert stdout == []
    assert stderr[0] == "Error: boom"
    assert any("hello.js:4" in line for line in stderr)
    after = proxy.run({})
    assert (after.status_code, after.json()) == (403, {"error": "System not ready, status is stopped."})


def test_a_syntax_error_fails_init_with_its_location(proxy: Proxy) -> None:
    response = proxy.init("function main(args) {\n  return {\n}")
    assert response.status_code == 502
    error = response.json()["error"]
    assert error.startswith("Initialization has failed due to: ")
    assert "hello.js:3" in error
    assert "SyntaxError" in error
    stdout, stderr = proxy.logs()
    assert stdout == []
    assert stderr[0].startswith("Error during initialization:")


def test_a_missing_main_function_fails_init(proxy: Proxy) -> None:
    response = proxy.init("function handler() { return {} }")
    assert response.json() == {
        "error": "Initialization has failed due to: Action entrypoint 'main' is not a function."
    }
    assert proxy.logs() == ([], ["Error during initialization: Action entrypoint 'main' is not a function."])


def test_zip_with_package_json_main(proxy: Proxy, make_zip: Callable[..., str]) -> None:
    code = make_zip(
        {
            "package.json": json.dumps({"name": "action", "main": "lib/handler.js"}),
            "lib/handler.js": (
                "const util = require('./util');\n"
                "const shout = require('shout');\n"
                "const fs = require('fs');\n"
                "exports.main = (args) => ({ msg: shout(util.greet(args.name)), data: fs.readFileSync('data.txt', 'utf8') });\n"
            ),
            "lib/util.js": "exports.greet = (name) => 'hello ' + name;\n",
            "node_modules/shout/index.js": "module.exports = (s) => s.toUpperCase();\n",
            "data.txt": "bundled file",
        },
        stored=("lib/util.js", "data.txt"),
    )
    init = proxy.init(code, binary=True)
    assert init.json() == {"OK": True}
    assert proxy.run({"name": "zip"}).json() == {"msg": "HELLO ZIP", "data": "bundled file"}


@pytest.mark.parametrize(
    ("main", "files"),
    [
        ("main", {"index.js": "exports.main = () => ({ ok: 'index' });"}),
        ("tools.deep.run", {"tools.js": "exports.deep = { run: () => ({ ok: 'tools' }) };"}),
    ],
)
def test_zip_with_index_js_or_module_dot_function(
    proxy: Proxy, make_zip: Callable[..., str], main: str, files: dict[str, str]
) -> None:
    assert proxy.init(make_zip(files), binary=True, main=main).status_code == 200
    assert "ok" in proxy.run().json()


def test_zip_without_package_json_or_index_js_fails_init(proxy: Proxy, make_zip: Callable[..., str]) -> None:
    response = proxy.init(make_zip({"main.js": "exports.main = () => ({})"}), binary=True)
    assert response.status_code == 502
    assert response.json()["error"].endswith(
        "Zipped actions must contain either package.json or index.js at the root."
    )


@pytest.mark.parametrize(
    "name", ["../escaped.txt", "/escaped.txt", "a/../../escaped.txt", "a\\..\\..\\escaped.txt"]
)
def test_zip_entries_outside_the_folder_are_refused(
    proxy: Proxy, make_zip: Callable[..., str], tmp_path: Path, name: str
) -> None:
    response = proxy.init(make_zip({"index.js": "exports.main = () => ({})", name: "escaped"}), binary=True)
    assert response.status_code == 502
    assert "leaves the action folder" in response.json()["error"]
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not list(tmp_path.rglob("*escaped.txt"))


def test_zip_symlinks_inside_the_folder_are_kept(proxy: Proxy, make_zip: Callable[..., str]) -> None:
    code = make_zip(
        {
            "index.js": "exports.main = () => ({ text: require('fs').readFileSync('link.txt', 'utf8') })",
            "real.txt": "hi",
        },
        links={"link.txt": "real.txt"},
    )
    assert proxy.init(code, binary=True).status_code == 200
    assert proxy.run().json() == {"text": "hi"}


@pytest.mark.parametrize("target", ["../outside", "/etc/passwd"])
def test_zip_symlinks_leaving_the_folder_are_refused(
    proxy: Proxy, make_zip: Callable[..., str], target: str
) -> None:
    code = make_zip({"index.js": "exports.main = () => ({})"}, links={"link": target})
    response = proxy.init(code, binary=True)
    assert response.status_code == 502
    assert "leaves the action folder" in response.json()["error"]


def test_tar_gz_archives_are_refused(proxy: Proxy) -> None:
    response = proxy.init(base64.b64encode(gzip.compress(b"tar")).decode(), binary=True)
    assert response.status_code == 502
    assert "tar.gz" in response.json()["error"]


def test_corrupt_zip_fails_init(proxy: Proxy, make_zip: Callable[..., str]) -> None:
    data = bytearray(
        base64.b64decode(
            make_zip({"index.js": "exports.main = () => ({ fine: true })"}, stored=("index.js",))
        )
    )
    data[40] ^= 0xFF  # inside the stored file's bytes
    response = proxy.init(base64.b64encode(bytes(data)).decode(), binary=True)
    assert response.status_code == 502
    assert "checksum mismatch" in response.json()["error"]


def test_http_edge_cases_do_not_break_the_proxy(proxy: Proxy) -> None:
    assert proxy.client.get("/init").status_code == 404
    assert proxy.client.post("/other", json={}).json() == {"error": "Not found: POST /other"}
    bad = proxy.client.post("/init", content=b"{not json")
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("Error unmarshaling request")
    assert proxy.logs() == ([], [])
    chunked = proxy.client.post(
        "/init", content=iter([b'{"value": {"code": "function main(a) ', b'{ return a }"}}'])
    )
    assert chunked.status_code == 200


def test_connections_are_kept_alive(proxy: Proxy) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
    connection.request("POST", "/init", body=b'{"value": {"code": "function main(a) { return a }"}}')
    assert connection.getresponse().read() == b'{"OK":true}'
    first_socket = connection.sock
    for n in range(3):
        connection.request("POST", "/run", body=b'{"value": {"n": %d}}' % n)
        assert connection.getresponse().read() == b'{"n":%d}' % n
    assert connection.sock is first_socket
    connection.close()
    idle = socket.create_connection(("127.0.0.1", proxy.port))
    assert proxy.run({"still": "up"}).json() == {"still": "up"}
    idle.close()


def test_sigterm_removes_the_unpacked_action(
    proxy: Proxy, make_zip: Callable[..., str], tmp_path: Path
) -> None:
    proxy.init(make_zip({"index.js": "exports.main = () => ({})"}), binary=True)
    assert list((tmp_path / "tmp-0").iterdir())
    assert proxy.terminate() == 0
    assert not list((tmp_path / "tmp-0").iterdir())
