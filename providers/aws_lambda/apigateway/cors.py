"""CORS as API Gateway applies an API's SAM settings: `Cors` on a REST API (a mock OPTIONS
integration; its values are quoted strings), `CorsConfiguration` on an HTTP API (preflights
answered and CORS headers added to every response)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from providers.aws_lambda.apigateway.routes import Api

ALL_METHODS = "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"


def _unquote(value: Any) -> str:
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


def _joined(value: Any) -> str:
    return ",".join(str(item) for item in value) if isinstance(value, list) else str(value)


def _http_settings(api: Api) -> dict[str, Any]:
    if api.cors is True:
        return {"AllowOrigins": ["*"], "AllowMethods": ["*"], "AllowHeaders": ["*"]}
    return api.cors if isinstance(api.cors, dict) else {}


def _allowed_origin(settings: dict[str, Any], origin: str | None) -> str | None:
    origins = [str(item) for item in settings.get("AllowOrigins") or []]
    if "*" in origins:
        return "*"
    return origin if origin in origins else None


def preflight(api: Api, request: Request) -> dict[str, str]:
    """The headers of the answer to an OPTIONS preflight on an API with CORS."""
    if api.rest:
        settings = api.cors if isinstance(api.cors, dict) else {"AllowOrigin": api.cors}
        headers = {
            "Access-Control-Allow-Origin": _unquote(settings.get("AllowOrigin", "'*'")),
            "Access-Control-Allow-Methods": _unquote(settings.get("AllowMethods", ALL_METHODS)),
        }
        if "AllowHeaders" in settings:
            headers["Access-Control-Allow-Headers"] = _unquote(settings["AllowHeaders"])
        if "MaxAge" in settings:
            headers["Access-Control-Max-Age"] = _unquote(settings["MaxAge"])
        if settings.get("AllowCredentials"):
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers
    settings = _http_settings(api)
    origin = _allowed_origin(settings, request.headers.get("origin"))
    if origin is None:
        return {}
    headers = {"Access-Control-Allow-Origin": origin}
    methods = settings.get("AllowMethods")
    if methods:
        headers["Access-Control-Allow-Methods"] = ALL_METHODS if methods == ["*"] else _joined(methods)
    allow_headers = settings.get("AllowHeaders")
    if allow_headers:
        requested = request.headers.get("access-control-request-headers", "")
        headers["Access-Control-Allow-Headers"] = (
            requested if allow_headers == ["*"] and requested else _joined(allow_headers)
        )
    if "MaxAge" in settings:
        headers["Access-Control-Max-Age"] = str(settings["MaxAge"])
    if settings.get("AllowCredentials"):
        headers["Access-Control-Allow-Credentials"] = "true"
    return headers


def response_headers(api: Api, request: Request) -> dict[str, str]:
    """CORS headers an HTTP API adds to a response; a REST API leaves them to the function."""
    if api.rest or not api.cors:
        return {}
    settings = _http_settings(api)
    origin = _allowed_origin(settings, request.headers.get("origin"))
    if origin is None:
        return {}
    headers = {"Access-Control-Allow-Origin": origin}
    if settings.get("ExposeHeaders"):
        headers["Access-Control-Expose-Headers"] = _joined(settings["ExposeHeaders"])
    if settings.get("AllowCredentials"):
        headers["Access-Control-Allow-Credentials"] = "true"
    return headers
