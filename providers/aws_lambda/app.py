"""The AWS Lambda front: one Starlette app serving the Lambda API for SAM projects and API-made functions."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from emulator.backends.docker_sources import lambda_build, lambda_image
from emulator.events import Invocation
from emulator.fastlane import FastLane
from emulator.fronts import FrontContext, capture_invocation
from emulator.ids import random_uuid
from providers.aws_lambda.api import LambdaApi
from providers.aws_lambda.apigateway.front import ApiGatewayFront
from providers.aws_lambda.apigateway.routes import RouteTable
from providers.aws_lambda.apigateway.urls import FunctionUrls, new_url_config
from providers.aws_lambda.errors import LambdaError
from providers.aws_lambda.functions import RUNTIMES, LambdaFunction, build_config, folder_digest
from providers.aws_lambda.names import REGION
from providers.aws_lambda.sam import SamApi, SamError, SamFunction, find_templates, load_apis, load_template
from providers.aws_lambda.service import PROVIDER, LambdaService

log = logging.getLogger("emu.lambda")
# What a redeploy from the template compares: unchanged functions keep their warm instances.
DEPLOYED_FIELDS = ("Runtime", "Handler", "Timeout", "MemorySize", "Environment", "CodeSha256", "Description")


class LambdaFront:
    name = PROVIDER

    def __init__(self, context: FrontContext) -> None:
        settings = context.settings
        self.base_url = settings.base_url("lambda")
        self.apigateway_url = settings.base_url("apigateway")
        self.store = context.store
        code_root = settings.state_dir / "lambda" / "code"
        self.service = LambdaService(context.store, context.invoker, code_root, context.events, context.deps)
        host = settings.base_url("admin").rsplit(":", 1)[0]
        self.urls = FunctionUrls(self.service, context.servers, lambda port: f"{host}:{port}/")
        self.routes = RouteTable([])

    # -- project discovery ---------------------------------------------------------------------

    def load_project(self, root: Path) -> list[str]:
        """Deploy every function of every SAM template under `root`; returns problems."""
        problems: list[str] = []
        declared: set[str] = set()
        failed_template = False
        every_function: list[SamFunction] = []
        every_api: list[SamApi] = []
        for template in find_templates(root):
            try:
                functions = load_template(template)
                every_api += load_apis(template)
            except SamError as error:
                problems.append(str(error))
                failed_template = True
                continue
            every_function += functions
            for function in functions:
                declared.add(function.name)
                try:
                    self._deploy(function)
                except (LambdaError, SamError) as error:
                    message = error.message if isinstance(error, LambdaError) else str(error)
                    problems.append(f"{template}: {function.name}: {message}")
        if not failed_template:
            self._remove_undeclared(root, declared)
        self.routes, route_problems = RouteTable.from_sam(every_function, every_api)
        self.urls.forget_stale()
        self.urls.serve_all()
        return problems + route_problems

    def _deploy(self, declared: SamFunction) -> None:
        if declared.package_type == "Image":
            self._deploy_image(declared)
            return
        if declared.runtime not in RUNTIMES:
            raise SamError(
                f"{declared.template}: {declared.name}: emu cannot run the runtime {declared.runtime}"
            )
        self.service.check_reserved(declared.name, declared.reserved_concurrency)
        if declared.code_dir.is_file():
            folder, digest = self.service.code.unpack(declared.name, declared.code_dir.read_bytes())
            size = declared.code_dir.stat().st_size
        else:
            folder = declared.code_dir
            digest, size = folder_digest(folder)
        body = {
            "Runtime": declared.runtime,
            "Handler": declared.handler,
            "Timeout": declared.timeout,
            "MemorySize": declared.memory_size,
            "Environment": {"Variables": declared.environment},
            "Description": declared.description,
            "Architectures": list(declared.architectures),
        }
        existing = self.service.find(declared.name)
        config = build_config(declared.name, body, code_sha=digest, code_size=size)
        url_config = self._url_config(declared, existing)
        if (
            existing is not None
            and existing.code_dir == str(folder)
            and existing.reserved_concurrency == declared.reserved_concurrency
            and existing.url_config == url_config
            and all(existing.config.get(key) == config.get(key) for key in DEPLOYED_FIELDS)
        ):
            return
        function = LambdaFunction(config, str(folder), declared.reserved_concurrency, url_config=url_config)
        self.service.save(function, str(declared.template))

    def _deploy_image(self, declared: SamFunction) -> None:
        """A PackageType Image function: its ImageUri, else the image built from Metadata.Dockerfile
        in Metadata.DockerContext (as `sam build` does; rebuilt when the folder changes)."""
        if not self.service.runs_images:
            raise SamError(
                f"{declared.template}: {declared.name}: PackageType Image needs the docker backend"
            )
        self.service.check_reserved(declared.name, declared.reserved_concurrency)
        if declared.dockerfile is not None:
            digest, _ = folder_digest(declared.code_dir)
            family = lambda_build(declared.code_dir, declared.dockerfile, digest)
            image_uri = f"{declared.name.lower()}:{declared.docker_tag}"
        elif declared.image_uri:
            digest = None
            family = lambda_image(declared.image_uri)
            image_uri = declared.image_uri
        else:
            raise SamError(
                f"{declared.template}: {declared.name}: an Image function needs ImageUri, "
                "or Metadata.Dockerfile (and DockerContext) to build it from"
            )
        body = {
            "PackageType": "Image",
            "Timeout": declared.timeout,
            "MemorySize": declared.memory_size,
            "Environment": {"Variables": declared.environment},
            "Description": declared.description,
            "Architectures": list(declared.architectures),
        }
        if declared.image_config:
            body["ImageConfig"] = declared.image_config
        code_sha = digest or hashlib.sha256(image_uri.encode()).hexdigest()
        config = build_config(declared.name, body, code_sha=code_sha, code_size=0)
        existing = self.service.find(declared.name)
        url_config = self._url_config(declared, existing)
        if (
            existing is not None
            and existing.image == family
            and existing.reserved_concurrency == declared.reserved_concurrency
            and existing.url_config == url_config
            and all(
                existing.config.get(key) == config.get(key)
                for key in (*DEPLOYED_FIELDS, "ImageConfigResponse")
            )
        ):
            return
        function = LambdaFunction(
            config,
            "",
            declared.reserved_concurrency,
            url_config=url_config,
            image=family,
            image_uri=image_uri,
        )
        self.service.save(function, str(declared.template))

    def _url_config(self, declared: SamFunction, existing: LambdaFunction | None) -> dict[str, Any] | None:
        if not declared.function_url:
            return None
        previous = existing.url_config if existing else None
        config = new_url_config(
            {"AuthType": declared.function_url.get("AuthType", "NONE"), **declared.function_url}, previous
        )
        if previous is not None and {**config, "LastModifiedTime": None} == {
            **previous,
            "LastModifiedTime": None,
        }:
            return previous
        return config

    def _remove_undeclared(self, root: Path, declared: set[str]) -> None:
        root = root.resolve()
        for entity in self.store.list_entities(PROVIDER, REGION):
            if entity.source is None or entity.path in declared:
                continue
            if Path(entity.source).resolve().is_relative_to(root):
                self.service.delete(entity.path)

    def families(self) -> set[str]:
        return {function.family for function in self.service.all()}

    def functions(self) -> list[dict[str, Any]]:
        """Every function with its Invoke URL, then its function URL and its API routes."""
        listing = []
        runtimes = {}
        for function in self.service.all():
            runtimes[function.name] = function.runtime_label
            item = {
                "provider": PROVIDER,
                "name": function.name,
                "runtime": function.runtime_label,
                "url": f"{self.base_url}/2015-03-31/functions/{function.name}/invocations",
                "source": self.service.source_of(function.name),
            }
            listing.append(item)
            url = self.urls.url(function.name)
            if url is not None:
                listing.append({**item, "provider": "lambda-url", "url": url})
        for route in self.routes.routes:
            path = "/" if route.path == "$default" else route.path
            listing.append(
                {
                    "provider": "apigateway",
                    "name": route.route_key,
                    "runtime": runtimes.get(route.function, ""),
                    "url": self.apigateway_url + path,
                    "source": self.service.source_of(route.function),
                    "function": route.function,
                }
            )
        return listing

    async def invoke(self, name: str, payload: Any) -> Invocation:
        function = self.service.get(name, invoke=True)
        request_id = random_uuid()
        call = self.service.invoke(function, payload, request_id=request_id)
        return await capture_invocation(self.service.events, request_id, call)

    async def start(self) -> None:
        self.urls.serve_all()
        resumed = self.service.resume_pending()
        if resumed:
            log.info("resuming %d accepted Event invocations", resumed)

    async def close(self) -> None:
        await self.urls.close()
        await self.service.close()

    # -- HTTP ----------------------------------------------------------------------------------

    def apps(self) -> dict[str, ASGIApp]:
        return {"lambda": self.app(), "apigateway": self.apigateway_app()}

    def apigateway_app(self) -> ApiGatewayFront:
        return ApiGatewayFront(self.service, lambda: self.routes)

    def app(self) -> ASGIApp:
        api = LambdaApi(self.service, self.urls)
        app = Starlette(
            routes=api.routes(),
            exception_handlers={
                LambdaError: _lambda_error,
                HTTPException: _unknown_operation,
                Exception: _internal_error,
            },
        )
        return FastLane(app, [api.invoke_route()])


async def _lambda_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, LambdaError)
    return error.response()


async def _unknown_operation(request: Request, error: Exception) -> Response:
    return LambdaError(404, "UnknownOperationException", "Unknown operation").response()


async def _internal_error(request: Request, error: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return LambdaError(500, "ServiceException", "An internal error occurred.").response()
