"""The admin port: `/_emu/health` and `/_emu/functions`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def admin_app(is_ready: Callable[[], bool], functions: Callable[[], list[dict[str, Any]]]) -> Starlette:
    async def health(request: Request) -> Response:
        if is_ready():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "starting"}, status_code=503)

    async def list_functions(request: Request) -> Response:
        return JSONResponse(functions())

    return Starlette(
        routes=[
            Route("/_emu/health", health, methods=["GET"]),
            Route("/_emu/functions", list_functions, methods=["GET"]),
        ]
    )
