"""The OpenWhisk front: one Starlette app serving the controller API and web actions."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from emulator.events import Invocation
from emulator.fastlane import FastLane
from emulator.fronts import FrontContext, capture_invocation
from emulator.pool import Throttled
from providers.openwhisk import activations, kinds
from providers.openwhisk.api import AuthRejected, RestApi
from providers.openwhisk.auth import CHALLENGE
from providers.openwhisk.controller import PROVIDER, Controller
from providers.openwhisk.errors import METHOD_NOT_ALLOWED, NOT_FOUND, OpenWhiskError, error_response
from providers.openwhisk.http import API_CORS, RequestIdMiddleware, tid_of
from providers.openwhisk.manifest import ManifestError, find_manifests, load_manifest
from providers.openwhisk.web import WebActions

log = logging.getLogger("emu.openwhisk")
NAMESPACE = "guest"


class OpenWhiskFront:
    name = PROVIDER

    def __init__(self, context: FrontContext) -> None:
        self.base_url = context.settings.base_url("openwhisk")
        self.controller = Controller(context.store, context.invoker, context.events)
        self.store = context.store

    # -- project discovery ---------------------------------------------------------------------

    def load_project(self, root: Path) -> list[str]:
        """Deploy every manifest.yaml under `root` into the guest namespace; returns problems.

        Run again after a change: unchanged entities keep their version (and warm instances),
        and entities a manifest no longer declares are removed.
        """
        problems = []
        declared: set[str] = set()
        for manifest in find_manifests(root):
            try:
                deployed = load_manifest(manifest)
            except ManifestError as error:
                problems.append(str(error))
                continue
            for entity in deployed:
                declared.add(entity.path)
                try:
                    self._deploy(entity.collection, entity.path, entity.body, entity.source)
                except OpenWhiskError as error:
                    problems.append(f"{manifest}: {entity.collection} {entity.path}: {error.message}")
        if not problems:
            self._remove_undeclared(root, declared)
        return problems

    def _deploy(self, collection: str, path: str, body: dict[str, Any], source: str) -> None:
        if collection == "packages":
            self.controller.put_package(
                NAMESPACE, path, body, overwrite=True, source=source, keep_unchanged=True
            )
        else:
            self.controller.put_action(
                NAMESPACE, path, body, overwrite=True, source=source, keep_unchanged=True
            )

    def _remove_undeclared(self, root: Path, declared: set[str]) -> None:
        root = root.resolve()
        for entity in self.store.list_entities(PROVIDER, NAMESPACE):
            if entity.source is None or entity.path in declared:
                continue
            if not Path(entity.source).resolve().is_relative_to(root):
                continue
            if entity.collection == "actions":
                self.controller.delete_action(NAMESPACE, entity.path)
            else:
                self.controller.delete_package(NAMESPACE, entity.path, force=True)

    def families(self) -> set[str]:
        return {
            kinds.runtime_family(action["exec"])
            for action in self.controller.list_actions(NAMESPACE)
            if action["exec"]["kind"] != "sequence"
        }

    def functions(self) -> list[dict[str, Any]]:
        """Every action, for the admin listing and the start-up table."""
        listing = []
        for entity in self.store.list_entities(PROVIDER, collection="actions"):
            action = entity.doc
            url = f"{self.base_url}/api/v1/namespaces/{entity.namespace}/actions/{entity.path}"
            package, _, name = entity.path.rpartition("/")
            if action_is_web(action):
                url = f"{self.base_url}/api/v1/web/{entity.namespace}/{package or 'default'}/{name}"
            listing.append(
                {
                    "provider": PROVIDER,
                    "name": f"/{entity.namespace}/{entity.path}",
                    "runtime": action["exec"]["kind"],
                    "url": url,
                    "source": entity.source,
                }
            )
        return sorted(listing, key=lambda item: item["name"])

    async def invoke(self, name: str, payload: Any) -> Invocation:
        if not isinstance(payload, dict):
            raise OpenWhiskError(400, "The request content was malformed:\nparameters must be a JSON object")
        path = name.removeprefix(f"/{NAMESPACE}/")
        activation_id = activations.new_activation_id()
        call = self.controller.activate(NAMESPACE, path, payload, activation_id)
        return await capture_invocation(self.controller.events, activation_id, call)

    async def start(self) -> None:
        resumed = self.controller.resume_pending()
        if resumed:
            log.info("resuming %d accepted activations", resumed)

    async def close(self) -> None:
        await self.controller.close()

    # -- HTTP ----------------------------------------------------------------------------------

    def apps(self) -> dict[str, ASGIApp]:
        return {"openwhisk": self.app()}

    def app(self) -> ASGIApp:
        api, web = RestApi(self.controller, self.base_url), WebActions(self.controller)
        middleware = [Middleware(RequestIdMiddleware), Middleware(ApiCorsMiddleware)]
        app = Starlette(
            routes=api.routes() + web.routes(),
            middleware=middleware,
            exception_handlers={
                OpenWhiskError: _openwhisk_error,
                AuthRejected: _auth_rejected,
                Throttled: _throttled,
                HTTPException: _http_exception,
                Exception: _internal_error,
            },
        )
        return FastLane(app, [api.invoke_route(), *web.routes()], middleware)


def action_is_web(action: dict[str, Any]) -> bool:
    return any(a.get("key") == "web-export" and a.get("value") for a in action.get("annotations", []))


class ApiCorsMiddleware:
    """The controller API's CORS headers, and 200 to any preflight outside web actions."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/v1/web/"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await Response(status_code=200, headers=API_CORS)(scope, receive, send)
            return
        cors = [(name.lower().encode(), value.encode()) for name, value in API_CORS.items()]

        async def send_with_cors(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *cors]
            await send(message)

        await self.app(scope, receive, send_with_cors)


async def _openwhisk_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, OpenWhiskError)
    return error_response(error.status, error.message, tid_of(request))


async def _auth_rejected(request: Request, error: Exception) -> Response:
    assert isinstance(error, AuthRejected)
    return error_response(401, error.message, tid_of(request), CHALLENGE)


async def _throttled(request: Request, error: Exception) -> Response:
    assert isinstance(error, Throttled)
    message = f"Too many concurrent requests in flight (count: {error.in_flight}, allowed: {error.allowed})."
    return error_response(429, message, tid_of(request))


async def _http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        allowed = (error.headers or {}).get("Allow", "")
        return error_response(405, METHOD_NOT_ALLOWED.format(allowed), tid_of(request))
    if error.status_code == 404:
        return error_response(404, NOT_FOUND, tid_of(request))
    return error_response(error.status_code, str(error.detail), tid_of(request))


async def _internal_error(request: Request, error: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return error_response(500, "An internal error occurred.", tid_of(request))
