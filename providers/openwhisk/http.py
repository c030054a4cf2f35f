"""Request plumbing shared by the REST API and web actions: request ids, CORS, bodies, errors."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.bodies import BodyTooLarge, read_capped
from providers.openwhisk.errors import OpenWhiskError, transaction_id

API_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, DELETE, POST, PUT, HEAD",
    "Access-Control-Allow-Headers": "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent",
}
# whisk.activation.payload.max
MAX_PAYLOAD_BYTES = 1024 * 1024
# exec-size-limit: code is sent inside the action's JSON body
MAX_ACTION_BYTES = 48 * 1024 * 1024


class RequestIdMiddleware:
    """Gives every request a transaction id and every response the X-Request-ID header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tid = transaction_id()
        scope.setdefault("state", {})["tid"] = tid
        header = (b"x-request-id", tid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


def tid_of(request: Request) -> str:
    return getattr(request.state, "tid", None) or transaction_id()


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be over `limit`."""
    try:
        return await read_capped(request, limit)
    except BodyTooLarge as error:
        raise OpenWhiskError(413, f"Request larger than allowed: {error.size} > {limit} bytes.") from None


class JsonObject(dict):  # type: ignore[type-arg]
    """A request's JSON object, with the bytes it was read from: when nothing is merged into it,
    they go to the instance as they are, not encoded again (`emulator.model.EncodedJson`)."""

    __slots__ = ("raw",)

    def __init__(self, value: dict[str, Any], raw: bytes) -> None:
        super().__init__(value)
        self.raw = raw


async def json_object(request: Request, limit: int, *, empty_ok: bool = True) -> dict[str, Any]:
    raw = await read_body(request, limit)
    if not raw.strip():
        if empty_ok:
            return {}
        raise OpenWhiskError(400, "The request content was malformed:\nexpected a JSON object")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:  # Recursion: nested too deep
        raise OpenWhiskError(400, f"The request content was malformed:\n{error}") from None
    if not isinstance(value, dict):
        raise OpenWhiskError(400, "The request content was malformed:\nexpected a JSON object")
    return JsonObject(value, raw)


def flag(request: Request, name: str, default: bool = False) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return default
    return value.strip().lower() == "true"


def integer(request: Request, name: str, default: int | None = None) -> int | None:
    """A 64-bit integer query parameter: OpenWhisk reads them as Scala Longs, SQLite stores no more."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not -(2**63) <= number < 2**63:
        raise OpenWhiskError(
            400, f"The request content was malformed:\nthe '{name}' parameter must be a 64-bit integer"
        )
    return number
