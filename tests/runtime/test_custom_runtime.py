"""The Python proxy's ``lambda-custom`` adapter runs a bootstrap behind the Lambda Runtime API."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.runtime.conftest import ARN, TRACE_ID, WAIT, Proxy

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="custom runtimes run on Linux")

# A runtime loop speaking the Runtime API with urllib, steered by the event's "kind".
LOOP = """
import json
import os
import sys
import urllib.error
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"


def call(path, body=None, headers=None):
    request = urllib.request.Request(API + path, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def say(*parts):
    # One write per line: the proxy's end-of-activation marker may come at any moment after a
    # response is posted, and must not land inside a line (print writes each part on its own).
    sys.stdout.write(" ".join(map(str, parts)) + "\\n")


print("bootstrap started", os.environ["AWS_LAMBDA_RUNTIME_API"], os.getcwd())
mode = os.environ.get("LOOP_MODE")
if mode == "init-error":
    error = json.dumps({"errorMessage": "no config", "errorType": "Custom.ConfigError"}).encode()
    say("init/error", call("/init/error", error, {"Lambda-Runtime-Function-Error-Type": "Custom.ConfigError"})[0])
    sys.exit(1)
if mode == "init-exit":
    sys.exit(2)
if mode == "impatient":  # a runtime whose HTTP client gives up on a /next, then asks again
    try:
        urllib.request.urlopen(API + "/invocation/next", timeout=0.2)
    except OSError:
        print("gave up waiting")

# What is printed after the event's answer is posted lands in this activation's log or the next one's.
while True:
    status, headers, body = call("/invocation/next")
    request_id = headers["Lambda-Runtime-Aws-Request-Id"]
    event = json.loads(body)
    kind = event.get("kind") if isinstance(event, dict) else None
    print("handling", request_id, kind)
    if kind == "exit":
        sys.exit(5)
    elif kind == "error":
        call(f"/invocation/{request_id}/error", json.dumps({"errorMessage": "it broke", "errorType": "Custom.Error"}).encode())
    elif kind == "text-error":
        call(f"/invocation/{request_id}/error", b"plain words", {"Lambda-Runtime-Function-Error-Type": "Function.Text"})
    elif kind == "checks":
        print("wrong id", *call("/invocation/not-the-id/response", b"1")[::2])
        first = call(f"/invocation/{request_id}/response", b'"checked"')
        second = call(f"/invocation/{request_id}/response", b'"again"')
        say("first", first[0], "second", *second[::2])
    elif kind == "big":
        say("big", *call(f"/invocation/{request_id}/response", b'"' + b"x" * 6291556 + b'"')[::2])
    elif kind == "headers":
        result = {k.lower(): v for k, v in headers.items() if k.lower().startswith(("lambda-runtime", "content-type"))}
        call(f"/invocation/{request_id}/response", json.dumps(result).encode())
    else:
        call(f"/invocation/{request_id}/response", body)
"""

BOOTSTRAP = '#!/bin/sh\nexec "{python}" -u loop.py\n'


@pytest.fixture
def proxy(start_proxy: Callable[..., Proxy]) -> Proxy:
    return start_proxy("python")


@pytest.fixture
def runtime_dir(code_dir: Callable[[dict[str, str]], Path]) -> Path:
    folder = code_dir({"loop.py": LOOP, "bootstrap": BOOTSTRAP.format(python=sys.executable)})
    (folder / "bootstrap").chmod(0o755)
    return folder


def start_runtime(proxy: Proxy, folder: Path) -> None:
    init = proxy.init_lambda("handler.not.used", adapter="lambda-custom", path=str(folder))
    assert (init.status_code, init.json()) == (200, {"ok": True})


def test_events_and_results_pass_through(proxy: Proxy, runtime_dir: Path) -> None:
    start_runtime(proxy, runtime_dir)
    for event in ({"a": [1, 2]}, "text", None, [1, 2]):
        response = proxy.invoke(event, request_id="rid-1")
        assert (response.status_code, response.json()) == (200, event)
        assert "X-Emu-Function-Error" not in response.headers
    stdout, stderr = proxy.logs()
    assert stdout[0].startswith("bootstrap started 127.0.0.1:")
    assert stdout[0].endswith(f" {runtime_dir}")
    assert stdout[1:] == ["handling rid-1 None"]
    assert stderr == []


def test_next_carries_the_invocation_headers(proxy: Proxy, runtime_dir: Path) -> None:
    start_runtime(proxy, runtime_dir)
    client_context = {"custom": {"k": "v"}}
    identity = {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
    before = int(time.time() * 1000)
    headers = proxy.invoke(
        {"kind": "headers"},
        request_id="rid-h",
        timeout_ms=5000,
        client_context=client_context,
        identity=identity,
    ).json()
    assert before + 4000 < int(headers.pop("lambda-runtime-deadline-ms")) <= before + 6000
    assert headers == {
        "content-type": "application/json",
        "lambda-runtime-aws-request-id": "rid-h",
        "lambda-runtime-invoked-function-arn": ARN,
        "lambda-runtime-trace-id": TRACE_ID,
        "lambda-runtime-client-context": json.dumps(client_context, separators=(",", ":")),
        "lambda-runtime-cognito-identity": json.dumps(identity, separators=(",", ":")),
    }
    bare = proxy.invoke({"kind": "headers"}, trace_id=None).json()
    assert not {
        "lambda-runtime-client-context",
        "lambda-runtime-cognito-identity",
        "lambda-runtime-trace-id",
    } & set(bare)


def test_a_next_the_runtime_gave_up_on_does_not_swallow_the_event(proxy: Proxy, runtime_dir: Path) -> None:
    init = proxy.init_lambda(
        "x", adapter="lambda-custom", path=str(runtime_dir), env={"LOOP_MODE": "impatient"}
    )
    assert init.status_code == 200
    while proxy.stdout.lines.get(timeout=WAIT) != "gave up waiting":
        continue
    assert proxy.invoke({"kept": True}).json() == {"kept": True}


def test_posted_errors_are_unhandled_function_errors(proxy: Proxy, runtime_dir: Path) -> None:
    start_runtime(proxy, runtime_dir)
    response = proxy.invoke({"kind": "error"})
    assert (response.status_code, response.headers["X-Emu-Function-Error"]) == (200, "Unhandled")
    assert response.json() == {"errorMessage": "it broke", "errorType": "Custom.Error"}
    text = proxy.invoke({"kind": "text-error"})
    assert text.headers["X-Emu-Function-Error"] == "Unhandled"
    assert text.json() == {"errorType": "Function.Text", "errorMessage": "plain words"}


def test_request_ids_and_states_are_checked(proxy: Proxy, runtime_dir: Path) -> None:
    start_runtime(proxy, runtime_dir)
    assert proxy.invoke({"kind": "checks"}, request_id="rid-c").json() == "checked"
    assert proxy.invoke({"x": 1}, request_id="rid-next").json() == {"x": 1}  # the loop carried on
    # "first ... second ..." is printed after the response was posted: it belongs to this call's
    # log or the next one's, so the two logs are read as one.
    stdout = proxy.logs()[0] + proxy.logs()[0]
    assert stdout[1:] == [
        "handling rid-c checks",
        'wrong id 400 b\'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}\'',
        "first 202 second 403 b'"
        + json.dumps(
            {
                "errorMessage": "State transition from InvocationResponse to InvocationResponse failed for runtime. "
                "Error: State transition is not allowed",
                "errorType": "InvalidStateTransition",
            },
            separators=(",", ":"),
        )
        + "'",
        "handling rid-next None",
    ]


def test_a_response_over_the_limit_is_refused(proxy: Proxy, runtime_dir: Path) -> None:
    start_runtime(proxy, runtime_dir)
    response = proxy.invoke({"kind": "big"})
    assert response.headers["X-Emu-Function-Error"] == "Unhandled"
    assert response.json() == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    assert proxy.invoke({"after": "big"}).json() == {"after": "big"}
    # Printed after the response was posted: it belongs to this call's log or the next one's.
    printed = proxy.logs()[0] + proxy.logs()[0]
    assert (
        'big 413 b\'{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).",'
        '"errorType":"RequestEntityTooLarge"}\''
    ) in printed


def test_the_bootstrap_exiting_during_an_invocation(proxy: Proxy, runtime_dir: Path) -> None:
    start_runtime(proxy, runtime_dir)
    response = proxy.invoke({"kind": "exit"}, request_id="rid-x")
    assert (response.status_code, response.json()) == (
        502,
        {
            "errorType": "Runtime.ExitError",
            "errorMessage": "RequestId: rid-x Error: Runtime exited with error: exit status 5",
        },
    )
    stdout, stderr = proxy.logs()
    assert stdout[-1] == "handling rid-x exit"
    assert stderr == ["RequestId: rid-x Error: Runtime exited with error: exit status 5", "Runtime.ExitError"]
    again = proxy.invoke({}, request_id="rid-y")
    assert again.json()["errorMessage"] == "RequestId: rid-y Error: Runtime exited with error: exit status 5"


def test_an_init_error_posted_by_the_bootstrap(proxy: Proxy, runtime_dir: Path) -> None:
    response = proxy.init_lambda(
        "x", adapter="lambda-custom", path=str(runtime_dir), env={"LOOP_MODE": "init-error"}
    )
    assert (response.status_code, response.json()) == (
        502,
        {"errorMessage": "no config", "errorType": "Custom.ConfigError"},
    )
    stdout, _ = proxy.logs()
    assert stdout[0].startswith("bootstrap started ")


def test_the_bootstrap_exiting_during_init(proxy: Proxy, runtime_dir: Path) -> None:
    response = proxy.init_lambda(
        "x", adapter="lambda-custom", path=str(runtime_dir), env={"LOOP_MODE": "init-exit"}
    )
    assert (response.status_code, response.json()) == (
        502,
        {"errorType": "Runtime.ExitError", "errorMessage": "Runtime exited with error: exit status 2"},
    )


def test_a_missing_or_unusable_bootstrap(proxy: Proxy, code_dir: Callable[[dict[str, str]], Path]) -> None:
    empty = code_dir({})
    missing = proxy.init_lambda("x", adapter="lambda-custom", path=str(empty))
    assert (missing.status_code, missing.json()) == (
        502,
        {
            "errorType": "Runtime.InvalidEntrypoint",
            "errorMessage": f"Couldn't find valid bootstrap(s): [{empty}/bootstrap]",
        },
    )
    not_executable = code_dir({"bootstrap": "#!/bin/sh\n"})
    denied = proxy.init_lambda("x", adapter="lambda-custom", path=str(not_executable))
    assert denied.json() == {
        "errorType": "Runtime.InvalidEntrypoint",
        "errorMessage": f"fork/exec {not_executable}/bootstrap: permission denied",
    }


def test_zip_and_plain_bootstraps(start_proxy: Callable[..., Proxy], make_zip: Callable[..., str]) -> None:
    zipped = start_proxy("python")
    code = make_zip(
        {"loop.py": LOOP, "bootstrap": BOOTSTRAP.format(python=sys.executable)}, executable=("bootstrap",)
    )
    assert zipped.init_lambda("x", adapter="lambda-custom", code=code, binary=True).status_code == 200
    assert zipped.invoke({"zip": True}).json() == {"zip": True}
    plain = start_proxy("python")
    script = f'#!/bin/sh\nexec "{sys.executable}" -u -c "$LOOP"\n'
    assert plain.init_lambda("x", adapter="lambda-custom", code=script, env={"LOOP": LOOP}).status_code == 200
    assert plain.invoke({"plain": True}).json() == {"plain": True}


def test_the_runtime_api_keeps_connections_alive(proxy: Proxy, runtime_dir: Path) -> None:
    start_runtime(proxy, runtime_dir)
    proxy.invoke({})
    stdout, _ = proxy.logs()
    address = stdout[0].split()[2]
    connection = http.client.HTTPConnection(address, timeout=WAIT)
    statuses = []
    for _ in range(3):
        connection.request("POST", "/2018-06-01/runtime/invocation/nobody/response", body=b"{}")
        response = connection.getresponse()
        response.read()
        statuses.append((response.status, response.getheader("Content-Type")))
        if len(statuses) == 1:
            first_socket = connection.sock
    assert statuses == [(400, "application/json")] * 3
    assert connection.sock is first_socket
    connection.request("GET", "/2018-06-01/unknown")
    assert connection.getresponse().status == 404
    connection.close()


def test_the_bootstrap_and_what_it_starts_go_with_the_instance(
    proxy: Proxy, code_dir: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """The bootstrap shares the proxy's process group, which the backend kills to stop an instance."""
    script = (
        "#!/bin/sh\n"
        f'sleep 300 & echo $! > "{tmp_path}/grandchild"\n'
        f'echo $$ > "{tmp_path}/bootstrap"\n'
        f'exec "{sys.executable}" -u loop.py\n'
    )
    folder = code_dir({"loop.py": LOOP, "bootstrap": script})
    (folder / "bootstrap").chmod(0o755)
    start_runtime(proxy, folder)
    processes = [int((tmp_path / name).read_text()) for name in ("bootstrap", "grandchild")]
    assert all(os.getpgid(pid) == os.getpgid(proxy.process.pid) for pid in processes)
    os.killpg(os.getpgid(proxy.process.pid), signal.SIGKILL)
    proxy.process.wait(timeout=WAIT)
    for pid in processes:
        wait_until_gone(pid)


def test_sigterm_stops_the_bootstrap(
    proxy: Proxy, code_dir: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    script = f'#!/bin/sh\necho $$ > "{tmp_path}/bootstrap"\nexec "{sys.executable}" -u loop.py\n'
    folder = code_dir({"loop.py": LOOP, "bootstrap": script})
    (folder / "bootstrap").chmod(0o755)
    start_runtime(proxy, folder)
    bootstrap = int((tmp_path / "bootstrap").read_text())
    assert proxy.terminate() == 0
    wait_until_gone(bootstrap)


def test_the_bootstrap_dies_with_a_killed_proxy(
    proxy: Proxy, code_dir: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    script = f'#!/bin/sh\necho $$ > "{tmp_path}/bootstrap"\nexec "{sys.executable}" -u loop.py\n'
    folder = code_dir({"loop.py": LOOP, "bootstrap": script})
    (folder / "bootstrap").chmod(0o755)
    start_runtime(proxy, folder)
    proxy.process.send_signal(signal.SIGKILL)
    wait_until_gone(int((tmp_path / "bootstrap").read_text()))


def wait_until_gone(pid: int) -> None:
    deadline = time.monotonic() + WAIT
    while is_running(pid):
        assert time.monotonic() < deadline, f"process {pid} is still running"
        time.sleep(0.01)


def is_running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


# --------------------------------------------------------------------------------- awslambdaric

AWSLAMBDARIC = importlib.util.find_spec("awslambdaric") is not None

APP = """
import logging
import os


def handler(event, context):
    if event.get("kind") == "raise":
        raise ValueError("bad thing")
    logging.getLogger().warning("from the handler")
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "remaining_positive": context.get_remaining_time_in_millis() > 0,
        "arn": context.invoked_function_arn,
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
    }
"""


@pytest.fixture
def awslambdaric_dir(code_dir: Callable[[dict[str, str]], Path]) -> Path:
    if not AWSLAMBDARIC:
        pytest.skip("awslambdaric is not installed (pip install 'awslambdaric; sys_platform == \"linux\"')")
    bootstrap = f'#!/bin/sh\nexec "{sys.executable}" -m awslambdaric "$_HANDLER"\n'
    folder = code_dir({"app.py": APP, "broken.py": "import not_installed\n", "bootstrap": bootstrap})
    (folder / "bootstrap").chmod(0o755)
    return folder


def test_awslambdaric_serves_invocations(proxy: Proxy, awslambdaric_dir: Path) -> None:
    init = proxy.init_lambda("app.handler", adapter="lambda-custom", path=str(awslambdaric_dir))
    assert init.status_code == 200, init.text
    for n in range(2):
        response = proxy.invoke({"n": n}, request_id=f"rid-{n}")
        assert (response.status_code, response.json()) == (
            200,
            {
                "event": {"n": n},
                "request_id": f"rid-{n}",
                "function_name": "fn",
                "remaining_positive": True,
                "arn": ARN,
                "trace": TRACE_ID,
            },
        )
        stdout, _ = proxy.logs()
        assert any(
            line.startswith("[WARNING]\t") and line.endswith(f"\trid-{n}\tfrom the handler")
            for line in stdout
        )


def test_awslambdaric_reports_a_raised_error(proxy: Proxy, awslambdaric_dir: Path) -> None:
    assert (
        proxy.init_lambda("app.handler", adapter="lambda-custom", path=str(awslambdaric_dir)).status_code
        == 200
    )
    response = proxy.invoke({"kind": "raise"}, request_id="rid-err")
    assert (response.status_code, response.headers["X-Emu-Function-Error"]) == (200, "Unhandled")
    error = response.json()
    assert (error["errorMessage"], error["errorType"], error["requestId"]) == (
        "bad thing",
        "ValueError",
        "rid-err",
    )
    assert error["stackTrace"][-1].endswith('in handler\n    raise ValueError("bad thing")\n')
    assert proxy.invoke({"after": "error"}).json()["event"] == {"after": "error"}


def test_awslambdaric_import_error_fails_init(proxy: Proxy, awslambdaric_dir: Path) -> None:
    response = proxy.init_lambda("broken.handler", adapter="lambda-custom", path=str(awslambdaric_dir))
    assert (response.status_code, response.json()) == (
        502,
        {
            "errorMessage": "Unable to import module 'broken': No module named 'not_installed'",
            "errorType": "Runtime.ImportModuleError",
            "requestId": "",
            "stackTrace": [],
        },
    )
