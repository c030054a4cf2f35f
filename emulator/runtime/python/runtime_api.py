"""Custom runtimes behind the Lambda Runtime API (``adapter: "lambda-custom"``).

The proxy imports this file only when ``/init`` asks for it. ``/init`` serves the Runtime
API (``/2018-06-01/runtime/...``) on an ephemeral 127.0.0.1 port and starts the code
folder's ``bootstrap`` with ``AWS_LAMBDA_RUNTIME_API`` pointing at it; each ``/run`` hands
one event to the bootstrap's waiting ``GET .../invocation/next`` and answers with what it
posts back. The bootstrap writes straight into the proxy's stdout/stderr, so its output
is the activation's log.

The Runtime API runs on threads (``http.server``); ``/init`` and ``/run`` wait for it on
the proxy's main thread through one condition variable.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from _emu_children import parent_death_signal  # loaded by proxy.py, next to this file

Headers = tuple[tuple[str, str], ...]
Reply = tuple[int, bytes, Headers]
UNHANDLED: Headers = (("X-Emu-Function-Error", "Unhandled"),)
PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE = 6291556  # 6 MB + 100 bytes, Lambda's limit on a function's response
MAX_BODY = 64 * 1024 * 1024  # what we read of any other body
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
INVALID_REQUEST_ID = {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}
TOO_LARGE = {
    "errorMessage": f"Exceeded maximum allowed payload size ({MAX_RESPONSE} bytes).",
    "errorType": "RequestEntityTooLarge",
}
RESPONSE_TOO_LARGE = {
    "errorMessage": f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE} bytes).",
    "errorType": "Function.ResponseSizeTooLarge",
}


def source_file(handler: str) -> tuple[str, int]:
    """Plain (unzipped) code is the bootstrap script itself."""
    return "bootstrap", 0o755


def start(message: dict, folder: str) -> tuple[Reply, CustomRuntime | None]:
    """Start the bootstrap; the reply comes when it first asks for an event, or fails.

    The bootstrap is the code folder's ``bootstrap`` file, or ``message["bootstrap"]``: a command
    (a container image's ENTRYPOINT + CMD) run in ``folder``.
    """
    command = message.get("bootstrap")
    if isinstance(command, list) and command:
        argv = [str(part) for part in command]
    else:
        argv = [os.path.join(folder, "bootstrap")]
        if not os.path.isfile(argv[0]):
            return init_failure(
                "Runtime.InvalidEntrypoint", f"Couldn't find valid bootstrap(s): [{argv[0]}]"
            ), None
    bootstrap = argv[0]
    runtime = CustomRuntime(folder, argv)
    try:
        runtime.launch()
    except OSError as ex:  # not executable, no interpreter, ...: Lambda's words are Go's
        runtime.server.server_close()  # never served, so nothing else to stop
        reason = os.strerror(ex.errno) if ex.errno else str(ex)
        return init_failure("Runtime.InvalidEntrypoint", f"fork/exec {bootstrap}: {reason.lower()}"), None
    reply = runtime.state.wait_for_init()
    if reply[0] != 200:
        runtime.close()
        return reply, None
    return reply, runtime


def init_failure(error_type: str, message: str) -> Reply:
    return 502, platform_error(error_type, message), ()


def platform_error(error_type: str, message: str) -> bytes:
    """An error of the platform's own: logged the way Lambda logs it, and its JSON body."""
    print(f"{message}\n{error_type}", file=sys.stderr)
    return encode({"errorType": error_type, "errorMessage": message})


def encode(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def exit_reason(status: int) -> str:
    """How Lambda words a runtime's exit (Go's ProcessState text after the colon)."""
    if status == 0:
        return "Runtime exited without providing a reason"
    if status < 0:
        name = signal.strsignal(-status) or f"signal {-status}"
        return f"Runtime exited with error: signal: {name.lower()}"
    return f"Runtime exited with error: exit status {status}"


def error_body(raw: bytes, error_type: str | None) -> bytes:
    """A posted error as the invoker gets it: JSON as posted, anything else wrapped."""
    try:
        json.loads(raw)
    except ValueError:
        text = raw.decode("utf-8", "replace")
        return encode({"errorType": error_type or "Runtime.Unknown", "errorMessage": text})
    return raw


def init_error_body(raw: bytes, error_type: str | None) -> bytes:
    """Like ``error_body``, and the header's type fills in when the JSON object has none."""
    try:
        error = json.loads(raw)
    except ValueError:
        return error_body(raw, error_type)
    if isinstance(error, dict) and "errorType" not in error:
        return encode({"errorType": error_type or "Runtime.Unknown", **error})
    return raw


class Invocation:
    """One event on its way to the bootstrap, and what came back for it."""

    def __init__(self, body: dict) -> None:
        details = body.get("lambda")
        details = details if isinstance(details, dict) else {}
        self.id = str(body.get("activation_id") or "")
        self.event = json.dumps(body.get("value"), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Lambda-Runtime-Aws-Request-Id": self.id,
            "Lambda-Runtime-Deadline-Ms": str(body.get("deadline") or ""),
            "Lambda-Runtime-Invoked-Function-Arn": str(details.get("invoked_function_arn") or ""),
            "Lambda-Runtime-Trace-Id": str(details.get("trace_id") or ""),
            "Lambda-Runtime-Client-Context": header_json(details.get("client_context")),
            "Lambda-Runtime-Cognito-Identity": header_json(details.get("identity")),
            "Lambda-Runtime-Aws-Tenant-Id": str(details.get("tenant_id") or ""),
        }
        # Like RIE: empty values are left out.
        self.headers: Headers = tuple((name, value) for name, value in headers.items() if value)
        self.outcome: Reply | None = None


def header_json(value: object) -> str:
    return "" if value is None else json.dumps(value, separators=(",", ":"))


class StateError(Exception):
    """A Runtime API call that is not allowed now: the status and body to answer with."""

    def __init__(self, status: int, error: dict) -> None:
        super().__init__(error["errorMessage"])
        self.status = status
        self.error = error


def invalid_transition(current: str, target: str) -> StateError:
    message = f"State transition from {current} to {target} failed for runtime. Error: State transition is not allowed"
    return StateError(403, {"errorMessage": message, "errorType": "InvalidStateTransition"})


class RuntimeState:
    """What the bootstrap and the proxy's main thread share, under one condition."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.ready = False  # the bootstrap asked for its first event: init is over
        self.init_error: bytes | None = None
        self.exit_status: int | None = None
        self.closed = False
        self.pending: Invocation | None = None  # waiting for a /next
        self.current: Invocation | None = None  # the last one handed to the bootstrap

    # The proxy's main thread.

    def wait_for_init(self) -> Reply:
        with self.condition:
            while not self.ready and self.init_error is None and self.exit_status is None:
                self.condition.wait()
            if self.ready:
                return 200, b'{"ok":true}', ()
            if self.init_error is not None:
                return 502, self.init_error, ()
            return init_failure("Runtime.ExitError", exit_reason(self.exit_status))

    def invoke(self, invocation: Invocation) -> Reply:
        with self.condition:
            if self.exit_status is None:
                self.pending = invocation
                self.condition.notify_all()
            while invocation.outcome is None and self.exit_status is None:
                self.condition.wait()
            if invocation.outcome is not None:
                return invocation.outcome
            self.pending = None
            reason = f"RequestId: {invocation.id} Error: {exit_reason(self.exit_status)}"
            return 502, platform_error("Runtime.ExitError", reason), ()

    # The Runtime API's threads.

    def next_invocation(self, connected: Callable[[], bool]) -> Invocation | None:
        """Blocks, with no timeout, until an event comes; None once the runtime is closed or
        the caller hung up (a runtime that gave up on this /next must not lose the event)."""
        with self.condition:
            if self.current is not None and self.current.outcome is None:
                raise invalid_transition("RunningInvoke", "Ready")
            self.ready = True
            self.condition.notify_all()
            while self.pending is None and not self.closed:
                self.condition.wait()
            if self.closed or not connected():
                return None
            self.current, self.pending = self.pending, None
            return self.current

    def post_init_error(self, raw: bytes, error_type: str | None) -> None:
        with self.condition:
            if self.ready or self.init_error is not None:
                raise invalid_transition("Ready" if self.ready else "InitError", "InitError")
            self.init_error = init_error_body(raw, error_type)
            self.condition.notify_all()

    def post_outcome(self, request_id: str, outcome: Reply) -> None:
        with self.condition:
            invocation = self.current
            if invocation is None or invocation.id != request_id:
                raise StateError(400, INVALID_REQUEST_ID)
            if invocation.outcome is not None:
                raise invalid_transition("InvocationResponse", "InvocationResponse")
            invocation.outcome = outcome
            self.condition.notify_all()

    # The bootstrap's watcher thread, and close().

    def exited(self, status: int) -> None:
        with self.condition:
            self.exit_status = status
            self.condition.notify_all()

    def close(self) -> None:
        with self.condition:
            self.closed = True
            self.condition.notify_all()


class RuntimeApiHandler(BaseHTTPRequestHandler):
    """The Runtime API endpoints; HTTP/1.1 so clients such as libcurl keep their connection."""

    protocol_version = "HTTP/1.1"
    server: RuntimeApiServer

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != f"{PREFIX}/invocation/next":
            self.reply_not_found()
            return
        try:
            invocation = self.server.state.next_invocation(self.connected)
        except StateError as err:
            self.reply_json(err.status, err.error)
            return
        if invocation is None:
            self.close_connection = True
            return
        self.reply(200, invocation.event, invocation.headers)

    def do_POST(self) -> None:
        parts = self.path.split("?", 1)[0].split("/")  # "", "2018-06-01", "runtime", ...
        route = parts[3:]
        body, too_large = self.read_body(MAX_RESPONSE if route[-1:] == ["response"] else MAX_BODY)
        error_type = self.headers.get(ERROR_TYPE_HEADER)
        state = self.server.state
        try:
            if "/".join(parts[:3]) != PREFIX:
                self.reply_not_found()
                return
            if route == ["init", "error"]:
                state.post_init_error(body, error_type)
            elif len(route) == 3 and route[0] == "invocation" and route[2] in ("response", "error"):
                request_id = unquote(route[1])
                if route[2] == "error":
                    state.post_outcome(request_id, (200, error_body(body, error_type), UNHANDLED))
                elif too_large:
                    state.post_outcome(request_id, (200, encode(RESPONSE_TOO_LARGE), UNHANDLED))
                    self.reply_json(413, TOO_LARGE)
                    return
                else:
                    state.post_outcome(request_id, (200, body, ()))
            else:
                self.reply_not_found()
                return
        except StateError as err:
            self.reply_json(err.status, err.error)
            return
        self.reply_json(202, {"status": "OK"})

    def connected(self) -> bool:
        """False once the client closed its end (a peek then reads end-of-file)."""
        try:
            self.connection.setblocking(False)
            try:
                return self.connection.recv(1, socket.MSG_PEEK) != b""
            finally:
                self.connection.setblocking(True)
        except BlockingIOError:
            return True  # nothing to read: still there, waiting for its answer
        except OSError:
            return False

    def read_body(self, limit: int) -> tuple[bytes, bool]:
        """The whole body is read (so the connection stays usable); at most ``limit`` is kept."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked(limit)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            self.close_connection = True  # not worth reading: drop the connection after replying
            return b"", True
        body = self.rfile.read(length)
        return (b"", True) if len(body) > limit else (body, False)

    def read_chunked(self, limit: int) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                    continue
                break
            data = self.rfile.read(size)
            self.rfile.readline()
            total += len(data)
            if total <= limit:
                chunks.append(data)
        return (b"", True) if total > limit else (b"".join(chunks), False)

    def reply_json(self, status: int, payload: dict) -> None:
        self.reply(status, encode(payload))

    def reply_not_found(self) -> None:
        self.reply(404, b"404 page not found\n", content_type="text/plain; charset=utf-8")

    def reply(
        self, status: int, body: bytes, headers: Headers = (), content_type: str = "application/json"
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: stderr is the function's log."""


class RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: RuntimeState) -> None:
        super().__init__(("127.0.0.1", 0), RuntimeApiHandler)
        self.state = state

    def handle_error(self, request: object, client_address: object) -> None:
        """Silent: a runtime hanging up mid-request is its own business, and stderr is its log."""

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"


class CustomRuntime:
    """The bootstrap process and its Runtime API; ``run`` serves one ``/run`` call."""

    def __init__(self, folder: str, argv: list[str]) -> None:
        self.folder = folder
        self.argv = argv
        self.state = RuntimeState()
        self.server = RuntimeApiServer(self.state)  # listening already: the bootstrap may connect early
        self.process: subprocess.Popen | None = None

    def launch(self) -> None:
        env = {name: value for name, value in os.environ.items() if not name.startswith("__EMU_PROXY_")}
        env["AWS_LAMBDA_RUNTIME_API"] = self.server.address
        # Spawned before this runtime's threads start, so the fork copies no lock they hold.
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.folder,
            env=env,
            stdin=subprocess.DEVNULL,
            # In the proxy's own process group: the backend stops an instance by killing that
            # group, which then takes whatever the bootstrap started with it.
            preexec_fn=parent_death_signal(),
        )
        threading.Thread(target=self.server.serve_forever, name="runtime-api", daemon=True).start()
        threading.Thread(target=self._watch, name="bootstrap-watch", daemon=True).start()

    def _watch(self) -> None:
        self.state.exited(self.process.wait())

    def run(self, body: dict) -> Reply:
        return self.state.invoke(Invocation(body))

    def close(self) -> None:
        """Kill the bootstrap; waiting ``/next`` calls are dropped."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                self.process.kill()
        self.state.close()
