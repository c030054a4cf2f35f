"""The Python proxy's ``lambda`` adapter calls handlers the way awslambdaric does."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.runtime.conftest import ARN, LAMBDA_ENV, TRACE_ID, Proxy

NBSP = "\u00a0"

APP = """
import decimal
import json
import logging
import os
import sys

logging.warning("loading")
print("module level")


def handler(event, context):
    kind = event.get("kind") if isinstance(event, dict) else None
    if kind == "raise":
        raise ValueError("bad thing")
    if kind == "exit":
        print("exiting")
        sys.exit(3)
    if kind == "log":
        print("plain print")
        logging.getLogger("app").warning("careful %s", 1)
        logging.info("not shown at the default WARNING level")
        context.log("via context\\n")
        return None
    return {
        "dict": {"a": 1, "b": [1, 2]},
        "str": "text",
        "none": None,
        "list": [1, "two"],
        "unicode": {"name": "Zo\u00eb"},
        "decimal": {"int": decimal.Decimal("3"), "float": decimal.Decimal("1.5")},
        "bytes": b"raw bytes",
        "set": {1, 2},
    }.get(kind, event)
"""

CONTEXT = """
import os
import sys


def handler(event, context):
    identity = context.identity
    client = context.client_context
    return {
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "identity": [identity.cognito_identity_id, identity.cognito_identity_pool_id],
        "client": None if client is None else {
            "custom": client.custom,
            "env": client.env,
            "app_title": client.client.app_title,
            "installation_id": client.client.installation_id,
        },
        "w3c": context.w3c(),
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "env": {k: os.environ.get(k) for k in event["keys"]},
        "cwd": os.getcwd(),
        "path0": sys.path[0],
    }
"""


@pytest.fixture
def proxy(start_proxy: Callable[..., Proxy]) -> Proxy:
    return start_proxy("python")


@pytest.fixture
def app(proxy: Proxy, code_dir: Callable[[dict[str, str]], Path]) -> Proxy:
    folder = code_dir({"app.py": APP})
    init = proxy.init_lambda("app.handler", path=str(folder))
    assert (init.status_code, init.json()) == (200, {"ok": True})
    return proxy


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("dict", b'{"a": 1, "b": [1, 2]}'),
        ("str", b'"text"'),
        ("none", b"null"),
        ("list", b'[1, "two"]'),
        ("unicode", b'{"name": "Zo\\u00eb"}'),
        ("decimal", b'{"int": 3, "float": 1.5}'),
        ("bytes", b"raw bytes"),
    ],
)
def test_results_are_marshalled_like_awslambdaric(app: Proxy, kind: str, body: bytes) -> None:
    response = app.invoke({"kind": kind})
    assert (response.status_code, response.content) == (200, body)
    assert "X-Emu-Function-Error" not in response.headers


def test_any_json_event_reaches_the_handler(app: Proxy) -> None:
    for event in (["a", 1], "text", 7, None, {"nested": {"x": True}}):
        assert app.invoke(event).json() == event


def test_non_ascii_is_kept_from_python_3_12_on(
    proxy: Proxy, code_dir: Callable[[dict[str, str]], Path]
) -> None:
    folder = code_dir({"app.py": APP})
    proxy.init_lambda("app.handler", path=str(folder), env={"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"})
    assert proxy.invoke({"kind": "unicode"}).content == '{"name": "Zoë"}'.encode()


def test_module_output_goes_to_the_first_activation_and_logging_is_formatted(app: Proxy) -> None:
    request_id = "2f6c6c53-8e4b-4a1c-9a87-5a9a0d3c1a11"
    assert app.invoke({"kind": "log"}, request_id=request_id).content == b"null"
    stdout, stderr = app.logs()
    assert stdout[1:3] == ["module level", "plain print"]
    assert stdout[0].startswith("[WARNING]\t20")
    assert stdout[0].endswith("Z\t\tloading")
    level, stamp, rid, message = stdout[3].split("\t")
    assert (level, rid, message) == ("[WARNING]", request_id, "careful 1")
    assert time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S") and stamp[19] == "." and stamp.endswith("Z")
    assert stdout[4:] == ["via context"]
    assert stderr == []


def test_context_and_environment(proxy: Proxy, code_dir: Callable[[dict[str, str]], Path]) -> None:
    folder = code_dir({"ctx.py": CONTEXT})
    assert proxy.init_lambda("ctx.handler", path=str(folder), env={"MY_VAR": "mine"}).status_code == 200
    keys = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "_HANDLER", "MY_VAR", "__OW_ACTIVATION_ID"]
    client_context = {
        "client": {"installation_id": "inst-1", "app_title": "Title"},
        "custom": {"k": "v"},
        "env": {"locale": "en"},
        "w3c": {"traceparent": "00-abc-def-01", "other": "dropped"},
    }
    identity = {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
    response = proxy.invoke(
        {"keys": keys}, request_id="req-1", timeout_ms=5000, client_context=client_context, identity=identity
    )
    result = response.json()
    assert 4000 < result.pop("remaining") <= 5000
    assert result == {
        "request_id": "req-1",
        "function_name": "fn",
        "function_version": "$LATEST",
        "memory_limit_in_mb": "256",
        "invoked_function_arn": ARN,
        "log_group_name": "/aws/lambda/fn",
        "log_stream_name": LAMBDA_ENV["AWS_LAMBDA_LOG_STREAM_NAME"],
        "identity": ["id-1", "pool-1"],
        "client": {
            "custom": {"k": "v"},
            "env": {"locale": "en"},
            "app_title": "Title",
            "installation_id": "inst-1",
        },
        "w3c": {"traceparent": "00-abc-def-01"},
        "trace": TRACE_ID,
        "env": {
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_REGION": "us-east-1",
            "_HANDLER": "ctx.handler",
            "MY_VAR": "mine",
            "__OW_ACTIVATION_ID": None,
        },
        "cwd": str(folder),
        "path0": str(folder),
    }
    # Without client context, identity and trace id: awslambdaric's defaults.
    bare = proxy.invoke({"keys": []}, client_context=None, identity=None, trace_id=None).json()
    assert (bare["client"], bare["identity"], bare["trace"], bare["w3c"]) == (None, [None, None], None, {})
    expired = proxy.invoke({"keys": []}, timeout_ms=-100).json()
    assert expired["remaining"] == 0


def test_a_raised_exception_is_an_unhandled_function_error(app: Proxy) -> None:
    response = app.invoke({"kind": "raise"}, request_id="req-err")
    assert response.status_code == 200
    assert response.headers["X-Emu-Function-Error"] == "Unhandled"
    error = response.json()
    assert list(error) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert (error["errorMessage"], error["errorType"], error["requestId"]) == (
        "bad thing",
        "ValueError",
        "req-err",
    )
    [frame] = error["stackTrace"]
    assert frame.startswith('  File "') and '/app.py", line ' in frame
    assert frame.endswith(', in handler\n    raise ValueError("bad thing")\n')
    assert response.content.startswith(b'{"errorMessage": "bad thing", "errorType": "ValueError"')
    _, stderr = app.logs()
    assert stderr[:2] == ["[ERROR] ValueError: bad thing", "Traceback (most recent call last):"]
    assert stderr[2].startswith(f'{NBSP * 2}File "') and stderr[2].endswith(", in handler")
    assert stderr[3] == f'{NBSP * 4}raise ValueError("bad thing")'


def test_a_result_that_is_not_json_is_a_marshal_error(app: Proxy) -> None:
    response = app.invoke({"kind": "set"}, request_id="req-set")
    assert response.headers["X-Emu-Function-Error"] == "Unhandled"
    assert response.json() == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": "req-set",
        "stackTrace": [],
    }
    assert app.logs()[1][0] == (
        "[ERROR] Runtime.MarshalError: Unable to marshal response: Object of type set is not JSON serializable"
    )


def test_sys_exit_in_the_handler_ends_the_process_with_its_status(app: Proxy) -> None:
    with pytest.raises(httpx.HTTPError):
        app.invoke({"kind": "exit"})
    assert app.process.wait(timeout=10) == 3
    stdout, _ = app.logs()
    assert stdout[-1] == "exiting"


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"app.py": "import not_installed\n"}, "app.handler", "Runtime.ImportModuleError",
         "Unable to import module 'app': No module named 'not_installed'"),
        ({}, "missing.handler", "Runtime.ImportModuleError",
         "Unable to import module 'missing': No module named 'missing'"),
        ({"app.py": "x = 1\n"}, "app.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"),
        ({"app.py": "def handler(e, c):\n    return 1\n"}, "handler", "Runtime.MalformedHandlerName",
         "Bad handler 'handler': not enough values to unpack (expected 2, got 1)"),
        ({"app.py": "def handler(e, c):\n    return 1\n"}, "sys.handler", "Runtime.BuiltInModuleConflict",
         "Cannot use built-in module sys as a handler module"),
    ],
)  # fmt: skip
def test_init_errors_use_awslambdaric_types_and_messages(
    proxy: Proxy,
    code_dir: Callable[[dict[str, str]], Path],
    files: dict[str, str],
    handler: str,
    error_type: str,
    message: str,
) -> None:
    response = proxy.init_lambda(handler, path=str(code_dir(files)))
    assert response.status_code == 502
    assert response.json() == {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": "",
        "stackTrace": [],
    }
    stdout, stderr = proxy.logs()
    assert stdout == []
    assert stderr[0].startswith("[WARNING]\t") and "LAMBDA_WARNING: Unhandled exception." in stderr[0]
    assert stderr[1:] == [f"[ERROR] {error_type}: {message}", "Traceback (most recent call last):"]


def test_a_syntax_error_is_a_user_code_syntax_error(proxy: Proxy, code_dir: Callable) -> None:
    folder = code_dir({"app.py": "def handler(e, c):\n    return {\n"})
    error = proxy.init_lambda("app.handler", path=str(folder)).json()
    assert error["errorType"] == "Runtime.UserCodeSyntaxError"
    assert error["errorMessage"].startswith("Syntax error in module 'app': ")
    assert error["stackTrace"] == [f'  File "{folder}/app.py" Line 2\n        return {{\n']


def test_an_exception_at_import_keeps_its_type_and_user_frames(proxy: Proxy, code_dir: Callable) -> None:
    folder = code_dir({"app.py": "def fail():\n    raise RuntimeError('no config')\n\nfail()\n"})
    response = proxy.init_lambda("app.handler", path=str(folder))
    assert response.status_code == 502
    error = response.json()
    assert (error["errorType"], error["errorMessage"], error["requestId"]) == (
        "RuntimeError",
        "no config",
        "",
    )
    assert error["stackTrace"][0].startswith('  File "') and "importlib" in error["stackTrace"][0]
    assert (
        error["stackTrace"][-1]
        == f"  File \"{folder}/app.py\", line 2, in fail\n    raise RuntimeError('no config')\n"
    )
    assert not any("lambda_adapter.py" in frame for frame in error["stackTrace"])


def test_sys_exit_at_import_is_a_runtime_exit_error(proxy: Proxy, code_dir: Callable) -> None:
    folder = code_dir({"app.py": "import sys\nsys.exit(4)\n"})
    response = proxy.init_lambda("app.handler", path=str(folder))
    assert (response.status_code, response.json()) == (
        502,
        {"errorType": "Runtime.ExitError", "errorMessage": "Runtime exited with error: exit status 4"},
    )


def test_nested_handler_paths_and_packages(proxy: Proxy, code_dir: Callable) -> None:
    folder = code_dir(
        {
            "src/pkg/__init__.py": "",
            "src/pkg/app.py": "from . import helper\n\ndef handler(e, c):\n    return helper.NAME\n",
            "src/pkg/helper.py": "NAME = 'nested'\n",
        }
    )
    assert proxy.init_lambda("src/pkg/app.handler", path=str(folder)).status_code == 200
    assert proxy.invoke({}).json() == "nested"


def test_path_code_is_used_in_place_and_left_untouched(proxy: Proxy, code_dir: Callable) -> None:
    folder = code_dir(
        {
            "app.py": "import helper\n\ndef handler(e, c):\n    return helper.VALUE\n",
            "helper.py": "VALUE = 42\n",
        }
    )
    before = sorted(path.name for path in folder.rglob("*"))
    assert proxy.init_lambda("app.handler", path=str(folder)).status_code == 200
    assert proxy.invoke({}).json() == 42
    assert sorted(path.name for path in folder.rglob("*")) == before


def test_zip_code_and_plain_code(
    start_proxy: Callable[..., Proxy], make_zip: Callable[..., str], tmp_path: Path
) -> None:
    zipped = start_proxy("python")
    code = make_zip(
        {
            "lib/app.py": "import json\n\ndef handler(e, c):\n    return open('data.txt').read()\n",
            "data.txt": "zipped",
        }
    )
    assert zipped.init_lambda("lib/app.handler", code=code, binary=True).status_code == 200
    assert zipped.invoke({}).json() == "zipped"
    plain = start_proxy("python")
    assert plain.init_lambda("index.handler", code="def handler(e, c):\n    return e\n").status_code == 200
    assert plain.invoke({"x": 1}).json() == {"x": 1}
    assert plain.terminate() == 0
    assert not list((tmp_path / "tmp-1").iterdir())


def test_a_second_init_and_a_missing_folder_are_refused(
    proxy: Proxy, code_dir: Callable, tmp_path: Path
) -> None:
    missing = proxy.init_lambda("app.handler", path=str(tmp_path / "nowhere"))
    assert missing.status_code == 502
    assert missing.json()["errorMessage"] == f"The code folder '{tmp_path / 'nowhere'}' does not exist."
    folder = code_dir({"app.py": APP})
    assert proxy.init_lambda("app.handler", path=str(folder)).status_code == 200
    assert proxy.init_lambda("app.handler", path=str(folder)).status_code == 403


def test_openwhisk_actions_can_use_a_path_too(proxy: Proxy, code_dir: Callable) -> None:
    folder = code_dir(
        {
            "__main__.py": "import helper\n\ndef main(args):\n    return {'v': helper.V}\n",
            "helper.py": "V = 1\n",
        }
    )
    response = proxy.post("/init", {"value": {"main": "main", "path": str(folder)}})
    assert response.json() == {"ok": True}
    assert proxy.run().json() == {"v": 1}
    assert sorted(path.name for path in folder.iterdir()) == ["__main__.py", "helper.py"]
