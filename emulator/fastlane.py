"""A front's hottest routes served without Starlette's middleware stack and route walk.

A warm invoke is the call emu exists for, and on it Starlette's error middleware, exception
middleware, router walk and per-route wrapper cost about as much CPU as the front's own work.
`FastLane` sits in front of a front's Starlette app: a request that matches one of its few routes
goes through the app's own middleware to the endpoint, and a raised error through the app's own
exception handlers, so the answer is the same; every other request goes to the app unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


class FastLane:
    def __init__(
        self, app: Starlette, routes: Sequence[Route], middleware: Sequence[Middleware] = ()
    ) -> None:
        self.app = app
        self._routes = list(routes)
        self._handlers: dict[Any, ErrorHandler] = dict(app.exception_handlers)  # type: ignore[arg-type]
        matched: ASGIApp = self._endpoint
        for item in reversed(middleware):
            cls, args, kwargs = item
            matched = cls(matched, *args, **kwargs)
        self._matched = matched

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            for route in self._routes:
                if route.methods is not None and method not in route.methods:
                    continue
                match = route.path_regex.match(path)
                if match is None:
                    continue
                scope["app"] = self.app
                scope["endpoint"] = route.endpoint
                scope["path_params"] = {
                    key: route.param_convertors[key].convert(value)
                    for key, value in match.groupdict().items()
                }
                await self._matched(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _endpoint(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        endpoint: Endpoint = scope["endpoint"]
        try:
            response = await endpoint(request)
        except Exception as error:
            response = await self._handler_for(error)(request, error)
        await response(scope, receive, send)

    def _handler_for(self, error: Exception) -> ErrorHandler:
        for cls in type(error).__mro__:
            handler = self._handlers.get(cls)
            if handler is not None:
                return handler
        handler = self._handlers.get(500)
        if handler is None:
            raise error
        return handler
