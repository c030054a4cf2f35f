"""Function apps as the Functions host loads them: host.json, local.settings.json, function.json folders.

A function app is a folder with a `host.json`. Its functions come from one folder per function
(`function.json`, the v1 models) or from indexing the code (Python v2 `function_app.py`,
`providers/azure/indexing.py`). Everything here is plain data read from files.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.discovery import folder_fingerprint
from providers.azure.routes import RouteError, RouteTemplate

DEFAULT_ROUTE_PREFIX = "api"
# Core Tools runs functions with the 30-minute default of every plan but Consumption.
DEFAULT_TIMEOUT_S = 30 * 60.0
MAX_TIMEOUT_S = 24 * 3600.0  # "-1" (unbounded) still needs a deadline for the instance
TIMESPAN = re.compile(r"\A(?:(?P<days>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{1,2}):(?P<s>\d{1,2}(?:\.\d+)?)\Z")
PYTHON_SCRIPT = "function_app.py"
WORKER_RUNTIMES = ("python", "node", "custom")


class AppError(Exception):
    """A function app (or one of its functions) the host would refuse, with the file to blame."""


@dataclass
class AzureFunction:
    name: str
    bindings: list[dict[str, Any]]
    directory: Path
    script_file: str | None = None
    entry_point: str | None = None
    disabled: bool = False
    route: RouteTemplate | None = None

    @property
    def trigger(self) -> dict[str, Any]:
        for binding in self.bindings:
            if binding_type(binding).endswith("trigger") and direction(binding) == "in":
                return binding
        return {}

    @property
    def trigger_type(self) -> str:
        return str(self.trigger.get("type", ""))

    @property
    def is_http(self) -> bool:
        return binding_type(self.trigger) == "httptrigger"

    @property
    def methods(self) -> list[str] | None:
        """Upper-case methods, or None for every method (as `methods` omitted means)."""
        methods = self.trigger.get("methods")
        if not methods:
            return None
        return [str(method).upper() for method in methods]

    @property
    def auth_level(self) -> str:
        return str(self.trigger.get("authLevel") or "function").lower()

    def describe(self) -> dict[str, Any]:
        """What the admin API and a reload compare: the function's metadata."""
        return {
            "name": self.name,
            "scriptFile": self.script_file,
            "entryPoint": self.entry_point,
            "bindings": self.bindings,
            "disabled": self.disabled,
        }


@dataclass
class FunctionApp:
    root: Path
    host: dict[str, Any]
    settings: dict[str, str]
    worker_runtime: str
    functions: dict[str, AzureFunction] = field(default_factory=dict)
    model: str = "v1"  # "v1" (function.json folders), "v2" (function_app.py), "custom"
    revision: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def route_prefix(self) -> str:
        http = (self.host.get("extensions") or {}).get("http") or {}
        prefix = http.get("routePrefix", DEFAULT_ROUTE_PREFIX)
        return str(prefix if prefix is not None else DEFAULT_ROUTE_PREFIX).strip("/")

    @property
    def timeout_s(self) -> float:
        return parse_timeout(self.host.get("functionTimeout"))

    @property
    def custom_handler(self) -> dict[str, Any] | None:
        section = self.host.get("customHandler") or self.host.get("httpWorker")
        return section if isinstance(section, dict) else None

    def http_path(self, function: AzureFunction) -> str:
        """`/{routePrefix}/{route or name}` as Core Tools prints it."""
        route = function.trigger.get("route") or function.name
        return "/" + "/".join(part for part in (self.route_prefix, str(route).strip("/")) if part)


def binding_type(binding: dict[str, Any]) -> str:
    return str(binding.get("type", "")).lower()


def direction(binding: dict[str, Any]) -> str:
    return str(binding.get("direction", "")).lower()


def parse_timeout(value: Any) -> float:
    """host.json's `functionTimeout` TimeSpan (`hh:mm:ss`, `d.hh:mm:ss`); "-1" is unbounded."""
    if value is None:
        return DEFAULT_TIMEOUT_S
    text = str(value).strip()
    if text == "-1":
        return MAX_TIMEOUT_S
    found = TIMESPAN.match(text)
    if found is None:
        raise AppError(f"functionTimeout '{text}' is not a TimeSpan such as 00:05:00")
    seconds = int(found["days"] or 0) * 86400 + int(found["h"]) * 3600 + int(found["m"]) * 60
    seconds += float(found["s"])
    if seconds < 1:
        raise AppError(f"functionTimeout '{text}' must be at least 00:00:01")
    return seconds


def read_json(path: Path) -> dict[str, Any]:
    try:
        # The host reads these files leniently: a BOM is fine (editors on Windows write one).
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise AppError(f"{path}: {error}") from None
    if not isinstance(data, dict):
        raise AppError(f"{path}: expected a JSON object")
    return data


def load_app(root: Path) -> FunctionApp:
    """The app in `root` with its function.json functions; v2 functions are added by indexing."""
    host = read_json(root / "host.json")
    version = str(host.get("version", ""))
    if not version.startswith("2."):
        raise AppError(f"{root / 'host.json'}: the 'version' must be \"2.0\" (found {version or 'none'})")
    local = root / "local.settings.json"
    values = read_json(local).get("Values", {}) if local.exists() else {}
    settings = {str(key): "" if value is None else str(value) for key, value in (values or {}).items()}
    app = FunctionApp(root, host, settings, worker_runtime(root, host, settings))
    parse_timeout(host.get("functionTimeout"))  # refuse a bad value at load, as the host does
    if app.worker_runtime == "custom" or app.custom_handler is not None:
        app.model = "custom"
    elif app.worker_runtime == "python" and (root / PYTHON_SCRIPT).exists():
        app.model = "v2"
    elif app.worker_runtime == "node" and not any(root.glob("*/function.json")):
        app.model = "v4"
    if app.model in ("v1", "custom"):
        for folder in sorted(path.parent for path in root.glob("*/function.json")):
            try:
                add_function(app, function_from_folder(app, folder))
            except AppError as error:
                app.problems.append(str(error))
    app.revision = revision(root)
    return app


def worker_runtime(root: Path, host: dict[str, Any], settings: dict[str, str]) -> str:
    declared = settings.get("FUNCTIONS_WORKER_RUNTIME", "").lower()
    if declared:
        return declared
    if isinstance(host.get("customHandler"), dict):
        return "custom"
    if (root / PYTHON_SCRIPT).exists() or any(root.glob("*/__init__.py")):
        return "python"
    if (root / "package.json").exists() or any(root.glob("*/index.js")):
        return "node"
    return "python"


def function_from_folder(app: FunctionApp, folder: Path) -> AzureFunction:
    path = folder / "function.json"
    config = read_json(path)
    bindings = config.get("bindings")
    if not isinstance(bindings, list) or not all(isinstance(b, dict) for b in bindings):
        raise AppError(f"{path}: 'bindings' must be a list of objects")
    function = AzureFunction(
        name=folder.name,
        bindings=bindings,
        directory=folder,
        script_file=config.get("scriptFile"),
        entry_point=config.get("entryPoint"),
        disabled=bool(config.get("disabled", False)) or is_disabled_by_setting(app, folder.name),
    )
    check_function(function, path)
    return function


def is_disabled_by_setting(app: FunctionApp, name: str) -> bool:
    """`AzureWebJobs.<name>.Disabled` = true in the app settings disables a function."""
    value = app.settings.get(f"AzureWebJobs.{name}.Disabled") or os.environ.get(
        f"AzureWebJobs.{name}.Disabled"
    )
    return str(value).lower() in ("true", "1")


def check_function(function: AzureFunction, where: Path | str) -> None:
    triggers = [b for b in function.bindings if binding_type(b).endswith("trigger")]
    if len(triggers) != 1:
        raise AppError(f"{where}: a function needs exactly one trigger binding, found {len(triggers)}")
    if function.is_http:
        template = function.trigger.get("route") or function.name
        try:
            function.route = RouteTemplate(str(template))
        except RouteError as error:
            raise AppError(f"{where}: invalid route: {error}") from None


def add_function(app: FunctionApp, function: AzureFunction) -> None:
    if function.name.lower() in (name.lower() for name in app.functions):
        raise AppError(f"{app.root}: the function name '{function.name}' is used twice")
    app.functions[function.name] = function


def apply_host_settings(app: FunctionApp) -> None:
    """host.json's `functions` (load only these) and `AzureWebJobs.<name>.Disabled` settings."""
    only = app.host.get("functions")
    if isinstance(only, list):
        wanted = {str(name).lower() for name in only}
        app.functions = {name: f for name, f in app.functions.items() if name.lower() in wanted}
    for function in app.functions.values():
        function.disabled = function.disabled or is_disabled_by_setting(app, function.name)


def revision(root: Path) -> str:
    """Changes whenever a file of the app changes: the host restarts its worker on such a change."""
    return folder_fingerprint(root)[:16]
