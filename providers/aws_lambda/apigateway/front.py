"""The API Gateway port: SAM's Api (REST, payload 1.0) and HttpApi (payload 2.0) routes, as
`sam local start-api` serves them (no stage prefix in the path)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.bodies import BodyTooLarge, read_capped
from emulator.ids import random_uuid
from providers.aws_lambda.apigateway.cors import preflight, response_headers
from providers.aws_lambda.apigateway.events import HttpRequest, RouteMatch, http_event, rest_event
from providers.aws_lambda.apigateway.responses import (
    NO_BODY_STATUSES,
    HttpResponse,
    MalformedResponse,
    http_response,
    rest_response,
)
from providers.aws_lambda.apigateway.routes import Route, RouteTable
from providers.aws_lambda.errors import LambdaError
from providers.aws_lambda.service import LambdaService

# API Gateway's payload quota, and its answers when it cannot get a usable one from Lambda.
MAX_BODY_BYTES = 10 * 1024 * 1024


def message(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps({"message": text}), status_code=status, headers=headers, media_type="application/json"
    )


async def read_request(request: Request, limit: int = MAX_BODY_BYTES) -> HttpRequest:
    body = await read_capped(request, limit)
    client = request.client.host if request.client else "127.0.0.1"
    return HttpRequest(
        method=request.method,
        path=request.scope.get("raw_path", request.url.path.encode()).decode("latin-1").split("?", 1)[0],
        raw_query=request.scope.get("query_string", b"").decode("latin-1"),
        headers=[
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.scope["headers"]
        ],
        body=body,
        source_ip=client,
        domain_name=request.headers.get("host", ""),
        request_id=random_uuid(),
        time_epoch_ms=int(time.time() * 1000),
    )


def to_response(mapped: HttpResponse, extra: dict[str, str]) -> Response:
    response = Response(mapped.body, status_code=mapped.status)
    # A 204 or 304 has no body (the mapping emptied it), so no length either.
    length = (
        [] if mapped.status in NO_BODY_STATUSES else [(b"content-length", str(len(mapped.body)).encode())]
    )
    response.raw_headers = [
        *length,
        *[(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in mapped.headers],
        *[(name.lower().encode(), value.encode()) for name, value in extra.items()],
    ]
    return response


class ApiGatewayFront:
    def __init__(self, service: LambdaService, table: Callable[[], RouteTable]) -> None:
        self.service = service
        self.table = table

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        table = self.table()
        try:
            incoming = await read_request(request)
        except BodyTooLarge:
            return message(413, "Request Too Long")
        if request.method == "OPTIONS" and request.headers.get("access-control-request-method"):
            route = table.any_for_path(incoming.path)
            if route is not None and route.api.cors:
                return Response(
                    status_code=204 if not route.api.rest else 200, headers=preflight(route.api, request)
                )
        found = table.find(request.method, incoming.path)
        if found is None:
            if table.has_rest_api():
                return message(403, "Missing Authentication Token")
            return message(404, "Not Found")
        route, parameters = found
        return await self.invoke(route, parameters, incoming, request)

    async def invoke(
        self, route: Route, parameters: dict[str, str], incoming: HttpRequest, request: Request
    ) -> Response:
        match = RouteMatch(
            resource=route.path if route.path != "$default" else incoming.path,
            route_key=route.route_key,
            path_parameters=parameters or None,
            stage=route.api.stage,
            api_id=route.api.api_id,
        )
        rest = route.payload_version == "1.0"
        event = rest_event(incoming, match) if rest else http_event(incoming, match)
        ids = {"x-amzn-RequestId": incoming.request_id}
        ids.update(
            {"x-amz-apigw-id": incoming.request_id[:16]}
            if route.api.rest
            else {"apigw-requestid": incoming.request_id[:16]}
        )
        cors = response_headers(route.api, request)
        # A REST API answers a failed integration 502 "Internal server error"; an HTTP API 500.
        failed = (
            message(502, "Internal server error", ids) if rest else message(500, "Internal Server Error", ids)
        )
        function = self.service.find(route.function)
        if function is None:
            return failed
        try:
            result = await self.service.invoke(function, event, received=incoming.time_epoch_ms)
        except LambdaError as error:
            if error.code == "TooManyRequestsException":
                return message(429, "Too Many Requests", ids)
            return failed
        if result.timed_out:
            return message(504, "Endpoint request timed out", ids)
        if result.function_error:
            return failed
        try:
            if rest:
                mapped = rest_response(result.payload, accept=request.headers.get("accept"))
            else:
                mapped = http_response(result.payload)
        except MalformedResponse:
            return failed
        return to_response(mapped, {**cors, **ids})
