"""The Azure Functions front: every function app under the project, served on one port as `func start` does."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from emulator import __version__
from emulator.discovery import find_files
from emulator.events import Invocation
from emulator.fronts import FrontContext, capture_invocation
from emulator.ids import random_uuid
from emulator.tasks import BackgroundTasks
from providers.azure.functionapp import AppError, AzureFunction, FunctionApp, apply_host_settings, load_app
from providers.azure.http import HostApp
from providers.azure.indexing import Indexer
from providers.azure.keys import Keys
from providers.azure.ncrontab import ScheduleError, parse
from providers.azure.requests import HttpCall
from providers.azure.routes import RouteTemplate
from providers.azure.service import FAMILIES, PROVIDER, AzureService, Throttle
from providers.azure.timers import Timers, timer_data

log = logging.getLogger("emu.azure")
INDEXED = ("v2", "v4")  # models whose functions are declared in code
RUNTIME_NAMES = {"v1": "", "v2": " (v2)", "v4": " (v4)", "custom": ""}
ALL_METHODS = ["GET", "POST", "DELETE", "HEAD", "PATCH", "PUT", "OPTIONS", "TRACE"]


class InvokeError(Exception):
    """Why `emu invoke` cannot run a function, with the status the admin API answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class AzureFront:
    name = PROVIDER

    def __init__(self, context: FrontContext) -> None:
        self.settings = context.settings
        self.store = context.store
        self.base_url = context.settings.base_url("azure")
        self.service = AzureService(context.store, context.invoker, context.events, context.deps)
        self.deps = context.deps
        # The dependency folders each v2 app was last indexed with (its requirements.txt, installed).
        self.indexed_with: dict[str, list[Path]] = {}
        self.project: Path | None = None
        self.pool = context.invoker.pool
        self.indexer = Indexer()
        self.keys = Keys(context.settings.state_dir / "azure") if context.settings.azure_enable_auth else None
        self.apps_by_root: dict[str, FunctionApp] = {}
        self.routes: list[tuple[FunctionApp, AzureFunction]] = []
        self.timers = Timers(self._fire_timer)
        self.background = BackgroundTasks()
        self.started = time.monotonic()
        self.host = HostApp(self)

    # -- project ---------------------------------------------------------------------------------

    def load_project(self, root: Path) -> list[str]:
        self.project = root
        problems: list[str] = []
        loaded: dict[str, FunctionApp] = {}
        for host_json in find_files(root, ["host.json"]):
            folder = host_json.parent
            if any(Path(other).resolve() in folder.resolve().parents for other in loaded):
                continue  # a host.json inside an app (a copied folder, a build output) is not another app
            try:
                app = load_app(folder)
            except AppError as error:
                problems.append(str(error))
                previous = self.apps_by_root.get(str(folder))
                if previous is not None:
                    loaded[str(folder)] = previous  # keep serving the last good version
                continue
            # An app whose requirements are not installed yet is indexed once they are (at start).
            manifest = folder / ("requirements.txt" if app.model == "v2" else "package.json")
            if app.model in INDEXED and (str(folder) in self.indexed_with or not manifest.exists()):
                self.indexer.index(app, self.indexed_with.get(str(folder), []))
            apply_host_settings(app)
            loaded[str(folder)] = app
            problems += app.problems
        problems += self._check_names(loaded)
        for root_key, app in self.apps_by_root.items():
            if root_key not in loaded or loaded[root_key].revision != app.revision:
                self.pool.retire(self.service.pool_key(app))
        self.apps_by_root = loaded
        self._mirror_to_store(root)
        self.routes = sorted(
            ((app, f) for app in loaded.values() for f in app.functions.values() if f.is_http and f.route),
            key=lambda item: precedence(item[0], item[1]),
        )
        problems += self._schedule_timers()
        if self.timers.running:
            self.background.spawn(self._install_dependencies())
        return problems

    async def _install_dependencies(self) -> bool:
        """Install v2/v4 apps' dependencies (importing their code needs them) and index them again.

        Indexing runs at load, which cannot wait for pip; so an app is indexed first with what is
        installed already, and again once its requirements are in. True when anything changed.
        """
        changed = False
        for root, app in list(self.apps_by_root.items()):
            if app.model not in INDEXED:
                continue
            folders = await self.deps.ensure(app.root, FAMILIES[app.worker_runtime])
            if root not in self.indexed_with or folders != self.indexed_with[root]:
                self.indexed_with[root] = folders
                changed = True
        if changed and self.project is not None:
            for problem in self.load_project(self.project):
                log.warning("%s", problem)
        return changed

    def _check_names(self, loaded: dict[str, FunctionApp]) -> list[str]:
        """One host serves one app's names: a second app with the same function name is left out."""
        problems, seen = [], {}
        for app in loaded.values():
            for name in list(app.functions):
                if name.lower() in seen:
                    problems.append(
                        f"{app.root}: function '{name}' is already defined in {seen[name.lower()]}"
                    )
                    del app.functions[name]
                else:
                    seen[name.lower()] = app.root
        return problems

    def _mirror_to_store(self, root: Path) -> None:
        """The store lists deployed functions for the reload summary and `emu` commands."""
        declared = set()
        for app in self.apps_by_root.values():
            for function in app.functions.values():
                declared.add((app.name, function.name))
                doc = {**function.describe(), "revision": app.revision, "directory": str(function.directory)}
                existing = self.store.get_entity(PROVIDER, app.name, function.name)
                if existing is None or existing.doc != doc:
                    self.store.put_entity(PROVIDER, app.name, function.name, "functions", doc, str(app.root))
        resolved = root.resolve()
        for entity in self.store.list_entities(PROVIDER):
            if (entity.namespace, entity.path) in declared or entity.source is None:
                continue
            if Path(entity.source).resolve().is_relative_to(resolved):
                self.store.delete_entity(PROVIDER, entity.namespace, entity.path)

    def _schedule_timers(self) -> list[str]:
        problems = []
        wanted = {}
        for app in self.apps_by_root.values():
            for function in app.functions.values():
                if function.trigger_type.lower() != "timertrigger" or function.disabled:
                    continue
                text = str(function.trigger.get("schedule", ""))
                expanded = app.settings.get(text.strip("%"), text) if text.startswith("%") else text
                try:
                    schedule = parse(expanded)
                except ScheduleError as error:
                    problems.append(f"{app.root}: function '{function.name}': {error}")
                    continue
                on_startup = bool(function.trigger.get("runOnStartup", False))
                wanted[(str(app.root), function.name)] = (f"{expanded}|{app.revision}", schedule, on_startup)
        self.timers.sync(wanted)
        return problems

    # -- lookups ---------------------------------------------------------------------------------

    def find(self, name: str) -> tuple[FunctionApp, AzureFunction] | None:
        for app in self.apps_by_root.values():
            for function in app.functions.values():
                if function.name.lower() == name.lower():
                    return app, function
        return None

    def match(
        self, method: str, path: str
    ) -> tuple[FunctionApp, AzureFunction, dict[str, str | None]] | None:
        """The function for a request, or None (a wrong method does not match: the host's 404)."""
        for app, function in self.routes:
            prefix = "/" + app.route_prefix if app.route_prefix else ""
            if prefix and not (
                path.lower() == prefix.lower() or path.lower().startswith(prefix.lower() + "/")
            ):
                continue
            methods = function.methods
            if methods is not None and method.upper() not in methods:
                continue
            assert function.route is not None
            values = function.route.match(path[len(prefix) :])
            if values is not None:
                return app, function, values
        return None

    # -- the front protocol ---------------------------------------------------------------------

    def families(self) -> set[str]:
        return {FAMILIES.get(app.worker_runtime, "python") for app in self.apps_by_root.values()}

    def functions(self) -> list[dict[str, Any]]:
        """Every function by its name; `label` is Core Tools' line for the console's table:
        `Name: [GET,POST]` for HTTP functions, `Name: timerTrigger` for others."""
        listing = []
        for app in self.apps_by_root.values():
            runtime = f"{app.worker_runtime}{RUNTIME_NAMES.get(app.model, '')}"
            for function in app.functions.values():
                item: dict[str, Any] = {
                    "provider": PROVIDER,
                    "name": function.name,
                    "runtime": runtime,
                    "source": str(app.root),
                    "trigger": function.trigger_type,
                    "key": self.service.pool_key(app),  # one worker serves the whole app
                }
                if function.is_http:
                    methods = function.methods or ALL_METHODS
                    item["methods"] = methods
                    item["label"] = f"{function.name}: [{','.join(methods)}]"
                    item["url"] = self.base_url + app.http_path(function)
                else:
                    item["label"] = f"{function.name}: {function.trigger_type}"
                    item["url"] = f"{self.base_url}/admin/functions/{function.name}"
                listing.append(item)
        return listing

    async def invoke(self, name: str, payload: Any) -> Invocation:
        """An HTTP function gets `payload` as a JSON POST (GET when it takes no POST), as a caller
        with the master key would send it; any other is run as `POST /admin/functions/{name}`
        runs it, with `payload` as its `input`."""
        found = self.find(name)
        if found is None:
            raise InvokeError(404, f"no function {name} in the Azure function apps")
        app, function = found
        if function.disabled:
            raise InvokeError(404, f"the function {function.name} is disabled")
        invocation_id = random_uuid()
        if function.is_http:
            call = self._http_call(app, function, payload)
            run = self.service.invoke(app, function, call, call.worker_value(), invocation_id)
        else:
            trigger = self.admin_trigger(function, payload)
            run = self.service.invoke(app, function, None, trigger, invocation_id)
        try:
            return await capture_invocation(self.service.events, invocation_id, run)
        except Throttle:
            raise InvokeError(429, f"{function.name} is busy: too many calls wait for its app") from None

    def _http_call(self, app: FunctionApp, function: AzureFunction, payload: Any) -> HttpCall:
        methods = function.methods
        method = "POST" if methods is None or "POST" in methods else (methods[0] if methods else "GET")
        body = json.dumps(payload).encode() if method == "POST" else b""
        path = app.http_path(function)
        host = self.base_url.split("://", 1)[-1]
        headers = [(b"host", host.encode()), (b"user-agent", f"emu/{__version__}".encode())]
        if body:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        scope = {"method": method, "path": path, "raw_path": path.encode(), "headers": headers}
        call = HttpCall.from_scope(scope, body)
        # A route with parameters is invoked at its template's path: its values are then unset.
        prefix = "/" + app.route_prefix if app.route_prefix else ""
        matched = function.route.match(path[len(prefix) :]) if function.route else None
        call.route_values = matched or {}
        return call

    def apps(self) -> dict[str, ASGIApp]:
        return {"azure": self.host}

    async def start(self) -> None:
        await self._install_dependencies()
        self.timers.start()
        for invocation_id, request in self.store.pending(PROVIDER):
            self.background.spawn(self._run_pending(invocation_id, request))
        if self.keys is not None:
            log.warning("function keys are enforced; they are in %s", self.keys.path)

    async def close(self) -> None:
        await self.timers.close()
        await self.background.close()

    # -- non-HTTP invocations -------------------------------------------------------------------

    def accept(self, name: str, trigger: dict[str, Any]) -> None:
        """Store an admin-API invocation before answering 202, then run it in the background."""
        invocation_id = f"admin-{random_uuid()}"
        request = {"function": name, "trigger": trigger}
        self.store.add_pending(invocation_id, PROVIDER, request)
        self.background.spawn(self._run_pending(invocation_id, request))

    async def _run_pending(self, invocation_id: str, request: dict[str, Any]) -> None:
        try:
            found = self.find(str(request.get("function")))
            if found is not None:
                await self.service.invoke(found[0], found[1], None, request["trigger"])
        except Exception:
            log.exception("invocation of %s failed", request.get("function"))
        self.store.remove_pending(invocation_id)

    async def _fire_timer(self, root: str, name: str, data: dict[str, Any]) -> None:
        app = self.apps_by_root.get(root)
        function = app.functions.get(name) if app else None
        if app is None or function is None:
            return
        await self.service.invoke(app, function, None, {"kind": "timer", "data": data})

    def admin_trigger(self, function: AzureFunction, text: Any) -> dict[str, Any]:
        """What `POST /admin/functions/{name}` gives the function: TimerInfo for timers, else the input."""
        if function.trigger_type.lower() == "timertrigger":
            from datetime import datetime, timezone

            return {"kind": "timer", "data": timer_data(None, datetime.now(timezone.utc))}
        return {"kind": "input", "data": text}

    def uptime_s(self) -> float:
        return time.monotonic() - self.started


def precedence(app: FunctionApp, function: AzureFunction) -> tuple[Any, ...]:
    template: RouteTemplate = function.route  # type: ignore[assignment]
    prefix = tuple(1 for _ in app.route_prefix.split("/") if app.route_prefix)
    # Routes with a method constraint come first among equal templates, as ASP.NET prefers them.
    return (*prefix, *template.precedence(), 9, 0 if function.methods else 1)
