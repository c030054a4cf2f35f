"""Fronts for the clouds emu does not serve yet: they answer as each cloud does for a route it does not know."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def _azure(request: Request) -> Response:
    # The Functions host answers a route no function claims with an empty 404.
    return Response(status_code=404)


def unknown_route_app(provider: str) -> Starlette:
    handler = {"azure": _azure}[provider]
    return Starlette(routes=[Route("/{path:path}", handler, methods=METHODS)])
