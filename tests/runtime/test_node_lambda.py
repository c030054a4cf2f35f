"""The Node.js proxy's ``lambda`` adapter calls handlers the way the AWS Node.js runtime does."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.runtime.conftest import ARN, LAMBDA_ENV, TRACE_ID, Proxy

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t(?P<rid>[^\t]*)\t(?P<level>[A-Z]+)\t(?P<msg>.*)$"
)

INDEX = """
console.log('loading', { module: 'index' });
exports.asyncResult = async (event) => event.result;
exports.promise = (event) => new Promise((resolve) => setTimeout(() => resolve(event.result), 5));
exports.plain = (event) => event.result;
exports.nothing = (event) => { console.log('ran'); };
exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, 'called back'), 5);
  setTimeout(() => console.log('timer done'), 60);
};
exports.noWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => console.log('late timer'), 400);
  callback(null, 'right away');
};
exports.legacy = (event, context) => { setTimeout(() => context.succeed({ legacy: true }), 5); };
exports.throws = () => { throw new TypeError('boom'); };
exports.rejects = async () => { throw new Error('rejected'); };
exports.callbackError = (event, context, callback) => callback(new Error('via callback'));
exports.callbackString = (event, context, callback) => callback('just a string');
exports.contextFail = (event, context) => context.fail();
exports.circular = async () => { const a = {}; a.self = a; return a; };
exports.unhandled = async () => { Promise.reject(new Error('nobody waits')); await new Promise(() => {}); };
exports.uncaught = () => { setTimeout(() => { throw new RangeError('in a timer'); }, 1); };
exports.exit = () => { console.log('bye'); process.exit(3); };
exports.logs = async () => {
  console.log('line %d', 1);
  console.info('info');
  console.debug('debug');
  console.warn('warn');
  console.error('error', new Error('shown'));
  console.trace('trace');
  console.log('two\\nlines');
  return null;
};
exports.context = async (event, context) => ({
  awsRequestId: context.awsRequestId,
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  memoryLimitInMB: context.memoryLimitInMB,
  invokedFunctionArn: context.invokedFunctionArn,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  remaining: context.getRemainingTimeInMillis(),
  waits: context.callbackWaitsForEmptyEventLoop,
  legacy: [typeof context.done, typeof context.succeed, typeof context.fail],
  clientContext: context.clientContext === undefined ? 'undefined' : context.clientContext,
  identity: context.identity === undefined ? 'undefined' : context.identity,
  trace: process.env._X_AMZN_TRACE_ID || null,
  env: Object.fromEntries(event.keys.map((key) => [key, process.env[key] ?? null])),
  cwd: process.cwd(),
});
exports.nested = { deeper: { fn: async () => 'nested property' } };
"""


@pytest.fixture
def proxy(start_proxy: Callable[..., Proxy]) -> Proxy:
    return start_proxy("node")


@pytest.fixture
def index_dir(code_dir: Callable[[dict[str, str]], Path]) -> Path:
    return code_dir({"index.js": INDEX})


def start_index(proxy: Proxy, folder: Path, handler: str, **fields: object) -> Proxy:
    init = proxy.init_lambda(f"index.{handler}", path=str(folder), **fields)
    assert (init.status_code, init.json()) == (200, {"OK": True})
    return proxy


def parse(line: str) -> tuple[str, str, str]:
    match = LOG_LINE.match(line)
    assert match, line
    return match["rid"], match["level"], match["msg"]


@pytest.mark.parametrize("handler", ["asyncResult", "promise", "plain"])
@pytest.mark.parametrize(
    ("result", "body"),
    [({"a": [1, 2]}, b'{"a":[1,2]}'), ("text", b'"text"'), (None, b"null"), ([1, "two"], b'[1,"two"]')],
)
def test_results_of_each_handler_style(
    proxy: Proxy, index_dir: Path, handler: str, result: object, body: bytes
) -> None:
    start_index(proxy, index_dir, handler)
    response = proxy.invoke({"result": result})
    assert (response.status_code, response.content) == (200, body)
    assert "X-Emu-Function-Error" not in response.headers


def test_undefined_becomes_null(proxy: Proxy, index_dir: Path) -> None:
    start_index(proxy, index_dir, "asyncResult")
    assert proxy.invoke({}).content == b"null"


def test_a_sync_handler_without_result_ends_with_null_once_the_loop_is_empty(
    proxy: Proxy, index_dir: Path
) -> None:
    start_index(proxy, index_dir, "nothing")
    for _ in range(2):
        assert proxy.invoke({}).content == b"null"


def test_callback_waits_for_the_event_loop_like_lambda(proxy: Proxy, index_dir: Path) -> None:
    start_index(proxy, index_dir, "callback")
    assert proxy.invoke({}, request_id="rid-cb").json() == "called back"
    stdout, _ = proxy.logs()
    # The module's line, then the timer's: the call ended only after the timer had run.
    assert [parse(line) for line in stdout] == [
        ("undefined", "INFO", "loading { module: 'index' }"),
        ("rid-cb", "INFO", "timer done"),
    ]


def test_callback_without_waiting_returns_at_once(proxy: Proxy, index_dir: Path) -> None:
    start_index(proxy, index_dir, "noWait")
    started = time.monotonic()
    assert proxy.invoke({}).json() == "right away"
    assert time.monotonic() - started < 0.3


def test_legacy_context_succeed(proxy: Proxy, index_dir: Path) -> None:
    start_index(proxy, index_dir, "legacy")
    assert proxy.invoke({}).json() == {"legacy": True}


def test_context_and_environment(proxy: Proxy, index_dir: Path) -> None:
    start_index(proxy, index_dir, "context", env={"MY_VAR": "mine"})
    keys = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "_HANDLER", "MY_VAR", "__OW_ACTIVATION_ID"]
    client_context = {"client": {"app_title": "Title"}, "custom": {"k": "v"}, "env": {"locale": "en"}}
    identity = {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
    result = proxy.invoke(
        {"keys": keys}, request_id="req-1", timeout_ms=5000, client_context=client_context, identity=identity
    ).json()
    assert 4000 < result.pop("remaining") <= 5000
    assert result == {
        "awsRequestId": "req-1",
        "functionName": "fn",
        "functionVersion": "$LATEST",
        "memoryLimitInMB": "256",
        "invokedFunctionArn": ARN,
        "logGroupName": "/aws/lambda/fn",
        "logStreamName": LAMBDA_ENV["AWS_LAMBDA_LOG_STREAM_NAME"],
        "waits": True,
        "legacy": ["function", "function", "function"],
        "clientContext": client_context,
        "identity": identity,
        "trace": TRACE_ID,
        "env": {
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_REGION": "us-east-1",
            "_HANDLER": "index.context",
            "MY_VAR": "mine",
            "__OW_ACTIVATION_ID": None,
        },
        "cwd": str(index_dir),
    }
    bare = proxy.invoke({"keys": []}, trace_id=None).json()
    assert (bare["clientContext"], bare["identity"], bare["trace"]) == ("undefined", "undefined", None)


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("throws", "TypeError", "boom"),
        ("rejects", "Error", "rejected"),
        ("callbackError", "Error", "via callback"),
    ],
)
def test_errors_are_unhandled_function_errors_with_a_trace(
    proxy: Proxy, index_dir: Path, handler: str, error_type: str, message: str
) -> None:
    start_index(proxy, index_dir, handler)
    response = proxy.invoke({}, request_id="rid-err")
    assert (response.status_code, response.headers["X-Emu-Function-Error"]) == (200, "Unhandled")
    error = response.json()
    assert list(error) == ["errorType", "errorMessage", "trace"]
    assert (error["errorType"], error["errorMessage"]) == (error_type, message)
    assert error["trace"][0] == f"{error_type}: {message}"
    assert any(f"{index_dir}/index.js:" in line for line in error["trace"][1:])
    _, stderr = proxy.logs()
    rid, level, text = parse(stderr[-1])
    assert (rid, level) == ("rid-err", "ERROR")
    assert text.startswith("Invoke Error \t{")
    logged = json.loads(text.split("\t", 1)[1])
    assert (logged["errorType"], logged["errorMessage"]) == (error_type, message)
    assert logged["stack"] == error["trace"]


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        ("callbackString", {"errorType": "string", "errorMessage": "just a string", "trace": []}),
        ("contextFail", {"errorType": "string", "errorMessage": "handled", "trace": []}),
    ],
)
def test_errors_that_are_not_error_objects(
    proxy: Proxy, index_dir: Path, handler: str, expected: dict
) -> None:
    start_index(proxy, index_dir, handler)
    response = proxy.invoke({})
    assert response.headers["X-Emu-Function-Error"] == "Unhandled"
    assert response.json() == expected


def test_a_result_that_cannot_be_serialized(proxy: Proxy, index_dir: Path) -> None:
    start_index(proxy, index_dir, "circular")
    error = proxy.invoke({}).json()
    assert (error["errorType"], error["errorMessage"]) == ("Error", "Unable to stringify response body")


@pytest.mark.parametrize(
    ("handler", "status", "error_type", "message", "log_prefix"),
    [
        ("unhandled", 128, "Runtime.UnhandledPromiseRejection", "Error: nobody waits", "Unhandled Promise Rejection \t"),
        ("uncaught", 129, "RangeError", "in a timer", "Uncaught Exception \t"),
    ],
)  # fmt: skip
def test_a_crash_fails_the_invocation_then_ends_the_process(
    proxy: Proxy, index_dir: Path, handler: str, status: int, error_type: str, message: str, log_prefix: str
) -> None:
    start_index(proxy, index_dir, handler)
    response = proxy.invoke({}, request_id="rid-crash")
    assert response.headers["X-Emu-Function-Error"] == "Unhandled"
    error = response.json()
    assert (error["errorType"], error["errorMessage"]) == (error_type, message)
    assert proxy.process.wait(timeout=10) == status
    _, stderr = proxy.logs()
    assert parse(stderr[-1])[2].startswith(log_prefix)


def test_process_exit_ends_the_process_with_its_status(proxy: Proxy, index_dir: Path) -> None:
    start_index(proxy, index_dir, "exit")
    with pytest.raises(httpx.HTTPError):
        proxy.invoke({})
    assert proxy.process.wait(timeout=10) == 3
    stdout, _ = proxy.logs()
    assert parse(stdout[-1])[2] == "bye"


def test_console_is_patched_like_the_aws_runtime(proxy: Proxy, index_dir: Path) -> None:
    start_index(proxy, index_dir, "logs")
    proxy.invoke({}, request_id="rid-log")
    stdout, stderr = proxy.logs()
    assert [parse(line) for line in stdout[1:4]] == [
        ("rid-log", "INFO", "line 1"),
        ("rid-log", "INFO", "info"),
        ("rid-log", "DEBUG", "debug"),
    ]
    assert parse(stdout[4]) == ("rid-log", "TRACE", "trace")
    assert parse(stdout[5]) == ("rid-log", "INFO", "two")
    assert stdout[6] == "lines"
    assert parse(stderr[0]) == ("rid-log", "WARN", "warn")
    rid, level, message = parse(stderr[1])
    assert (rid, level) == ("rid-log", "ERROR") and message.startswith("error Error: shown")


def test_log_level_filters_console(proxy: Proxy, index_dir: Path) -> None:
    start_index(proxy, index_dir, "logs", env={"AWS_LAMBDA_LOG_LEVEL": "warn"})
    proxy.invoke({})
    stdout, stderr = proxy.logs()
    assert stdout == []
    assert [parse(line)[1] for line in stderr if LOG_LINE.match(line)] == ["WARN", "ERROR"]


@pytest.mark.parametrize(
    ("handler", "files", "error_type", "message_start"),
    [
        ("nope.handler", {}, "Runtime.ImportModuleError", "Error: Cannot find module 'nope'"),
        ("index.nope", {"index.js": "exports.handler = 1;"}, "Runtime.HandlerNotFound",
         "index.nope is undefined or not exported"),
        ("index.handler", {"index.js": "exports.handler = 1;"}, "Runtime.HandlerNotFound",
         "index.handler is not a function"),
        ("index", {"index.js": ""}, "Runtime.MalformedHandlerName", "Bad handler"),
        ("../index.handler", {"index.js": ""}, "Runtime.MalformedHandlerName",
         "'../index.handler' is not a valid handler name."),
        ("index.handler", {"index.js": "exports.handler = () => {"}, "Runtime.UserCodeSyntaxError", "SyntaxError: "),
        ("index.handler", {"index.js": "require('not-installed');"}, "Runtime.ImportModuleError",
         "Error: Cannot find module 'not-installed'"),
        ("index.handler", {"index.js": "throw new TypeError('at load');"}, "TypeError", "at load"),
    ],
)  # fmt: skip
def test_init_errors_use_the_runtime_types_and_messages(
    proxy: Proxy,
    code_dir: Callable[[dict[str, str]], Path],
    handler: str,
    files: dict[str, str],
    error_type: str,
    message_start: str,
) -> None:
    response = proxy.init_lambda(handler, path=str(code_dir(files)))
    assert response.status_code == 502
    error = response.json()
    assert list(error) == ["errorType", "errorMessage", "trace"]
    assert error["errorType"] == error_type
    assert error["errorMessage"].startswith(message_start)
    assert error["trace"][0].startswith(f"{error_type}: ")
    stdout, stderr = proxy.logs()
    assert stdout == []
    rid, level, message = parse(stderr[0])
    assert (rid, level) == ("undefined", "ERROR")
    assert message.startswith("Uncaught Exception \t{")


@pytest.mark.parametrize(
    ("handler", "files"),
    [
        ("app.handler", {"app.mjs": "export const handler = async (e) => ({ esm: e.x });"}),
        ("app.handler", {"package.json": '{"type": "module"}', "app.js": "export const handler = async (e) => ({ esm: e.x });"}),
        ("app.handler", {"app.cjs": "exports.handler = async (e) => ({ esm: e.x });"}),
        ("src/lib/app.handler", {"src/lib/app.js": "const { f } = require('../util');\nexports.handler = async (e) => f(e);",
                                 "src/util.js": "exports.f = (e) => ({ esm: e.x });"}),
        ("app.handler", {"app/index.js": "exports.handler = async (e) => ({ esm: e.x });"}),
    ],
)  # fmt: skip
def test_module_kinds_and_nested_paths(
    proxy: Proxy, code_dir: Callable[[dict[str, str]], Path], handler: str, files: dict[str, str]
) -> None:
    assert proxy.init_lambda(handler, path=str(code_dir(files))).status_code == 200
    assert proxy.invoke({"x": 1}).json() == {"esm": 1}


def test_nested_property_handler(proxy: Proxy, index_dir: Path) -> None:
    start_index(proxy, index_dir, "nested.deeper.fn")
    assert proxy.invoke({}).json() == "nested property"


def test_zip_and_plain_code(
    start_proxy: Callable[..., Proxy], make_zip: Callable[..., str], tmp_path: Path
) -> None:
    zipped = start_proxy("node")
    code = make_zip(
        {
            "lib/app.mjs": "import { readFileSync } from 'fs';\nexport const handler = async () => readFileSync('data.txt', 'utf8');",
            "data.txt": "zipped",
        }
    )
    assert zipped.init_lambda("lib/app.handler", code=code, binary=True).status_code == 200
    assert zipped.invoke({}).json() == "zipped"
    plain = start_proxy("node")
    assert plain.init_lambda("src/index.handler", code="exports.handler = async (e) => e;").status_code == 200
    assert plain.invoke({"x": 1}).json() == {"x": 1}
    assert plain.terminate() == 0
    assert not list((tmp_path / "tmp-1").iterdir())


def test_path_code_is_left_untouched(proxy: Proxy, index_dir: Path) -> None:
    start_index(proxy, index_dir, "asyncResult")
    proxy.invoke({"result": 1})
    assert [path.name for path in index_dir.iterdir()] == ["index.js"]


def test_a_second_init_and_unknown_adapters_are_refused(
    start_proxy: Callable[..., Proxy], index_dir: Path
) -> None:
    proxy = start_proxy("node")
    assert proxy.init_lambda("index.plain", adapter="lambda-custom", path=str(index_dir)).status_code == 403
    start_index(proxy, index_dir, "plain")
    assert proxy.init_lambda("index.plain", path=str(index_dir)).status_code == 403


def test_openwhisk_actions_can_use_a_path_too(
    proxy: Proxy, code_dir: Callable[[dict[str, str]], Path]
) -> None:
    folder = code_dir(
        {"package.json": '{"main": "lib/main.js"}', "lib/main.js": "exports.main = (a) => ({ got: a });"}
    )
    response = proxy.post("/init", {"value": {"main": "main", "path": str(folder)}})
    assert response.json() == {"OK": True}
    assert proxy.run({"x": 1}).json() == {"got": {"x": 1}}
