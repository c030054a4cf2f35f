"""The Azure Functions Python worker's calling convention for the runtime proxy (``adapter: "azure"``).

One instance hosts a whole function app, as one Python worker does: the v2 model imports
``function_app.py`` once and indexes its ``FunctionApp``; the v1 model imports each function's
folder as ``__app__.<Folder>`` on its first call. Arguments bind by parameter name to the
binding names of ``function.json`` (a parameter called ``context`` gets the ``Context``), built
from the real ``azure-functions`` library the app requires.

``/run`` value: ``{"function", "invocationId", "trigger": {"kind": "http"|"timer"|"input", ...}}``.
The reply is ``{"http": {"status", "headers", "body"}}`` (body base64), ``{"result": ...}`` for
other triggers, or ``{"error": {"type", "message"}}`` when the function raised: the instance stays
usable, as the worker does after an exception.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import importlib.util
import inspect
import json
import logging
import os
import sys
import traceback
import types
from collections.abc import Callable
from typing import Any

Headers = tuple[tuple[str, str], ...]
Reply = tuple[int, bytes, Headers]
SCRIPT_FILE = "function_app.py"


def encode(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":"), default=str).encode("utf-8")


def source_file(main: str) -> tuple[str, int]:
    return SCRIPT_FILE, 0o644


def start(message: dict, folder: str) -> tuple[Reply, AzureWorker | None]:
    settings = message.get("azure") or {}
    proxy_dir = os.path.dirname(os.path.abspath(__file__))
    if proxy_dir in sys.path:  # the proxy's modules must not shadow user modules
        sys.path.remove(proxy_dir)
    sys.path.insert(0, folder)
    os.chdir(folder)
    setup_logging()
    worker = AzureWorker(folder, settings)
    try:
        worker.load()
    except BaseException as ex:  # the app's import may fail in any way, even sys.exit()
        print_exception(ex)
        body = {"error": {"type": type(ex).__name__, "message": str(ex)}}
        return (502, encode(body), ()), None
    return (200, b'{"ok":true}', ()), worker


class LineHandler(logging.Handler):
    """The worker sends log records to the host, which prints each one on its own line."""

    def emit(self, record: logging.LogRecord) -> None:
        stream = sys.stderr if record.levelno >= logging.ERROR else sys.stdout
        stream.write(self.format(record) + "\n")


def setup_logging() -> None:
    handler = LineHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def print_exception(ex: BaseException) -> None:
    here = os.path.abspath(__file__)
    tb = ex.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == here:
        tb = tb.tb_next
    traceback.print_exception(type(ex), ex, tb, file=sys.stderr)


class AzureWorker:
    def __init__(self, root: str, settings: dict) -> None:
        self.root = root
        self.model = settings.get("model", "v1")
        self.metadata: dict[str, dict] = settings.get("functions") or {}
        self.loaded: dict[str, Callable[..., Any]] = {}
        self.loop = asyncio.new_event_loop()

    def load(self) -> None:
        if self.model != "v2":
            return
        module = import_path("function_app", os.path.join(self.root, SCRIPT_FILE))
        for function in find_function_app(module).get_functions():
            name = function.get_function_name()
            self.loaded[name] = function.get_user_function()

    def run(self, body: dict) -> Reply:
        value = body.get("value") or {}
        name = str(value.get("function", ""))
        metadata = self.metadata.get(name)
        if metadata is None:
            return 404, encode({"error": {"type": "KeyError", "message": f"no function {name}"}}), ()
        try:
            user_function = self.function(name, metadata)
            args, outputs = self.arguments(user_function, metadata, value)
            result = user_function(**args)
            if inspect.isawaitable(result):
                result = self.loop.run_until_complete(result)
            return 200, encode(self.outcome(metadata, result, outputs)), ()
        except Exception as ex:
            print_exception(ex)
            return 200, encode({"error": {"type": type(ex).__name__, "message": str(ex)}}), ()

    def function(self, name: str, metadata: dict) -> Callable[..., Any]:
        if name not in self.loaded:
            self.loaded[name] = load_v1(self.root, name, metadata)
        return self.loaded[name]

    def arguments(self, user_function: Callable[..., Any], metadata: dict, value: dict) -> tuple[dict, dict]:
        import azure.functions as func

        parameters = inspect.signature(user_function).parameters
        args: dict[str, Any] = {}
        outputs: dict[str, Any] = {}
        trigger = value.get("trigger") or {}
        for binding in metadata.get("bindings", []):
            name = binding.get("name")
            kind = str(binding.get("type", "")).lower()
            way = str(binding.get("direction", "")).lower()
            if way == "out" and name != "$return" and name in parameters:
                outputs[name] = args[name] = OutBinding()
            elif way == "in" and kind.endswith("trigger") and name in parameters:
                args[name] = trigger_argument(kind, trigger)
        if "context" in parameters and "context" not in args:
            args["context"] = make_context(func, metadata, value)
        return args, outputs

    def outcome(self, metadata: dict, result: Any, outputs: dict) -> dict:
        for binding in metadata.get("bindings", []):
            if (
                str(binding.get("type", "")).lower() != "http"
                or str(binding.get("direction")).lower() != "out"
            ):
                continue
            name = binding.get("name")
            response = result if name == "$return" else outputs.get(name, OutBinding()).get()
            return {"http": http_response(response)}
        return {"result": result if is_json(result) else repr(result)}

    def close(self) -> None:
        self.loop.close()


class OutBinding:
    """``func.Out``: the worker's concrete class is not in the library, so the adapter gives one."""

    def __init__(self) -> None:
        self.value: Any = None

    def set(self, val: Any) -> None:
        self.value = val

    def get(self) -> Any:
        return self.value


def is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def trigger_argument(kind: str, trigger: dict) -> Any:
    import azure.functions as func

    if kind == "httptrigger" and trigger.get("kind") == "http":
        return func.HttpRequest(
            method=trigger.get("method", "GET"),
            url=trigger.get("url", ""),
            headers=dict(trigger.get("headers") or {}),
            params=dict(trigger.get("query") or {}),
            route_params={k: v for k, v in (trigger.get("params") or {}).items() if v is not None},
            body=base64.b64decode(trigger.get("body") or ""),
        )
    if kind == "timertrigger":
        from azure.functions.timer import TimerRequest  # the concrete class; func.TimerRequest is abstract

        data = trigger.get("data") or {}
        return TimerRequest(
            past_due=bool(data.get("IsPastDue", False)),
            schedule_status=data.get("ScheduleStatus"),
            schedule=data.get("Schedule"),
        )
    # Any other trigger run by the admin API gets the `input` string, as the host passes it.
    return trigger.get("data")


def http_response(response: Any) -> dict:
    """The HTTP answer the host sends for an http output value, as the library's converter makes it."""
    import azure.functions as func

    if response is None:
        return {"status": 200, "headers": [], "body": ""}
    if isinstance(response, str | bytes):
        data = response.encode("utf-8") if isinstance(response, str) else response
        return {"status": 200, "headers": [["Content-Type", "text/plain; charset=utf-8"]], "body": b64(data)}
    if not isinstance(response, func.HttpResponse):
        raise TypeError(f"unable to convert {type(response).__name__} to an HTTP response")
    headers = [[key, value] for key, value in response.headers.items()]
    if not any(key.lower() == "content-type" for key, _ in headers):
        mimetype = response.mimetype or "text/plain"
        content_type = f"{mimetype}; charset={response.charset}" if mimetype.startswith("text/") else mimetype
        headers.append(["Content-Type", content_type])
    return {"status": int(response.status_code), "headers": headers, "body": b64(response.get_body() or b"")}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def make_context(func: Any, metadata: dict, value: dict) -> Any:
    class Context(func.Context):
        """The worker's Context: invocation id, function name and folder, trace and retry context."""

        def __init__(self) -> None:
            self._invocation_id = str(value.get("invocationId", ""))
            self._name = str(metadata.get("name", value.get("function", "")))
            self._directory = str(metadata.get("directory", ""))

        @property
        def invocation_id(self) -> str:
            return self._invocation_id

        @property
        def function_name(self) -> str:
            return self._name

        @property
        def function_directory(self) -> str:
            return self._directory

        @property
        def trace_context(self) -> Any:
            return types.SimpleNamespace(trace_parent="", trace_state="", attributes={})

        @property
        def retry_context(self) -> Any:
            return types.SimpleNamespace(retry_count=0, max_retry_count=0, exception=None)

        @property
        def thread_local_storage(self) -> Any:
            return types.SimpleNamespace(invocation_id=self._invocation_id)

    return Context()


def find_function_app(module: object) -> Any:
    """The one module-level FunctionRegister, as the worker requires."""
    from azure.functions import FunctionRegister

    found = [value for value in vars(module).values() if isinstance(value, FunctionRegister)]
    if len(found) != 1:
        raise ValueError(
            f"function_app.py must define exactly one FunctionApp at module level, found {len(found)}"
        )
    return found[0]


def import_path(name: str, path: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_v1(root: str, name: str, metadata: dict) -> Callable[..., Any]:
    """``__app__.<Folder>`` (or its ``scriptFile`` module) and its ``entryPoint`` (``main``)."""
    if "__app__" not in sys.modules:
        package = types.ModuleType("__app__")
        package.__path__ = [root]  # type: ignore[attr-defined]
        sys.modules["__app__"] = package
    script = str(metadata.get("scriptFile") or "__init__.py")
    folder = os.path.basename(str(metadata.get("directory") or name))
    module_name = f"__app__.{folder}"
    module = importlib.import_module(module_name)
    if os.path.basename(script) != "__init__.py":
        path = os.path.normpath(os.path.join(root, folder, script))
        module = import_path(f"{module_name}.{os.path.splitext(os.path.basename(script))[0]}", path)
    entry = str(metadata.get("entryPoint") or "main")
    function = getattr(module, entry, None)
    if not callable(function):
        raise AttributeError(f"function '{name}': the module has no function '{entry}'")
    return function
