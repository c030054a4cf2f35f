"""The controller REST API under /api/v1: namespaces, actions, packages, activations."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from providers.openwhisk import activations, entities, kinds
from providers.openwhisk.auth import AuthMissing, namespace_for
from providers.openwhisk.controller import MAX_BLOCKING_WAIT_S, Controller
from providers.openwhisk.errors import (
    AUTH_INVALID,
    AUTH_MISSING,
    BAD_ACTIVATION_ID,
    NOT_AUTHORIZED,
    NOT_FOUND,
    OpenWhiskError,
)
from providers.openwhisk.http import MAX_ACTION_BYTES, MAX_PAYLOAD_BYTES, flag, integer, json_object

API_VERSION = {"description": "OpenWhisk API", "api_version": "1.0.0", "api_version_path": "v1",
               "build": "emu", "buildno": "emu",
               "swagger_paths": {"ui": "/docs", "api-docs": "/api-docs"}}  # fmt: skip
LIMITS = {
    "invocationsPerMinute": 60,
    "concurrentInvocations": 30,
    "firesPerMinute": 60,
    "maxActionMemory": 512 * 1024 * 1024,
    "minActionMemory": 128 * 1024 * 1024,
    "maxActionLogs": 10 * 1024 * 1024,
    "minActionLogs": 0,
    "maxActionTimeout": 300_000,
    "minActionTimeout": 100,
    "maxActionConcurrency": 1,
    "minActionConcurrency": 1,
    "maxParameterSize": 1024 * 1024,
    "maxActionInstances": entities.OPTIONAL_LIMITS["instances"][1],
}
MAX_LIST = 200
DEFAULT_LIST = 30
MAX_SKIP = 2**31 - 1  # OpenWhisk's `skip` is a Scala Int


class AuthRejected(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def subject(request: Request) -> str:
    """The namespace the caller's key owns, checked against the `{namespace}` in the URL."""
    try:
        owner = namespace_for(request.headers.get("authorization"))
    except AuthMissing:
        raise AuthRejected(AUTH_MISSING) from None
    except Exception:
        raise AuthRejected(AUTH_INVALID) from None
    requested = request.path_params.get("namespace", "_")
    if requested not in ("_", owner):
        raise OpenWhiskError(403, NOT_AUTHORIZED)
    return owner


def list_window(request: Request, collection: str) -> tuple[int, int]:
    limit = integer(request, "limit", DEFAULT_LIST)
    skip = integer(request, "skip", 0)
    assert limit is not None and skip is not None
    if limit < 0 or limit > MAX_LIST:
        raise OpenWhiskError(
            400, f"The value '{limit}' is not in the range of 0 to {MAX_LIST} for {collection}."
        )
    if not 0 <= skip <= MAX_SKIP:
        raise OpenWhiskError(
            400, f"The value '{skip}' is not in the range of 0 to {MAX_SKIP} for {collection}."
        )
    return (limit or MAX_LIST), skip


class RestApi:
    def __init__(self, controller: Controller, base_url: str) -> None:
        self.controller = controller
        self.base_url = base_url

    def invoke_route(self) -> Route:
        """POST to an action: the route every warm call takes."""
        return Route("/api/v1/namespaces/{namespace}/actions/{path:path}", self.action, methods=["POST"])

    def routes(self) -> list[Route]:
        ns = "/api/v1/namespaces/{namespace}"
        return [
            Route("/", self.info, methods=["GET"]),
            Route("/ping", self.ping, methods=["GET"]),
            Route("/api/v1", self.api_info, methods=["GET"]),
            Route("/api/v1/", self.api_info, methods=["GET"]),
            Route("/api/v1/namespaces", self.namespaces, methods=["GET"]),
            Route(ns + "/limits", self.limits, methods=["GET"]),
            Route(ns + "/actions", self.list_actions, methods=["GET"]),
            Route(ns + "/actions/", self.list_actions, methods=["GET"]),
            Route(ns + "/actions/{path:path}", self.action, methods=["GET", "PUT", "DELETE", "POST"]),
            Route(ns + "/packages", self.list_packages, methods=["GET"]),
            Route(ns + "/packages/{name}", self.package, methods=["GET", "PUT", "DELETE"]),
            Route(ns + "/activations", self.list_activations, methods=["GET"]),
            Route(ns + "/activations/{activation_id}", self.activation, methods=["GET"]),
            Route(ns + "/activations/{activation_id}/{part}", self.activation_part, methods=["GET"]),
            Route(ns + "/triggers", self.empty_collection, methods=["GET"]),
            Route(ns + "/rules", self.empty_collection, methods=["GET"]),
        ]

    # -- information ---------------------------------------------------------------------------

    async def info(self, request: Request) -> Response:
        return JSONResponse(
            {
                "description": "OpenWhisk",
                "support": {"github": "https://github.com/apache/openwhisk/issues", "slack": ""},
                "api_paths": ["/api/v1"],
                "limits": {
                    "actions_per_minute": 60,
                    "triggers_per_minute": 60,
                    "concurrent_actions": 30,
                    "sequence_length": entities.MAX_SEQUENCE_LENGTH,
                    "min_action_duration": 100,
                    "max_action_duration": 300_000,
                    "min_action_memory": 128 * 1024 * 1024,
                    "max_action_memory": 512 * 1024 * 1024,
                    "min_action_logsize": 0,
                    "max_action_logsize": 10 * 1024 * 1024,
                },
                "runtimes": kinds.runtimes_manifest(),
            }
        )

    async def ping(self, request: Request) -> Response:
        return PlainTextResponse("pong")

    async def api_info(self, request: Request) -> Response:
        return JSONResponse(API_VERSION)

    async def namespaces(self, request: Request) -> Response:
        return JSONResponse([subject(request)])

    async def limits(self, request: Request) -> Response:
        subject(request)
        return JSONResponse(LIMITS)

    async def empty_collection(self, request: Request) -> Response:
        # Triggers and rules cannot be created in emu yet, so there are never any to list.
        subject(request)
        return JSONResponse({request.url.path.rsplit("/", 1)[1]: 0} if flag(request, "count") else [])

    # -- actions -------------------------------------------------------------------------------

    async def list_actions(self, request: Request) -> Response:
        namespace = subject(request)
        return self._list_actions(request, namespace, None)

    def _list_actions(self, request: Request, namespace: str, package: str | None) -> Response:
        items = self.controller.list_actions(namespace, package)
        if flag(request, "count"):
            return JSONResponse({"actions": len(items)})
        limit, skip = list_window(request, "actions")
        return JSONResponse([entities.action_summary(item) for item in items[skip : skip + limit]])

    async def action(self, request: Request) -> Response:
        namespace = subject(request)
        path: str = request.path_params["path"]
        if path.endswith("/") and request.method == "GET":
            package = path.rstrip("/")
            self.controller.package(namespace, package)
            return self._list_actions(request, namespace, package)
        if request.method == "GET":
            action = self.controller.action(namespace, path)
            return JSONResponse(entities.action_view(action, code=flag(request, "code", True)))
        if request.method == "PUT":
            body = await json_object(request, MAX_ACTION_BYTES)
            action = self.controller.put_action(namespace, path, body, overwrite=flag(request, "overwrite"))
            return JSONResponse(entities.action_view(action))
        if request.method == "DELETE":
            return JSONResponse(entities.action_view(self.controller.delete_action(namespace, path)))
        return await self.invoke(request, namespace, path)

    async def invoke(self, request: Request, namespace: str, path: str) -> Response:
        payload = await json_object(request, MAX_PAYLOAD_BYTES)
        blocking = flag(request, "blocking")
        wait_ms = integer(request, "timeout", round(MAX_BLOCKING_WAIT_S * 1000))
        assert wait_ms is not None
        if blocking and not 0 < wait_ms <= MAX_BLOCKING_WAIT_S * 1000:
            raise OpenWhiskError(400, "Timeout must be number of milliseconds up to 60000.")
        activation_id, record = await self.controller.invoke(
            namespace, path, payload, blocking=blocking, wait_s=wait_ms / 1000
        )
        headers = {"x-openwhisk-activation-id": activation_id}
        if record is None:
            return JSONResponse({"activationId": activation_id}, status_code=202, headers=headers)
        status = activations.HTTP_STATUS[record["statusCode"]]
        result = record["response"]["result"]
        if isinstance(result, list) or flag(request, "result"):
            return JSONResponse(result, status_code=status, headers=headers)
        # The blocking answer is sent before an action's logs are collected in OpenWhisk: they are
        # on GET. A sequence's logs are its component ids, which the controller already has.
        logs = activations.is_sequence(record)
        return JSONResponse(activations.extended(record, logs=logs), status_code=status, headers=headers)

    # -- packages ------------------------------------------------------------------------------

    async def list_packages(self, request: Request) -> Response:
        namespace = subject(request)
        items = self.controller.list_packages(namespace)
        if flag(request, "count"):
            return JSONResponse({"packages": len(items)})
        limit, skip = list_window(request, "packages")
        return JSONResponse([entities.package_summary(item) for item in items[skip : skip + limit]])

    async def package(self, request: Request) -> Response:
        namespace = subject(request)
        name = request.path_params["name"]
        if request.method == "GET":
            return JSONResponse(self.controller.package(namespace, name))
        if request.method == "PUT":
            body = await json_object(request, MAX_PAYLOAD_BYTES)
            return JSONResponse(
                self.controller.put_package(namespace, name, body, overwrite=flag(request, "overwrite"))
            )
        return JSONResponse(self.controller.delete_package(namespace, name, force=flag(request, "force")))

    # -- activations ---------------------------------------------------------------------------

    async def list_activations(self, request: Request) -> Response:
        namespace = subject(request)
        docs = flag(request, "docs")
        if flag(request, "count") and docs:
            raise OpenWhiskError(
                400, "The request content was malformed:\ncount and docs are mutually exclusive"
            )
        name = request.query_params.get("name") or None
        since = integer(request, "since")
        upto = integer(request, "upto")
        if flag(request, "count"):
            records = self.controller.store.list_activations(
                "openwhisk", namespace, name=name, since=since, upto=upto
            )
            return JSONResponse({"activations": len(records)})
        limit, skip = list_window(request, "activations")
        records = self.controller.store.list_activations(
            "openwhisk", namespace, name=name, since=since, upto=upto, limit=limit, skip=skip
        )
        items: list[Any] = [activations.extended(r) if docs else activations.summary(r) for r in records]
        return JSONResponse(items)

    def _record(self, request: Request) -> dict[str, Any]:
        namespace = subject(request)
        activation_id = request.path_params["activation_id"].replace("-", "").lower()
        if not activations.ACTIVATION_ID.match(activation_id):
            raise OpenWhiskError(400, BAD_ACTIVATION_ID)
        record = self.controller.store.get_activation("openwhisk", activation_id)
        if record is None or record["namespace"] != namespace:
            raise OpenWhiskError(404, NOT_FOUND)
        return record

    async def activation(self, request: Request) -> Response:
        return JSONResponse(activations.extended(self._record(request)))

    async def activation_part(self, request: Request) -> Response:
        part = request.path_params["part"]
        if part not in ("result", "logs"):
            raise OpenWhiskError(404, NOT_FOUND)
        record = self._record(request)
        if part == "logs":
            return JSONResponse({"logs": record["logs"]})
        return JSONResponse(activations.extended(record)["response"])
