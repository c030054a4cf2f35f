"""Azure Functions custom handlers inside an instance (``adapter: "azure-custom-handler"``).

``/init`` starts the app's handler as the host does: ``defaultExecutablePath`` with its
``arguments`` (``%NAME%`` expanded from the app settings) in ``workingDirectory`` (the app root by
default), with ``FUNCTIONS_CUSTOMHANDLER_PORT`` set to a free port; then it sends ``GET /`` every
25 ms until any HTTP answer comes (``initializationTimeout``, 30 s by default).

``/run`` sends the one HTTP request the gateway built (the JSON payload or the forwarded call)
and answers ``{"status", "headers", "body"}`` (body base64). Redirects are not followed.
Standard library only, like the proxy.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid

from _emu_children import parent_death_signal  # loaded by proxy.py, next to this file

Headers = tuple[tuple[str, str], ...]
Reply = tuple[int, bytes, Headers]
PROBE_INTERVAL_S = 0.025
EXIT_GRACE_S = 0.5  # how long a handler whose connection broke gets to finish exiting
DEFAULT_INIT_TIMEOUT_S = 30.0
TIMESPAN = re.compile(r"\A(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)\Z")


def encode(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def source_file(main: str) -> tuple[str, int]:
    return "host.json", 0o644


def start(message: dict, folder: str) -> tuple[Reply, CustomHandler | None]:
    settings = message.get("azure") or {}
    section = settings.get("customHandler") or {}
    try:
        handler = CustomHandler(folder, section, float(settings.get("timeout") or 1860))
        handler.launch()
        handler.wait_ready(timespan(section.get("initializationTimeout"), DEFAULT_INIT_TIMEOUT_S))
    except HandlerError as error:
        print(error, file=sys.stderr)
        return (502, encode({"error": str(error)}), ()), None
    return (200, b'{"ok":true}', ()), handler


class HandlerError(Exception):
    pass


def timespan(value: object, default: float) -> float:
    found = TIMESPAN.match(str(value or "").strip())
    if found is None:
        return default
    days, hours, minutes = (int(group or 0) for group in found.groups()[:3])
    return days * 86400 + hours * 3600 + minutes * 60 + float(found.group(4))


def expand(text: str) -> str:
    """``%NAME%`` from the app settings (the environment here), as the host expands arguments."""
    return re.sub(r"%([^%]+)%", lambda m: os.environ.get(m.group(1), m.group(0)), text)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CustomHandler:
    def __init__(self, root: str, section: dict, timeout_s: float) -> None:
        description = section.get("description") or {}
        executable = str(
            description.get("defaultExecutablePath") or description.get("defaultWorkerPath") or ""
        )
        if not executable:
            raise HandlerError("host.json: customHandler.description.defaultExecutablePath is required")
        candidate = os.path.join(root, expand(executable))
        if os.path.isfile(candidate):
            self.executable = os.path.abspath(candidate)
        else:  # not a file of the app: a command on PATH, e.g. `node`
            found = shutil.which(expand(executable))
            if found is None:
                raise HandlerError(f"The custom handler executable '{executable}' was not found.")
            self.executable = found
        arguments = [*description.get("arguments", []), *description.get("workerArguments", [])]
        self.arguments = [expand(str(argument)) for argument in arguments]
        self.workdir = os.path.join(root, str(description.get("workingDirectory") or ""))
        self.root = root
        self.timeout_s = timeout_s
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def launch(self) -> None:
        worker_id = str(uuid.uuid4())
        env = {name: value for name, value in os.environ.items() if not name.startswith("__EMU_PROXY_")}
        env.update(
            {
                "FUNCTIONS_CUSTOMHANDLER_PORT": str(self.port),
                "FUNCTIONS_CUSTOMHANDLER_WORKER_ID": worker_id,
                "FUNCTIONS_HTTPWORKER_PORT": str(self.port),
                "FUNCTIONS_HTTPWORKER_ID": worker_id,
                "FUNCTIONS_APP_ROOT_PATH": self.root,
            }
        )
        try:
            self.process = subprocess.Popen(
                [self.executable, *self.arguments],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                preexec_fn=parent_death_signal(),
            )
        except OSError as error:
            raise HandlerError(f"The custom handler could not be started: {error}") from None

    def wait_ready(self, timeout_s: float) -> None:
        """Any HTTP answer to ``GET /`` means ready; a refused connection means not yet."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise HandlerError(
                    f"The custom handler exited with code {self.process.returncode} before it was ready."
                )
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                connection.request("GET", "/")
                connection.getresponse().read()
                return
            except OSError:
                time.sleep(PROBE_INTERVAL_S)
            finally:
                connection.close()
        raise HandlerError(f"The custom handler did not answer on port {self.port} within {timeout_s:g} s.")

    def run(self, body: dict) -> Reply:
        if self.exited(0):
            return self.handler_gone(f"exit code {self.process.returncode if self.process else None}")
        request = (body.get("value") or {}).get("request") or {}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)
        try:
            connection.putrequest(
                str(request.get("method", "POST")),
                str(request.get("path", "/")),
                skip_host=any(name.lower() == "host" for name, _ in request.get("headers", [])),
                skip_accept_encoding=True,
            )
            for name, value in request.get("headers", []):
                connection.putheader(name, value)
            connection.endheaders(base64.b64decode(request.get("body") or "") or None)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            print(f"The custom handler request failed: {error}", file=sys.stderr)
            # A reset connection often comes a moment before the process has finished exiting.
            if self.exited(EXIT_GRACE_S):
                return self.handler_gone(str(error))
            return 200, encode({"error": f"the custom handler request failed: {error}"}), ()
        finally:
            connection.close()
        answer = {
            "status": response.status,
            "headers": [[name, value] for name, value in response.getheaders()],
            "body": base64.b64encode(data).decode("ascii"),
        }
        return 200, encode(answer), ()

    def exited(self, within_s: float) -> bool:
        if self.process is None:
            return False
        try:
            self.process.wait(timeout=within_s) if within_s > 0 else self.process.poll()
        except subprocess.TimeoutExpired:
            return False
        return self.process.returncode is not None

    def handler_gone(self, reason: str) -> Reply:
        # A handler that exited is restarted by the host: a 502 makes the pool replace this instance.
        return 502, encode({"error": f"the custom handler exited: {reason}"}), ()

    def close(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                self.process.kill()
