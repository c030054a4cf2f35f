"""OpenWhisk action proxy for Python: ``POST /init`` and ``POST /run`` on one port.

Runs as ``python3 proxy.py`` inside a bare ``python:3.x-slim`` container or as a local
process, so it uses the standard library only. It behaves like the Python runtime of
OpenWhisk (the Go ActionLoop proxy plus ``launcher.py``): same status codes, same error
bodies, and the ``XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX`` sentinel on stdout and stderr
after every activation.

Protocol with the process that starts it: once listening, the first stdout line is
``EMU_PROXY_READY <port>``; everything after it on stdout/stderr is the action's log.
Environment: ``__EMU_PROXY_HOST`` (default ``0.0.0.0``), ``__EMU_PROXY_PORT`` (default
``8080``, ``0`` lets the OS pick a port).

The HTTP/1.1 server is a small hand-written one rather than ``http.server``: importing
``http.server`` pulls in ``http.client``, ``email`` and ``ssl``, about 20 ms more before
READY. Requests are served one at a time on the main thread (the platform runs one
activation per instance, and the action's ``main`` then runs where Python code expects
to run, e.g. it may install signal handlers).

``/init`` may ask for another calling convention with ``adapter``: ``lambda`` (AWS Lambda's
Python runtime, ``lambda_adapter.py``) or ``lambda-custom`` (a custom runtime's ``bootstrap``
behind the Lambda Runtime API, ``runtime_api.py``). Those modules sit next to this file
and are only imported when asked for, so OpenWhisk start-up does not pay for them.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import selectors
import signal
import socket
import sys
from collections.abc import Callable

SENTINEL = b"XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n"
INIT_FAILED = "The action failed to generate or locate a binary. See logs for details."
NOT_A_DICT = "The action did not return a dictionary or array."
MAX_BODY = 64 * 1024 * 1024
MAX_LINE = 64 * 1024
MAX_HEADERS = 100
# Seconds a client may stall while sending one request; idle keep-alive connections
# cost nothing, only a half-sent request holds up the (single-threaded) server.
CLIENT_TIMEOUT = 10.0
REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

# The adapters answer with extra response headers; OpenWhisk replies have none.
Headers = tuple[tuple[str, str], ...]
Reply = tuple[int, bytes, Headers]
NO_HEADERS: Headers = ()
PROXY_DIR = os.path.dirname(os.path.abspath(__file__))
ADAPTERS = {
    "lambda": "lambda_adapter",
    "lambda-custom": "runtime_api",
    "azure": "azure_adapter",
    "azure-custom-handler": "azure_custom_handler",
}


def encode(payload: object) -> bytes:
    """Compact UTF-8 JSON; like the launcher, no ASCII escaping and no NaN (not JSON)."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def error_reply(status: int, message: str) -> Reply:
    return status, encode({"error": message}), NO_HEADERS


class ActionError(Exception):
    """An init failure whose message explains it fully; no traceback is logged."""


class Action:
    """The one action this instance hosts: loaded by ``init``, called by ``run``."""

    def __init__(self) -> None:
        self.main: Callable[[object], object] | None = None
        self.adapter: Adapter | None = None
        self.workdirs: list[str] = []

    def init(self, body: dict) -> Reply:
        if self.main is not None or self.adapter is not None:
            return error_reply(403, "Cannot initialize the action more than once.")
        message = body.get("value")
        message = message if isinstance(message, dict) else {}
        if not has_code(message):
            return error_reply(403, "Missing main/no code to execute.")
        add_dependencies(message.get("dependencies"))
        if message.get("adapter") is not None:
            return self._init_adapter(message)
        try:
            self.main = self._load(message)
        except BaseException as ex:  # the action's import may fail in any way, even sys.exit()
            log_failure(ex)
            return error_reply(502, f"{INIT_FAILED} {describe(ex)}")
        return 200, encode({"ok": True}), NO_HEADERS

    def run(self, body: dict) -> Reply:
        if self.adapter is not None:
            return self.adapter.run(body)
        if self.main is None:
            return error_reply(500, "no action defined yet")
        export_activation_env(body)
        try:
            result = self.main(body.get("value", {}))
        except Exception as ex:
            log_failure(ex)
            return 200, encode({"error": str(ex)}), NO_HEADERS
        except BaseException as ex:  # sys.exit() in main: the real launcher process dies here
            log_failure(ex)
            self.main = None
            return error_reply(400, "command exited")
        return encode_result(result)

    def cleanup(self) -> None:
        import shutil

        if self.adapter is not None:
            self.adapter.close()
        for workdir in self.workdirs:
            shutil.rmtree(workdir, ignore_errors=True)

    def _load(self, message: dict) -> Callable[[object], object]:
        export_init_env(message.get("env"))
        name = message.get("main") or "main"
        if not isinstance(name, str):
            raise ActionError(f"The main function name must be a string, not {name!r}.")
        workdir = self._code_folder(message, "main__.py", 0o644)
        entry = os.path.join(workdir, "main__.py" if is_plain_source(message) else "__main__.py")
        if not os.path.isfile(entry):
            where = "Zip file" if message.get("binary") else "The code folder"
            raise ActionError(f"{where} does not include __main__.py.")
        # Like the ActionLoop launcher: the action runs from its own folder.
        os.chdir(workdir)
        sys.path.insert(0, workdir)
        add_virtualenv(workdir)
        return entry_point(import_file("main__", entry), name)

    def _init_adapter(self, message: dict) -> Reply:
        kind = message.get("adapter")
        if kind not in ADAPTERS:
            return error_reply(403, f"Unsupported adapter {kind!r}.")
        if "_emu_children" not in sys.modules:  # what the adapters share
            import_file("_emu_children", os.path.join(PROXY_DIR, "children.py"))
        adapter = import_file(f"_emu_{ADAPTERS[kind]}", os.path.join(PROXY_DIR, f"{ADAPTERS[kind]}.py"))
        export_init_env(message.get("env"))
        source, mode = adapter.source_file(str(message.get("main") or ""))
        try:
            folder = self._code_folder(message, source, mode)
        except ActionError as ex:
            print(ex, file=sys.stderr)
            return 502, encode({"errorMessage": str(ex), "errorType": "Runtime.Unknown"}), NO_HEADERS
        reply, self.adapter = adapter.start(message, folder)
        return reply

    def _code_folder(self, message: dict, source: str, mode: int) -> str:
        """The folder holding the code: ``path`` as it is, or a temporary one we fill."""
        import tempfile

        path = message.get("path")
        if isinstance(path, str) and path:
            if not os.path.isdir(path):
                raise ActionError(f"The code folder '{path}' does not exist.")
            # The folder is the user's project: importing must not leave __pycache__ in it.
            sys.dont_write_bytecode = True
            return os.path.abspath(path)
        workdir = tempfile.mkdtemp(prefix="emu-action-")
        self.workdirs.append(workdir)
        if not is_plain_source(message):
            unpack_zip(message["code"], workdir)
            return workdir
        check_member(source)  # the file name comes from the handler string
        write_source(message["code"], os.path.join(workdir, source), mode)
        return workdir


class Adapter:
    """The interface of what an adapter module's ``start`` returns (matched by duck typing)."""

    def run(self, body: dict) -> Reply: ...

    def close(self) -> None: ...


def has_code(message: dict) -> bool:
    path, code = message.get("path"), message.get("code")
    return (isinstance(path, str) and bool(path)) or (isinstance(code, str) and bool(code))


def is_plain_source(message: dict) -> bool:
    return not message.get("path") and not message.get("binary")


def export_init_env(env: object) -> None:
    if not isinstance(env, dict):
        return
    for key, value in env.items():
        if value is None:
            os.environ[str(key)] = ""
        else:
            os.environ[str(key)] = value if isinstance(value, str) else json.dumps(value)


def export_activation_env(body: dict) -> None:
    """Every string field next to ``value`` becomes ``__OW_<FIELD>``, as the runtimes do."""
    for key, value in body.items():
        if key != "value" and isinstance(value, str):
            try:
                os.environ[f"__OW_{key.upper()}"] = value
            except ValueError:  # a name or value the OS refuses (NUL, '=')
                continue


def encode_result(result: object) -> Reply:
    if not isinstance(result, dict | list | tuple):
        print(f"The action returned {type(result).__name__}, not a dictionary or array.", file=sys.stderr)
        return error_reply(502, NOT_A_DICT)
    try:
        return 200, encode(result), NO_HEADERS
    except (TypeError, ValueError) as ex:
        print(f"The action result is not JSON serializable: {ex}", file=sys.stderr)
        return error_reply(502, NOT_A_DICT)


def write_source(code: str, path: str, mode: int) -> None:
    """Plain code is saved as a file (``main__.py`` for OpenWhisk) so tracebacks show its lines."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        file.write(code)
    os.chmod(path, mode)


def unpack_zip(code: str, workdir: str) -> None:
    import base64
    import binascii

    try:
        data = base64.b64decode(code)
    except (binascii.Error, ValueError) as ex:
        raise ActionError(f"The action code is not valid base64: {ex}") from ex
    try:
        extract_zip(data, workdir)
    except ActionError:
        raise
    except Exception as ex:
        raise ActionError(f"There was an error uncompressing the action archive: {ex}") from ex


def extract_zip(data: bytes, workdir: str) -> None:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        for member in members:
            check_member(member.filename)
        archive.extractall(workdir)
        for member in members:
            # zipfile drops permissions; bundled scripts and binaries need their x bit.
            mode = (member.external_attr >> 16) & 0o777
            if mode & 0o111 and not member.is_dir():
                os.chmod(os.path.join(workdir, member.filename), mode | 0o400)


def check_member(name: str) -> None:
    """Refuse, rather than silently rename, entries that would land outside the folder."""
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise ActionError(f"Refusing to extract '{name}': the path leaves the action folder.")


def add_dependencies(folders: object) -> None:
    """Put the gateway-installed dependency folders ahead of everything but the code itself."""
    if isinstance(folders, list):
        sys.path[0:0] = [folder for folder in folders if isinstance(folder, str)]


def add_virtualenv(workdir: str) -> None:
    """Put a bundled ``virtualenv``'s site-packages first on ``sys.path`` (as activate_this does)."""
    import glob
    import site

    for packages in sorted(glob.glob(os.path.join(workdir, "virtualenv", "lib", "python*", "site-packages"))):
        before = set(sys.path)
        site.addsitedir(packages)
        added = [entry for entry in sys.path if entry not in before]
        for entry in added:
            sys.path.remove(entry)
        sys.path[1:1] = added  # right after the action folder itself


def import_file(module_name: str, path: str) -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def entry_point(module: object, name: str) -> Callable[[object], object]:
    function = getattr(module, name, None)
    if not callable(function):
        raise ActionError(f"The action code has no function named '{name}'.")
    return function


def describe(ex: BaseException) -> str:
    if isinstance(ex, ActionError):
        return str(ex)
    return f"{type(ex).__name__}: {ex}"


def log_failure(ex: BaseException) -> None:
    """Traceback on stderr, starting at the action's own frames (the proxy's are noise)."""
    if isinstance(ex, ActionError):
        print(ex, file=sys.stderr)
        return
    import traceback  # only failures need it; keeps startup short

    tb = ex.__traceback__
    while tb is not None and is_proxy_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    traceback.print_exception(type(ex), ex, tb, file=sys.stderr)


def is_proxy_frame(filename: str) -> bool:
    return filename == __file__ or filename.startswith("<frozen ")


def write_markers() -> None:
    """Flush what the action printed, then end its log on both streams."""
    flush_output()
    for fd in (1, 2):
        try:
            os.write(fd, SENTINEL)
        except OSError:
            continue


def dispatch(action: Action, method: str, path: str, raw: bytes) -> Reply:
    if method != "POST" or path not in ("/init", "/run"):
        return error_reply(404, f"Not found: {method} {path}")
    try:
        reply = call_endpoint(action, path, raw)
    except Exception as ex:  # a proxy bug must not take the instance down
        log_failure(ex)
        reply = error_reply(500, f"Internal proxy error: {ex}")
    except BaseException:  # a Lambda handler's sys.exit(): the process ends, its log too
        write_markers()
        raise
    # The sentinels end every activation's log, a failed init included.
    if path == "/run" or reply[0] != 200:
        write_markers()
        # The process's peak resident set, so the gateway need not read /proc for Lambda's REPORT.
        status, body, headers = reply
        reply = (status, body, (*headers, ("X-Emu-Peak-Memory-Kb", str(peak_memory_kb()))))
    return reply


def peak_memory_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes there, kilobytes on Linux


def call_endpoint(action: Action, path: str, raw: bytes) -> Reply:
    try:
        body = json.loads(raw)
    except ValueError as ex:
        return error_reply(400, f"Error unmarshaling request: {ex}")
    if not isinstance(body, dict):
        return error_reply(400, "Error unmarshaling request: expected a JSON object")
    return action.init(body) if path == "/init" else action.run(body)


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Request:
    __slots__ = ("body", "keep_alive", "method", "path")

    def __init__(self, method: str, path: str, body: bytes, keep_alive: bool) -> None:
        self.method = method
        self.path = path
        self.body = body
        self.keep_alive = keep_alive


class Connection:
    """One client socket; requests on it are read whole, one at a time."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(CLIENT_TIMEOUT)
        self.sock = sock
        self.rfile = sock.makefile("rb")

    def read_request(self) -> Request | None:
        line = self.rfile.readline(MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):  # stray CRLF between requests is allowed
            line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return None
        if len(line) > MAX_LINE:
            raise HttpError(400, "Request line too long")
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise HttpError(400, "Malformed request line")
        method, target, version = parts
        headers = self.read_headers()
        if headers.get("expect", "").lower() == "100-continue":
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self.read_body(headers)
        return Request(method, target.split("?", 1)[0], body, keep_alive(version, headers))

    def read_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            line = self.rfile.readline(MAX_LINE + 1)
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or len(line) > MAX_LINE:
                raise HttpError(400, "Malformed header line")
            headers[name.strip().lower()] = value.strip()
        raise HttpError(431, "Too many headers")

    def read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self.read_chunked()
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise HttpError(400, "Invalid Content-Length") from None
        if length < 0:
            raise HttpError(400, "Invalid Content-Length")
        if length > MAX_BODY:
            raise HttpError(413, f"Request body larger than {MAX_BODY} bytes")
        return self.read_exactly(length)

    def read_chunked(self) -> bytes:
        chunks = []
        total = 0
        while True:
            try:
                size = int(self.rfile.readline(MAX_LINE + 1).split(b";", 1)[0], 16)
            except ValueError:
                raise HttpError(400, "Malformed chunk size") from None
            if size == 0:
                self.read_headers()  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise HttpError(413, f"Request body larger than {MAX_BODY} bytes")
            chunks.append(self.read_exactly(size))
            self.rfile.readline(MAX_LINE + 1)

    def read_exactly(self, size: int) -> bytes:
        data = self.rfile.read(size)
        if len(data) != size:
            raise HttpError(400, "Request body shorter than announced")
        return data

    def has_buffered_request(self) -> bool:
        """True when a pipelined request already sits in the read buffer (select cannot see it)."""
        self.sock.settimeout(0)
        try:
            return bool(self.rfile.peek(1))
        except OSError:
            return False
        finally:
            self.sock.settimeout(CLIENT_TIMEOUT)

    def send(
        self,
        status: int,
        body: bytes,
        keep_open: bool,
        head_only: bool = False,
        headers: Headers = NO_HEADERS,
    ) -> None:
        connection = "" if keep_open else "Connection: close\r\n"
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}{connection}\r\n"
        ).encode("latin-1")
        # One write: headers and body leave in the same segment.
        self.sock.sendall(head if head_only else head + body)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.rfile.close()
            self.sock.close()


def keep_alive(version: str, headers: dict[str, str]) -> bool:
    tokens = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def serve_one(connection: Connection, action: Action) -> bool:
    """Answer one request; False when the connection should be closed."""
    try:
        request = connection.read_request()
    except HttpError as err:
        reply_and_close(connection, err.status, encode({"error": str(err)}))
        return False
    except OSError:  # timeout or reset while reading
        return False
    if request is None:
        return False
    status, body, headers = dispatch(action, request.method, request.path, request.body)
    try:
        connection.send(status, body, request.keep_alive, request.method == "HEAD", headers)
    except OSError:
        return False
    return request.keep_alive


def serve_all_buffered(connection: Connection, action: Action) -> bool:
    keep_open = serve_one(connection, action)
    while keep_open and connection.has_buffered_request():
        keep_open = serve_one(connection, action)
    return keep_open


def reply_and_close(connection: Connection, status: int, body: bytes) -> None:
    with contextlib.suppress(OSError):
        connection.send(status, body, keep_open=False)


def serve(listener: socket.socket, action: Action) -> None:
    """Single-threaded loop: idle keep-alive connections wait in the selector, not in a read."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                accept(listener, selector)
            elif not serve_all_buffered(key.data, action):
                selector.unregister(key.fileobj)
                key.data.close()


def accept(listener: socket.socket, selector: selectors.BaseSelector) -> None:
    try:
        sock, _ = listener.accept()
    except OSError:
        return
    connection = Connection(sock)
    selector.register(sock, selectors.EVENT_READ, connection)


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=128)


def install_exit_handlers(action: Action) -> None:
    """Stop quietly on SIGTERM/SIGINT and remove the unpacked action."""

    def stop(signum: int, frame: object) -> None:
        action.cleanup()
        flush_output()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def flush_output() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):  # replaced or closed by the action
            continue


def main() -> None:
    # Output reaches the platform through pipes: line-buffer it so logs are not held back.
    sys.stdout.reconfigure(line_buffering=True)
    host = os.environ.get("__EMU_PROXY_HOST", "0.0.0.0")
    port = int(os.environ.get("__EMU_PROXY_PORT", "8080"))
    listener = listen(host, port)
    action = Action()
    install_exit_handlers(action)
    sys.stdout.write(f"EMU_PROXY_READY {listener.getsockname()[1]}\n")
    sys.stdout.flush()
    try:
        serve(listener, action)
    finally:  # a Lambda handler's sys.exit() ends the process through here
        action.cleanup()


if __name__ == "__main__":
    main()
