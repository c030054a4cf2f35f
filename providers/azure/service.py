"""Running Azure functions: one pool entry per function app (as one worker serves an app), records, events."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.cockpit.http_view import request_view, response_view
from emulator.deps import DependencyCache
from emulator.events import Events, Invocation
from emulator.ids import random_uuid
from emulator.invoker import Invoker, now_ms
from emulator.model import FunctionSpec, Outcome
from emulator.pool import Throttled
from emulator.store import Store
from providers.azure.customhandler import (
    HandlerRequest,
    HttpResult,
    InvocationFailed,
    forward_request,
    forwarding,
    payload_request,
    read_payload_answer,
)
from providers.azure.functionapp import AzureFunction, FunctionApp
from providers.azure.requests import HttpCall

PROVIDER = "azure"
log = logging.getLogger("emu.azure")
FAMILIES = {"python": "python", "node": "nodejs", "custom": "python"}
# The custom handler's HttpClient waits functionTimeout plus a minute (HttpWorkerOptions).
HANDLER_GRACE_S = 60.0


class Throttle(Exception):
    """More calls than the app's instances and queue take: the host's 429."""


@dataclass
class Result:
    invocation_id: str
    ok: bool
    http: HttpResult | None = None
    logs: list[str] = field(default_factory=list)
    timed_out: bool = False


class AzureService:
    def __init__(self, store: Store, invoker: Invoker, events: Events, deps: DependencyCache) -> None:
        self.store = store
        self.invoker = invoker
        self.events = events
        self.deps = deps

    @staticmethod
    def pool_key(app: FunctionApp) -> str:
        return f"azure:{app.root}"

    def spec(self, app: FunctionApp, dependencies: list[Path] | None = None) -> FunctionSpec:
        custom = app.model == "custom"
        env = {
            "AzureWebJobsScriptRoot": str(app.root),
            "AZURE_FUNCTIONS_ENVIRONMENT": "Development",
            "FUNCTIONS_WORKER_RUNTIME": app.worker_runtime,
            **app.settings,
        }
        settings: dict[str, Any] = {
            "model": app.model,
            "functions": {
                name: {**f.describe(), "directory": str(f.directory)} for name, f in app.functions.items()
            },
        }
        if custom:
            settings["customHandler"] = app.custom_handler or {}
            settings["timeout"] = app.timeout_s + HANDLER_GRACE_S
        value: dict[str, Any] = {
            "name": app.name,
            "main": "",
            "adapter": "azure-custom-handler" if custom else "azure",
            "path": str(app.root),
            "env": env,
            "azure": settings,
        }
        if dependencies:
            value["dependencies"] = [str(path) for path in dependencies]
        return FunctionSpec(
            key=self.pool_key(app),
            revision=app.revision,
            family=FAMILIES.get(app.worker_runtime, "python"),
            init_value=value,
            timeout_s=app.timeout_s,
        )

    async def _spec(self, app: FunctionApp) -> FunctionSpec:
        family = FAMILIES.get(app.worker_runtime, "python")
        folders: list[Path] = []
        if app.model != "custom":
            folders = await self.deps.ensure(app.root, family)
        return self.spec(app, folders)

    async def invoke(
        self,
        app: FunctionApp,
        function: AzureFunction,
        call: HttpCall | None,
        trigger: dict[str, Any],
        invocation_id: str | None = None,
    ) -> Result:
        """Run one invocation: `call` for HTTP triggers, else `trigger` (timer data or admin input)."""
        invocation_id = invocation_id or random_uuid()
        received = now_ms()
        spec = await self._spec(app)
        if app.model == "custom":
            request = self._handler_request(app, function, call, trigger, invocation_id)
            payload = {"value": {"request": request.to_value()}, "activation_id": invocation_id}
        else:
            value = {"function": function.name, "invocationId": invocation_id, "trigger": trigger}
            payload = {"value": value, "activation_id": invocation_id}
        try:
            outcome = await self.invoker.invoke(spec, payload, {}, received)
        except Throttled:
            raise Throttle() from None
        forwarded = app.model == "custom" and call is not None and forwarding(app, function)
        result = self._result(app, function, outcome, invocation_id, forwarded=forwarded)
        self._record(app, function, outcome, result, shown_request(call, trigger))
        return result

    def _handler_request(
        self,
        app: FunctionApp,
        function: AzureFunction,
        call: HttpCall | None,
        trigger: dict[str, Any],
        invocation_id: str,
    ) -> HandlerRequest:
        if call is not None and forwarding(app, function):
            return forward_request(call, invocation_id)
        if call is not None:
            return payload_request(function, invocation_id, call)
        if trigger.get("kind") == "timer":
            return payload_request(function, invocation_id, None, trigger["data"])
        # A string input is JSON-serialised once more, as the host does.
        return payload_request(function, invocation_id, None, json.dumps(trigger.get("data")))

    def _result(
        self,
        app: FunctionApp,
        function: AzureFunction,
        outcome: Outcome,
        invocation_id: str,
        *,
        forwarded: bool,
    ) -> Result:
        logs = [line.text for line in outcome.logs]
        result = Result(invocation_id, ok=False, logs=logs, timed_out=outcome.timed_out)
        if outcome.timed_out:
            timeout = format_timespan(app.timeout_s)
            logs.append(
                f"Timeout value of {timeout} exceeded by function 'Functions.{function.name}' "
                f"(Id: '{invocation_id}'). Initiating cancellation."
            )
            return result
        body = outcome.body
        if (
            outcome.error is not None
            or outcome.status != 200
            or not isinstance(body, dict)
            or "error" in body
        ):
            reason = (
                outcome.error or (body.get("error") if isinstance(body, dict) else None) or outcome.raw[:200]
            )
            logs.append(f"Executed 'Functions.{function.name}' (Failed, Id={invocation_id}): {reason}")
            return result
        if app.model == "custom":
            return self._handler_result(function, body, result, forwarded=forwarded)
        http = body.get("http")
        if isinstance(http, dict):
            result.http = HttpResult(
                int(http.get("status", 200)),
                [(str(k), str(v)) for k, v in http.get("headers", [])],
                base64.b64decode(http.get("body") or ""),
            )
        result.ok = True
        return result

    def _handler_result(
        self, function: AzureFunction, body: dict[str, Any], result: Result, *, forwarded: bool
    ) -> Result:
        status = int(body.get("status", 0))
        data = base64.b64decode(body.get("body") or "")
        headers = [(str(k), str(v)) for k, v in body.get("headers", [])]
        if forwarded:
            # The handler's answer goes back unchanged, whatever its status.
            result.http = HttpResult(status, headers, data)
            result.ok = True
            return result
        try:
            result.http, logs, _ = read_payload_answer(function, status, data)
        except InvocationFailed as error:
            result.logs.append(
                f"Executed 'Functions.{function.name}' (Failed, Id={result.invocation_id}): {error}"
            )
            return result
        result.logs += logs
        result.ok = True
        return result

    def _record(
        self, app: FunctionApp, function: AzureFunction, outcome: Outcome, result: Result, request: Any
    ) -> None:
        duration = max(outcome.end_ms - outcome.start_ms, 0)
        status = "success" if result.ok else ("timeout" if result.timed_out else "failed")
        http = result.http
        response = response_view(http.status, http.headers, http.body) if http else None
        record = {
            "invocationId": result.invocation_id,
            "functionName": function.name,
            "app": app.name,
            "trigger": function.trigger_type,
            "start": outcome.start_ms,
            "end": outcome.end_ms,
            "duration": duration,
            "status": status,
            "httpStatus": result.http.status if result.http else None,
            "cold": outcome.cold,
            "waitTime": outcome.wait_ms,
            "initTime": outcome.init_ms,
            "request": request,
            "response": response,
            "logs": result.logs,
        }
        self.store.put_activation(
            result.invocation_id, PROVIDER, app.name, function.name, outcome.start_ms, record
        )
        self.events.publish(
            Invocation(
                provider=PROVIDER,
                function=function.name,
                id=result.invocation_id,
                status=status,
                start_ms=outcome.start_ms,
                duration_ms=duration,
                cold=outcome.cold,
                wait_ms=outcome.wait_ms,
                init_ms=outcome.init_ms,
                request=request,
                response=response,
                logs=result.logs,
            )
        )


def shown_request(call: HttpCall | None, trigger: dict[str, Any]) -> Any:
    """What the dashboard and `emu logs` show as the invocation's request."""
    if call is None:
        return trigger.get("data")
    path = call.path + (f"?{call.query_string}" if call.query_string else "")
    return request_view(call.method, path, call.headers, call.body)


def format_timespan(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
