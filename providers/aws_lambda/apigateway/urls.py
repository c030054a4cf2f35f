"""Lambda function URLs: each function with a URL config is served on a port of its own, with
payload format 2.0 events, as `https://<url-id>.lambda-url.<region>.on.aws` is in AWS."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.bodies import BodyTooLarge
from emulator.servers import ServerGroup
from providers.aws_lambda.apigateway.events import function_url_event
from providers.aws_lambda.apigateway.front import read_request, to_response
from providers.aws_lambda.apigateway.responses import MalformedResponse, function_url_response
from providers.aws_lambda.errors import LambdaError, invalid_parameter
from providers.aws_lambda.functions import LambdaFunction, last_modified
from providers.aws_lambda.service import LambdaService

AUTH_TYPES = ("NONE", "AWS_IAM")
INVOKE_MODES = ("BUFFERED", "RESPONSE_STREAM")
MAX_BODY_BYTES = 6_291_456  # Lambda's synchronous payload quota


def url_id(name: str) -> str:
    """The 32-character id of a function URL's host name, stable for a function name."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def new_url_config(body: dict[str, Any], existing: dict[str, Any] | None = None) -> dict[str, Any]:
    base = existing or {}
    auth = body.get("AuthType", base.get("AuthType"))
    if auth not in AUTH_TYPES:
        raise invalid_parameter(f"AuthType must be one of {', '.join(AUTH_TYPES)}.")
    mode = body.get("InvokeMode", base.get("InvokeMode", "BUFFERED"))
    if mode not in INVOKE_MODES:
        raise invalid_parameter(f"InvokeMode must be one of {', '.join(INVOKE_MODES)}.")
    now = last_modified()
    config: dict[str, Any] = {
        "AuthType": auth,
        "InvokeMode": mode,
        "CreationTime": base.get("CreationTime", now),
        "LastModifiedTime": now,
    }
    cors = body.get("Cors", base.get("Cors"))
    if cors:
        config["Cors"] = cors
    if "Port" in base:
        config["Port"] = base["Port"]
    return config


def url_view(function: LambdaFunction, url: str) -> dict[str, Any]:
    """The URL config as the API returns it."""
    config = function.url_config or {}
    view = {key: value for key, value in config.items() if key != "Port"}
    return {"FunctionUrl": url, "FunctionArn": function.config["FunctionArn"], **view}


class FunctionUrlFront:
    """The ASGI app behind one function's URL."""

    def __init__(self, service: LambdaService, name: str) -> None:
        self.service = service
        self.name = name

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        function = self.service.find(self.name)
        if function is None or function.url_config is None:
            return _message(404, "Not Found")
        if function.url_config["AuthType"] == "AWS_IAM" and not request.headers.get(
            "authorization", ""
        ).startswith("AWS4-HMAC-SHA256"):
            return _message(403, "Forbidden")
        try:
            incoming = await read_request(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            return _message(413, "Request Entity Too Large")
        event = function_url_event(incoming, url_id(self.name))
        headers = {"x-amzn-RequestId": incoming.request_id}
        try:
            result = await self.service.invoke(function, event, received=int(time.time() * 1000))
        except LambdaError as error:
            if error.code == "TooManyRequestsException":
                return _message(429, "Rate Exceeded.", headers)
            return _message(502, "Internal Server Error", headers)
        if result.function_error:
            return _message(502, "Internal Server Error", headers)
        try:
            mapped = function_url_response(result.payload)
        except MalformedResponse:
            return _message(502, "Internal Server Error", headers)
        return to_response(mapped, headers)


def _message(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps({"Message": text}), status_code=status, headers=headers, media_type="application/json"
    )


class FunctionUrls:
    """Which functions have URLs, and the servers that answer them."""

    def __init__(self, service: LambdaService, servers: ServerGroup, base_url: Callable[[int], str]) -> None:
        self.service = service
        self.servers = servers
        self.base_url = base_url
        self._ports: dict[str, int] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    def url(self, name: str) -> str | None:
        port = self._ports.get(name)
        return None if port is None else self.base_url(port)

    def serve_all(self) -> None:
        """Open a port for every function that has a URL config and none yet."""
        for function in self.service.all():
            if function.url_config is not None and function.name not in self._ports:
                self._serve(function)

    def _serve(self, function: LambdaFunction) -> None:
        assert function.url_config is not None
        wanted = function.url_config.get("Port", 0)
        port = self.servers.open(FunctionUrlFront(self.service, function.name), wanted)
        self._ports[function.name] = port
        if port != wanted:
            # Keep the port, so the URL stays the same across restarts when it can.
            function.url_config["Port"] = port
            self.service.save(function, self.service.source_of(function.name), retire=False)

    def set(self, function: LambdaFunction, config: dict[str, Any] | None) -> None:
        function.url_config = config
        self.service.save(function, self.service.source_of(function.name), retire=False)
        if config is not None and function.name not in self._ports:
            self._serve(function)

    async def forget(self, name: str) -> None:
        port = self._ports.pop(name, None)
        if port is not None:
            await self.servers.stop(port)

    def forget_stale(self) -> None:
        """Stop serving functions that are gone or lost their URL config (a project reload).
        Called from synchronous code in the event loop, so the servers stop in tasks of their own."""
        for name in list(self._ports):
            function = self.service.find(name)
            if function is None or function.url_config is None:
                task = asyncio.get_running_loop().create_task(self.servers.stop(self._ports.pop(name)))
                # The loop keeps only a weak reference to a task.
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)

    async def close(self) -> None:
        """Wait for the servers still stopping."""
        await asyncio.gather(*self._stopping, return_exceptions=True)

    # -- the management API ----------------------------------------------------------------

    def create(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        function = self.service.get(name)
        if function.url_config is not None:
            raise LambdaError(
                409,
                "ResourceConflictException",
                f"Failed to create function url config for [functionArn = {function.config['FunctionArn']}]. "
                "Error message:  FunctionUrlConfig exists for this Lambda function",
            )
        self.set(function, new_url_config(body))
        return url_view(function, self.url(name) or "")

    def get(self, name: str) -> dict[str, Any]:
        function = self.service.get(name)
        if function.url_config is None:
            raise LambdaError(404, "ResourceNotFoundException", "The resource you requested does not exist.")
        return url_view(function, self.url(name) or "")

    def update(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        function = self.service.get(name)
        if function.url_config is None:
            raise LambdaError(404, "ResourceNotFoundException", "The resource you requested does not exist.")
        self.set(function, new_url_config(body, function.url_config))
        return url_view(function, self.url(name) or "")

    async def delete(self, name: str) -> None:
        function = self.service.get(name)
        if function.url_config is None:
            raise LambdaError(404, "ResourceNotFoundException", "The resource you requested does not exist.")
        self.set(function, None)
        await self.forget(name)
