"""The routes SAM events declare, and API Gateway's choice of route for a request.

API Gateway picks the most specific route: static segments over `{param}`, `{param}` over a
greedy `{proxy+}`, an exact method over `ANY`, and an HTTP API's `$default` route last.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from providers.aws_lambda.sam import SamApi, SamFunction

IMPLICIT_REST_API = "ServerlessRestApi"
IMPLICIT_HTTP_API = "ServerlessHttpApi"
DEFAULT_ROUTE = "$default"
SEGMENT = re.compile(r"\{([^{}+]+)(\+?)\}")


@dataclass(frozen=True)
class Api:
    name: str
    kind: str  # "Api" (REST API) or "HttpApi"
    stage: str
    cors: Any
    api_id: str  # the 10 characters of an execute-api host name

    @property
    def rest(self) -> bool:
        return self.kind == "Api"


@dataclass(frozen=True)
class Route:
    api: Api
    method: str  # upper case, or "ANY"
    path: str  # the declared template, e.g. "/users/{id}", or "$default"
    function: str
    payload_version: str  # "1.0" or "2.0"
    pattern: re.Pattern[str] = field(compare=False)
    names: tuple[str, ...] = field(compare=False)

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"

    def parameters(self, raw_path: str) -> dict[str, str] | None:
        """The path parameters when the route's template matches `raw_path`, else None."""
        if self.path == DEFAULT_ROUTE:
            return {}
        match = self.pattern.fullmatch(raw_path)
        if match is None:
            return None
        # A REST API passes path parameters as they came, percent-encoding and all.
        decode = (lambda value: value) if self.api.rest else unquote
        return {name: decode(value) for name, value in zip(self.names, match.groups(), strict=True)}

    def specificity(self) -> tuple[int, int, int, int, int]:
        """Sort key: the most specific route first."""
        if self.path == DEFAULT_ROUTE:
            return (1, 0, 0, 0, 0)
        segments = [part for part in self.path.split("/") if part]
        greedy = sum(1 for part in segments if part.endswith("+}"))
        static = sum(1 for part in segments if not part.startswith("{"))
        return (0, greedy, -static, -len(segments), int(self.method == "ANY"))


def compile_path(path: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names: list[str] = []
    pattern = ""
    position = 0
    for match in SEGMENT.finditer(path):
        pattern += re.escape(path[position : match.start()])
        names.append(match.group(1))
        pattern += "(.+)" if match.group(2) else "([^/]+)"
        position = match.end()
    pattern += re.escape(path[position:])
    # API Gateway treats a trailing slash as the same resource.
    return re.compile(pattern.rstrip("/") + "/?"), tuple(names)


def api_id(name: str) -> str:
    """A stable, execute-api-looking id for an API, from its name."""
    return hashlib.sha256(name.encode()).hexdigest()[:10]


class RouteTable:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = sorted(routes, key=Route.specificity)

    @classmethod
    def from_sam(cls, functions: list[SamFunction], apis: list[SamApi]) -> tuple[RouteTable, list[str]]:
        """The routes of every Api and HttpApi event; problems are returned, not raised."""
        declared = {api.name: api for api in apis}
        known: dict[str, Api] = {}
        routes: list[Route] = []
        problems: list[str] = []
        for function in functions:
            for event_name, event in function.events.items():
                kind = event.get("Type") if isinstance(event, dict) else None
                if kind not in ("Api", "HttpApi"):
                    continue
                properties = event.get("Properties") or {}
                api = _api(kind, properties, declared, known)
                if api is None:
                    problems.append(f"{function.template}: {function.name}.Events.{event_name}: unknown API")
                    continue
                routes.append(_route(api, properties, function.name))
        return cls(routes), problems

    def find(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method not in ("ANY", method) and route.path != DEFAULT_ROUTE:
                continue
            parameters = route.parameters(raw_path)
            if parameters is not None:
                return route, parameters
        return None

    def any_for_path(self, raw_path: str) -> Route | None:
        """A route of this path with any method: whose API's CORS answers a preflight."""
        return next((route for route in self.routes if route.parameters(raw_path) is not None), None)

    def has_rest_api(self) -> bool:
        return any(route.api.rest for route in self.routes)


def _api(
    kind: str, properties: dict[str, Any], declared: dict[str, SamApi], known: dict[str, Api]
) -> Api | None:
    reference = properties.get("RestApiId" if kind == "Api" else "ApiId")
    if isinstance(reference, dict):
        reference = reference.get("Ref")
    name = reference or (IMPLICIT_REST_API if kind == "Api" else IMPLICIT_HTTP_API)
    if name in known:
        return known[name]
    if reference and (name not in declared or declared[name].kind != kind):
        return None
    sam_api = declared.get(name)
    stage = (sam_api.stage_name if sam_api else None) or ("Prod" if kind == "Api" else DEFAULT_ROUTE)
    api = Api(name, kind, stage, sam_api.cors if sam_api else None, api_id(name))
    known[name] = api
    return api


def _route(api: Api, properties: dict[str, Any], function: str) -> Route:
    path = properties.get("Path")
    method = str(properties.get("Method") or "ANY").upper()
    if not api.rest and path is None:
        path = DEFAULT_ROUTE
    path = str(path or "/")
    if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
        method = "ANY"
    version = "1.0" if api.rest else str(properties.get("PayloadFormatVersion") or "2.0")
    pattern, names = compile_path(path) if path != DEFAULT_ROUTE else (re.compile(".*"), ())
    return Route(api, method, path, function, version, pattern, names)
