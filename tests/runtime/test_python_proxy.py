"""The Python proxy speaks the OpenWhisk action interface like the Python runtime does."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.runtime.conftest import Proxy

INIT_FAILED = "The action failed to generate or locate a binary. See logs for details."

RESULTS = """
import sys

def main(args):
    kind = args.get("kind") if isinstance(args, dict) else None
    if kind == "raise":
        raise ValueError("boom")
    if kind == "exit":
        sys.exit(3)
    return {
        "text": "a string",
        "none": None,
        "array": [1, 2],
        "tuple": (1, 2),
        "nan": {"x": float("nan")},
        "object": {"x": object()},
    }.get(kind, {"args": args})
"""


@pytest.fixture
def proxy(start_proxy: Callable[..., Proxy]) -> Proxy:
    return start_proxy("python")


def test_init_then_run_returns_the_result_and_logs(proxy: Proxy) -> None:
    code = (
        "import sys\n"
        "def main(args):\n"
        "    print('hello from stdout')\n"
        "    print('hello from stderr', file=sys.stderr)\n"
        "    return {'greeting': 'Hello ' + args['name']}\n"
    )
    init = proxy.init(code)
    assert (init.status_code, init.json()) == (200, {"ok": True})

    for name in ("Ann", "Bob"):
        response = proxy.run({"name": name})
        assert (response.status_code, response.json()) == (200, {"greeting": f"Hello {name}"})
        assert proxy.logs() == (["hello from stdout"], ["hello from stderr"])


def test_env_from_init_and_activation_fields_reach_the_action(proxy: Proxy) -> None:
    code = "import os\ndef main(args):\n    return {k: os.environ.get(k) for k in args['keys']}\n"
    proxy.init(code, env={"MY_PARAM": "from init", "NUMBER": 7, "NOTHING": None})
    keys = ["MY_PARAM", "NUMBER", "NOTHING", "__OW_NAMESPACE", "__OW_ACTION_NAME", "__OW_ACTIVATION_ID"]
    keys += ["__OW_DEADLINE", "__OW_API_KEY", "__OW_TRANSACTION_ID"]
    response = proxy.run(
        {"keys": keys},
        namespace="guest",
        action_name="/guest/hello",
        activation_id="0123456789abcdef",
        deadline="1717171777000",
        api_key="user:pass",
        transaction_id="tx1",
    )
    assert response.json() == {
        "MY_PARAM": "from init",
        "NUMBER": "7",
        "NOTHING": "",
        "__OW_NAMESPACE": "guest",
        "__OW_ACTION_NAME": "/guest/hello",
        "__OW_ACTIVATION_ID": "0123456789abcdef",
        "__OW_DEADLINE": "1717171777000",
        "__OW_API_KEY": "user:pass",
        "__OW_TRANSACTION_ID": "tx1",
    }


def test_a_second_init_is_refused(proxy: Proxy) -> None:
    assert proxy.init("def main(args):\n    return {}\n").status_code == 200
    again = proxy.init("def main(args):\n    return {'x': 1}\n")
    assert (again.status_code, again.json()) == (
        403,
        {"error": "Cannot initialize the action more than once."},
    )
    assert proxy.logs() == ([], [])
    assert proxy.run().json() == {}


def test_init_without_code_is_refused(proxy: Proxy) -> None:
    response = proxy.post("/init", {"value": {"main": "main"}})
    assert (response.status_code, response.json()) == (403, {"error": "Missing main/no code to execute."})


def test_run_before_init_is_an_error_and_still_ends_the_log(proxy: Proxy) -> None:
    response = proxy.run({"x": 1})
    assert (response.status_code, response.json()) == (500, {"error": "no action defined yet"})
    assert proxy.logs() == ([], [])


def test_an_exception_in_main_is_an_application_error_with_its_traceback(proxy: Proxy) -> None:
    proxy.init(RESULTS)
    response = proxy.run({"kind": "raise"})
    assert (response.status_code, response.json()) == (200, {"error": "boom"})
    stdout, stderr = proxy.logs()
    assert stdout == []
    assert stderr[0] == "Traceback (most recent call last):"
    assert stderr[-1] == "ValueError: boom"
    assert any("main__.py" in line for line in stderr)
    assert not any("proxy.py" in line for line in stderr)


@pytest.mark.parametrize("kind", ["text", "none", "nan", "object"])
def test_a_result_that_is_not_a_json_object_or_array_is_refused(proxy: Proxy, kind: str) -> None:
    proxy.init(RESULTS)
    response = proxy.run({"kind": kind})
    assert (response.status_code, response.json()) == (
        502,
        {"error": "The action did not return a dictionary or array."},
    )
    assert proxy.logs()[1]


def test_arrays_pass_through_both_ways(proxy: Proxy) -> None:
    proxy.init(RESULTS)
    assert proxy.run({"kind": "array"}).json() == [1, 2]
    assert proxy.run({"kind": "tuple"}).json() == [1, 2]
    assert proxy.run(["a", "b"]).json() == {"args": ["a", "b"]}


def test_sys_exit_in_main_is_a_dead_action(proxy: Proxy) -> None:
    proxy.init(RESULTS)
    response = proxy.run({"kind": "exit"})
    assert (response.status_code, response.json()) == (400, {"error": "command exited"})
    assert proxy.run().status_code == 500


def test_a_syntax_error_fails_init_with_the_reason(proxy: Proxy) -> None:
    response = proxy.init("def main(args):\n    return {\n")
    assert response.status_code == 502
    error = response.json()["error"]
    assert error.startswith(INIT_FAILED)
    assert "SyntaxError" in error
    stdout, stderr = proxy.logs()
    assert stdout == []
    assert any("main__.py" in line for line in stderr)
    assert stderr[-1].startswith("SyntaxError")


def test_a_missing_main_function_fails_init(proxy: Proxy) -> None:
    response = proxy.init("def handler(args):\n    return {}\n")
    assert response.status_code == 502
    assert "'main'" in response.json()["error"]
    assert proxy.logs()[1] == ["The action code has no function named 'main'."]
    # A failed init does not count: the action can still be initialized.
    assert proxy.init("def handler(args):\n    return {'ok': 1}\n", main="handler").status_code == 200
    assert proxy.run().json() == {"ok": 1}


def test_zip_with_main_module_helpers_and_virtualenv(proxy: Proxy, make_zip: Callable[..., str]) -> None:
    code = make_zip(
        {
            "__main__.py": (
                "import helper, greeting_pkg\n"
                "def hello(args):\n"
                "    return {'msg': greeting_pkg.greet(helper.NAME), 'data': open('data.txt').read()}\n"
            ),
            "helper.py": "NAME = 'zip'\n",
            "data.txt": "bundled file",
            "virtualenv/lib/python3.11/site-packages/greeting_pkg/__init__.py": (
                "def greet(name):\n    return 'Hello ' + name\n"
            ),
        },
        stored=("helper.py",),
    )
    init = proxy.init(code, binary=True, main="hello")
    assert init.status_code == 200, init.text
    assert proxy.run().json() == {"msg": "Hello zip", "data": "bundled file"}


def test_zip_without_main_module_fails_init(proxy: Proxy, make_zip: Callable[..., str]) -> None:
    response = proxy.init(make_zip({"main.py": "def main(a):\n    return {}\n"}), binary=True)
    assert response.status_code == 502
    assert "Zip file does not include __main__.py" in response.json()["error"]
    assert proxy.logs() == ([], ["Zip file does not include __main__.py."])


@pytest.mark.parametrize("name", ["../escaped.txt", "/escaped.txt", "a/../../escaped.txt"])
def test_zip_entries_outside_the_folder_are_refused(
    proxy: Proxy, make_zip: Callable[..., str], tmp_path: Path, name: str
) -> None:
    code = make_zip({"__main__.py": "def main(a):\n    return {}\n", name: "escaped"})
    response = proxy.init(code, binary=True)
    assert response.status_code == 502
    assert "leaves the action folder" in response.json()["error"]
    assert not list(tmp_path.rglob("escaped.txt"))


def test_not_a_zip_fails_init(proxy: Proxy) -> None:
    response = proxy.init("bm90IGEgemlw", binary=True)
    assert response.status_code == 502
    assert "uncompressing" in response.json()["error"]


def test_http_edge_cases_do_not_break_the_proxy(proxy: Proxy) -> None:
    assert proxy.client.get("/init").status_code == 404
    assert proxy.client.post("/other", json={}).json() == {"error": "Not found: POST /other"}
    bad = proxy.client.post("/init", content=b"{not json")
    assert bad.status_code == 400
    assert "error" in bad.json()
    assert proxy.client.post("/run", content=b"[1]").status_code == 400
    assert proxy.logs() == ([], [])
    chunked = proxy.client.post(
        "/init", content=iter([b'{"value": {"code": "def main(a):\\n', b' return a\\n"}}'])
    )
    assert chunked.status_code == 200
    assert proxy.run({"x": "y"}).json() == {"x": "y"}


def test_connections_are_kept_alive(proxy: Proxy) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
    connection.request("POST", "/init", body=b'{"value": {"code": "def main(a):\\n return a\\n"}}')
    assert connection.getresponse().read() == b'{"ok":true}'
    first_socket = connection.sock
    for n in range(3):
        connection.request("POST", "/run", body=b'{"value": {"n": %d}}' % n)
        response = connection.getresponse()
        assert response.getheader("Content-Length") == str(len(b'{"n":0}'))
        assert response.read() == b'{"n":%d}' % n
    assert connection.sock is first_socket
    connection.close()


def test_pipelined_requests_are_all_answered(proxy: Proxy) -> None:
    proxy.init("def main(a):\n    return a\n")
    bodies = [b'{"value": {"n": %d}}' % n for n in range(3)]
    requests = b"".join(b"POST /run HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (len(b), b) for b in bodies)
    with socket.create_connection(("127.0.0.1", proxy.port)) as client:
        client.sendall(requests)
        received = b""
        while received.count(b"{") < 3:
            received += client.recv(4096)
    assert [part.split(b"\r\n\r\n")[1] for part in received.split(b"HTTP/1.1 ")[1:]] == [
        b'{"n":0}',
        b'{"n":1}',
        b'{"n":2}',
    ]


def test_idle_and_garbage_connections_do_not_block_others(proxy: Proxy) -> None:
    idle = socket.create_connection(("127.0.0.1", proxy.port))
    garbage = socket.create_connection(("127.0.0.1", proxy.port))
    garbage.sendall(b"NONSENSE\r\n\r\n")
    assert garbage.recv(1024).startswith(b"HTTP/1.1 400 ")
    assert proxy.init("def main(a):\n    return {'up': True}\n").status_code == 200
    assert proxy.run().json() == {"up": True}
    idle.close()
    garbage.close()


def test_expect_100_continue_is_answered(proxy: Proxy) -> None:
    body = b'{"value": {"code": "def main(a):\\n return a\\n"}}'
    with socket.create_connection(("127.0.0.1", proxy.port)) as client:
        client.sendall(
            b"POST /init HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert client.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        client.sendall(body)
        assert client.recv(1024).endswith(b'\r\n\r\n{"ok":true}')


def test_sigterm_removes_the_unpacked_action(
    proxy: Proxy, make_zip: Callable[..., str], tmp_path: Path
) -> None:
    proxy.init(make_zip({"__main__.py": "def main(a):\n    return {}\n"}), binary=True)
    assert list((tmp_path / "tmp-0").iterdir())
    assert proxy.terminate() == 0
    assert not list((tmp_path / "tmp-0").iterdir())
