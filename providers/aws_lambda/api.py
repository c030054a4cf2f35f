"""The Lambda REST API: Invoke and the function-management operations emu implements."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator.bodies import BodyTooLarge, read_capped
from providers.aws_lambda.apigateway.urls import FunctionUrls
from providers.aws_lambda.code import decode_zip
from providers.aws_lambda.errors import LambdaError, invalid_parameter
from providers.aws_lambda.functions import LambdaFunction, check_name, check_package_type
from providers.aws_lambda.names import LATEST, check_qualifier, parse_reference
from providers.aws_lambda.service import LambdaService, log_tail

MAX_SYNC_PAYLOAD = 6_291_456
MAX_ASYNC_PAYLOAD = 1_048_576
MAX_ASYNC_LEGACY_PAYLOAD = 262_144
MAX_CREATE_BYTES = 70_167_211
MAX_CLIENT_CONTEXT = 3583
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
PAGE_DEFAULT = 50


async def read_limited(request: Request, limit: int, too_large: str) -> bytes:
    try:
        return await read_capped(request, limit)
    except BodyTooLarge:
        raise LambdaError(413, "RequestEntityTooLargeException", too_large) from None


def parse_event(raw: bytes) -> Any:
    """The invoke payload: JSON in UTF-8, an empty body meaning `{}`."""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_not_json, parse_float=_finite)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # Recursion: nested too deep
        raise LambdaError(
            400,
            "InvalidRequestContentException",
            f"Could not parse request body into json: Could not parse payload into json: {error}",
        ) from None


def _not_json(name: str) -> Any:
    """NaN and Infinity: Python's json reads them, JSON (and Lambda) does not."""
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    """A number too large for a double (`1e999`) is refused like NaN, not read as infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


async def json_body(request: Request, limit: int = MAX_CREATE_BYTES) -> dict[str, Any]:
    raw = await read_limited(
        request, limit, f"Request must be smaller than {limit} bytes for the CreateFunction operation"
    )
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise LambdaError(
            400, "SerializationException", "Could not parse the request body as JSON."
        ) from None
    if not isinstance(body, dict):
        raise LambdaError(400, "SerializationException", "The request body must be a JSON object.")
    return body


STOPPING = "emu is stopping: the call was cut off before the function answered."


def function_name(request: Request) -> tuple[str, str | None]:
    reference = unquote(request.path_params["name"])
    return parse_reference(reference, request.query_params.get("Qualifier"))


class LambdaApi:
    def __init__(self, service: LambdaService, urls: FunctionUrls) -> None:
        self.service = service
        self.urls = urls

    def invoke_route(self) -> Route:
        """Invoke: the route every warm call takes."""
        return Route("/2015-03-31/functions/{name}/invocations", self.invoke, methods=["POST"])

    def routes(self) -> list[Route]:
        functions = "/2015-03-31/functions"
        return [
            self.invoke_route(),
            Route("/2014-11-13/functions/{name}/invoke-async/", self.invoke_async, methods=["POST"]),
            Route("/2014-11-13/functions/{name}/invoke-async", self.invoke_async, methods=["POST"]),
            Route(functions, self.create, methods=["POST"]),
            Route(functions + "/", self.create_or_list, methods=["GET", "POST"]),
            Route(functions, self.list, methods=["GET"]),
            Route(functions + "/{name}", self.function, methods=["GET", "DELETE"]),
            Route(functions + "/{name}/configuration", self.configuration, methods=["GET", "PUT"]),
            Route(functions + "/{name}/code", self.update_code, methods=["PUT"]),
            Route("/2017-10-31/functions/{name}/concurrency", self.concurrency, methods=["PUT", "DELETE"]),
            Route("/2019-09-30/functions/{name}/concurrency", self.get_concurrency, methods=["GET"]),
            Route(
                "/2021-10-31/functions/{name}/url", self.url_config, methods=["GET", "POST", "PUT", "DELETE"]
            ),
        ]

    # -- invoke --------------------------------------------------------------------------------

    async def invoke(self, request: Request) -> Response:
        name, qualifier = function_name(request)
        check_qualifier(name, qualifier)
        function = self.service.get(name, invoke=True)
        kind = request.headers.get("x-amz-invocation-type", "RequestResponse")
        if kind not in INVOCATION_TYPES:
            raise invalid_parameter(
                f"1 validation error detected: Value '{kind}' at 'invocationType' failed to satisfy constraint: "
                "Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            )
        if kind == "Event":
            raw = await read_limited(request, MAX_ASYNC_PAYLOAD, _async_too_large(request, MAX_ASYNC_PAYLOAD))
        else:
            raw = await read_limited(
                request,
                MAX_SYNC_PAYLOAD,
                f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation",
            )
        event = parse_event(raw)
        if kind == "DryRun":
            return Response(status_code=204)
        if kind == "Event":
            request_id = self.service.accept_event(function, event)
            return Response(status_code=202, headers={"x-amzn-RequestId": request_id})
        try:
            result = await self.service.invoke(
                function,
                event,
                client_context=_client_context(request.headers.get("x-amz-client-context")),
                invoked_arn=_invoked_arn(function, qualifier),
                raw_event=raw,
            )
        except asyncio.CancelledError:
            # The HTTP server cancels a call still running past the shutdown grace period:
            # the service's error, which SDKs retry, rather than the server's bare 500.
            return LambdaError(500, "ServiceException", STOPPING).response()
        headers = {"X-Amz-Executed-Version": LATEST, "x-amzn-RequestId": result.request_id}
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if request.headers.get("x-amz-log-type", "None") == "Tail":
            headers["X-Amz-Log-Result"] = base64.b64encode(log_tail(result.log).encode()).decode()
        return Response(result.payload, status_code=200, headers=headers, media_type="application/json")

    async def invoke_async(self, request: Request) -> Response:
        name, _ = function_name(request)
        function = self.service.get(name)
        raw = await read_limited(
            request, MAX_ASYNC_LEGACY_PAYLOAD, _async_too_large(request, MAX_ASYNC_LEGACY_PAYLOAD)
        )
        self.service.accept_event(function, parse_event(raw))
        return JSONResponse({"Status": 202}, status_code=202)

    # -- management ----------------------------------------------------------------------------

    async def create_or_list(self, request: Request) -> Response:
        return await (self.list(request) if request.method == "GET" else self.create(request))

    async def create(self, request: Request) -> Response:
        body = await json_body(request)
        check_name(body.get("FunctionName"))
        code = body.get("Code")
        if check_package_type(body.get("PackageType", "Zip")) == "Image":
            if not self.service.runs_images:
                raise invalid_parameter(
                    "emu runs Zip packages only for now; PackageType Image needs the docker backend."
                )
            if (
                not isinstance(code, dict)
                or not isinstance(code.get("ImageUri"), str)
                or not code["ImageUri"]
            ):
                raise invalid_parameter(
                    "Please provide ImageUri when the intended function PackageType is Image."
                )
            function = self.service.create_image(body, code["ImageUri"])
            return JSONResponse(function.config, status_code=201)
        if not isinstance(code, dict) or "ZipFile" not in code:
            raise invalid_parameter(
                "emu takes the code as Code.ZipFile; S3 locations are not supported locally."
            )
        function = await self.service.create(body, decode_zip(code["ZipFile"]))
        return JSONResponse(function.config, status_code=201)

    async def list(self, request: Request) -> Response:
        functions = self.service.all()
        start = _marker(request.query_params.get("Marker"))
        size = _max_items(request.query_params.get("MaxItems"))
        page = functions[start : start + size]
        body: dict[str, Any] = {"Functions": [function.listed() for function in page]}
        if start + size < len(functions):
            body["NextMarker"] = base64.b64encode(str(start + size).encode()).decode()
        return JSONResponse(body)

    async def function(self, request: Request) -> Response:
        name, qualifier = function_name(request)
        check_qualifier(name, qualifier)
        if request.method == "DELETE":
            self.service.delete(name)
            await self.urls.forget(name)
            return Response(status_code=204)
        function = self.service.get(name)
        code: dict[str, Any] = {"RepositoryType": "S3", "Location": f"file://{function.code_dir}"}
        if function.is_image:
            uri = function.image_uri or ""
            code = {"RepositoryType": "ECR", "ImageUri": uri, "ResolvedImageUri": uri}
        body: dict[str, Any] = {"Configuration": function.config, "Code": code}
        if function.tags:
            body["Tags"] = function.tags
        if function.reserved_concurrency is not None:
            body["Concurrency"] = {"ReservedConcurrentExecutions": function.reserved_concurrency}
        return JSONResponse(body)

    async def configuration(self, request: Request) -> Response:
        name, qualifier = function_name(request)
        check_qualifier(name, qualifier)
        if request.method == "GET":
            return JSONResponse(self.service.get(name).config)
        body = await json_body(request)
        return JSONResponse(self.service.update_configuration(name, body).config)

    async def update_code(self, request: Request) -> Response:
        name, _ = function_name(request)
        body = await json_body(request)
        if isinstance(body.get("ImageUri"), str) and body["ImageUri"]:
            return JSONResponse(self.service.update_image(name, body["ImageUri"]).config)
        if "ZipFile" not in body:
            raise invalid_parameter("emu takes the code as ZipFile; S3 locations are not supported locally.")
        function = await self.service.update_code(name, decode_zip(body["ZipFile"]))
        return JSONResponse(function.config)

    async def concurrency(self, request: Request) -> Response:
        name, _ = function_name(request)
        if request.method == "DELETE":
            self.service.set_concurrency(name, None)
            return Response(status_code=204)
        body = await json_body(request)
        reserved = body.get("ReservedConcurrentExecutions")
        if not isinstance(reserved, int) or isinstance(reserved, bool) or reserved < 0:
            raise invalid_parameter("ReservedConcurrentExecutions must be a non-negative integer.")
        self.service.set_concurrency(name, reserved)
        return JSONResponse({"ReservedConcurrentExecutions": reserved})

    async def url_config(self, request: Request) -> Response:
        name, qualifier = function_name(request)
        check_qualifier(name, qualifier)
        if request.method == "GET":
            return JSONResponse(self.urls.get(name))
        if request.method == "DELETE":
            await self.urls.delete(name)
            return Response(status_code=204)
        body = await json_body(request)
        if request.method == "POST":
            return JSONResponse(self.urls.create(name, body), status_code=201)
        return JSONResponse(self.urls.update(name, body))

    async def get_concurrency(self, request: Request) -> Response:
        name, _ = function_name(request)
        function: LambdaFunction = self.service.get(name)
        if function.reserved_concurrency is None:
            return JSONResponse({})
        return JSONResponse({"ReservedConcurrentExecutions": function.reserved_concurrency})


def _async_too_large(request: Request, limit: int) -> str:
    size = request.headers.get("content-length", "?")
    return f"{size} byte payload is too large for the Event invocation type (limit {limit} bytes)"


def _client_context(header: str | None) -> Any:
    if not header:
        return None
    if len(header) > MAX_CLIENT_CONTEXT:
        raise invalid_parameter("Client context must be 3583 bytes or less.")
    try:
        return json.loads(base64.b64decode(header))
    except (binascii.Error, ValueError, RecursionError):
        raise invalid_parameter("Client context must be a valid Base64-encoded JSON object.") from None


def _invoked_arn(function: LambdaFunction, qualifier: str | None) -> str:
    arn = function.config["FunctionArn"]
    return f"{arn}:{qualifier}" if qualifier else arn


def _marker(value: str | None) -> int:
    """The index a NextMarker this API gave points at: base64 of a non-negative integer."""
    if not value:
        return 0
    try:
        text = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError):
        raise invalid_parameter("Invalid marker.") from None
    if not (text.isascii() and text.isdigit()):
        raise invalid_parameter("Invalid marker.")
    return int(text)


def _max_items(value: str | None) -> int:
    if value is None:
        return PAGE_DEFAULT
    try:
        size = int(value)
    except ValueError:
        raise invalid_parameter("MaxItems must be an integer.") from None
    if not 1 <= size <= 10000:
        raise invalid_parameter("MaxItems must be between 1 and 10000.")
    return min(size, PAGE_DEFAULT)
