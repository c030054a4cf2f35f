"""The admin port: the dashboard at `/` and the `/_emu/...` API the `emu` commands use.

- `GET /_emu/health`: 200 once every server listens, 503 before; `degraded` when the Docker engine is gone.
- `GET /_emu/functions`: every function, with its instance counts.
- `GET /_emu/invocations?name=N&limit=L`: recent invocations from the state store, newest first.
- `GET /_emu/events`: invocations as they finish, as Server-Sent Events.
- `POST /_emu/invoke {"name", "provider"?, "payload"}`: run one function; answers the invocation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from emulator.cockpit.records import matches, normalise
from emulator.events import Events, Invocation
from emulator.fronts import Front
from emulator.pool import Pool, Throttled
from emulator.store import Store

DASHBOARD = Path(__file__).resolve().parent / "dashboard"
# A comment line now and then: proxies keep the stream open, and a gone client is noticed.
HEARTBEAT_S = 15.0
# Invocations a slow event-stream client may fall behind by before it misses some.
STREAM_BACKLOG = 1000
MAX_LIMIT = 1000


@dataclass
class AdminContext:
    """The parts of a running gateway the admin port reads."""

    is_ready: Callable[[], bool]
    functions: Callable[[], list[dict[str, Any]]]
    fronts: Callable[[], list[Front]]
    store: Store
    events: Events
    pool: Pool
    stopping: asyncio.Event  # set when the gateway stops: event streams end so shutdown is quick


def pool_key(item: dict[str, Any]) -> str:
    """The pool's key for a listed function: a front's own `key`, else `provider:name`."""
    return str(item.get("key") or f"{item['provider']}:{str(item['name']).lstrip('/')}")


def front_of(item: dict[str, Any]) -> str:
    """The front serving a listed function: its `front` (Cloud Run services are the gcp front's), else its provider."""
    return str(item.get("front") or item["provider"])


def _json(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def _json_response(value: Any) -> Response:
    """JSON of values the clouds produced, which may hold anything (`default=str`)."""
    return Response(_json(value), media_type="application/json")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Admin:
    def __init__(self, context: AdminContext) -> None:
        self.context = context

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self.dashboard, methods=["GET"]),
                Mount("/dashboard", StaticFiles(directory=DASHBOARD), name="dashboard"),
                Route("/_emu/health", self.health, methods=["GET"]),
                Route("/_emu/functions", self.list_functions, methods=["GET"]),
                Route("/_emu/invocations", self.list_invocations, methods=["GET"]),
                Route("/_emu/events", self.stream_events, methods=["GET"]),
                Route("/_emu/invoke", self.invoke, methods=["POST"]),
            ]
        )

    async def dashboard(self, request: Request) -> Response:
        return FileResponse(DASHBOARD / "index.html", headers={"Cache-Control": "no-cache"})

    async def health(self, request: Request) -> Response:
        if not self.context.is_ready():
            return JSONResponse({"status": "starting"}, status_code=503)
        # The docker backend's engine may go away while emu serves: say so, and still answer 200.
        engine_status = getattr(self.context.pool.backend, "engine_status", None)
        problem = await engine_status() if engine_status is not None else None
        if problem is not None:
            return JSONResponse({"status": "degraded", "docker": problem})
        return JSONResponse({"status": "ok"})

    # -- functions -------------------------------------------------------------------------------

    def functions(self) -> list[dict[str, Any]]:
        """Every listed function; those a front runs get `invocable` and their instance counts."""
        fronts = {front.name for front in self.context.fronts()}
        pool = self.context.pool
        listing = []
        for item in self.context.functions():
            item = dict(item)
            if front_of(item) in fronts:
                key = pool_key(item)
                running, queued = pool.load(key)
                counts = {"instances": running + pool.warm(key), "running": running, "queued": queued}
                # A front with a pool of its own (Cloud Functions, Cloud Run) gives its counts itself.
                item = {**counts, **item, "invocable": True}
            listing.append(item)
        return listing

    async def list_functions(self, request: Request) -> Response:
        return _json_response(self.functions())

    # -- invocations -----------------------------------------------------------------------------

    async def list_invocations(self, request: Request) -> Response:
        name = request.query_params.get("name") or None
        try:
            limit = max(1, min(MAX_LIMIT, int(request.query_params.get("limit", "100"))))
        except ValueError:
            return _error(400, "limit must be a whole number")
        # With a name, read further back: the matching ones may be among many others.
        depth = MAX_LIMIT if name else limit
        found = [
            normalise(front.name, doc)
            for front in self.context.fronts()
            for doc in self.context.store.list_activations(front.name, None, limit=depth)
        ]
        found = [item for item in found if matches(name, item)]
        found.sort(key=lambda item: item.get("start") or 0, reverse=True)
        return _json_response(found[:limit])

    async def stream_events(self, request: Request) -> Response:
        name = request.query_params.get("name") or None
        queue: asyncio.Queue[Invocation] = asyncio.Queue(STREAM_BACKLOG)

        def listener(invocation: Invocation) -> None:
            if matches(name, {"provider": invocation.provider, "function": invocation.function}):
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(invocation)

        unsubscribe = self.context.events.subscribe(listener)
        return StreamingResponse(
            self._event_stream(queue, unsubscribe),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _event_stream(
        self, queue: asyncio.Queue[Invocation], unsubscribe: Callable[[], None]
    ) -> AsyncIterator[str]:
        stopping = asyncio.ensure_future(self.context.stopping.wait())
        try:
            yield ": connected\n\n"
            while not stopping.done():
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {getter, stopping}, timeout=HEARTBEAT_S, return_when="FIRST_COMPLETED"
                )
                if getter not in done:
                    getter.cancel()
                    if not stopping.done():
                        yield ": ping\n\n"
                    continue
                invocation = getter.result()
                yield f"event: invocation\nid: {invocation.id}\ndata: {_json(invocation.as_dict())}\n\n"
        finally:
            stopping.cancel()
            unsubscribe()

    async def invoke(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the body must be JSON: {name, provider?, payload}")
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            return _error(400, "the body must be JSON: {name, provider?, payload}")
        found = self._resolve(body.get("provider"), body["name"])
        if isinstance(found, str):
            return _error(404, found)
        front, name = found
        try:
            invocation = await front.invoke(name, body.get("payload", {}))
        except Throttled as error:
            return _error(429, f"{name} is busy: {error}")
        except Exception as error:
            status, message = getattr(error, "status", None), getattr(error, "message", None)
            if isinstance(status, int) and isinstance(message, str):  # the cloud's own error
                return _error(status, message)
            raise
        return _json_response(invocation.as_dict())

    def _resolve(self, provider: str | None, name: str) -> tuple[Front, str] | str:
        """The front and listed name of the function `name` means, or why there is none."""
        fronts = {front.name: front for front in self.context.fronts()}
        listed = [item for item in self.context.functions() if front_of(item) in fronts]
        if provider is None:
            head, _, rest = name.partition("/")
            if head in {item["provider"] for item in listed} and rest:
                provider, name = head, rest
        candidates = [
            item
            for item in listed
            if (provider is None or item["provider"] == provider) and matches(name, item)
        ]
        exact = [item for item in candidates if str(item["name"]).lstrip("/") == name.lstrip("/")]
        chosen = exact or candidates
        where = f" on {provider}" if provider else ""
        if not chosen:
            return f"no function {name}{where}"
        if len(chosen) > 1:
            names = ", ".join(f"{item['provider']}/{str(item['name']).lstrip('/')}" for item in chosen)
            return f"{name}{where} is ambiguous: {names}"
        item = chosen[0]
        front = fronts[front_of(item)]
        if not callable(getattr(front, "invoke", None)):
            return f"emu cannot invoke {item['provider']} functions from here yet"
        # A front that lists two kinds of things under one name space (functions and services) says
        # which one an item is in its `target`.
        return front, str(item.get("target") or item["name"])
