"""A Lambda function's answer turned into the HTTP response API Gateway or a function URL sends:
the 1.0 rules of REST APIs, the 2.0 rules of HTTP APIs, and function URLs' variant of 2.0.

Pure: no I/O, no web framework. Where AWS's documents are silent, the behaviour follows what was
observed against real AWS (LocalStack's AWS-validated tests, SAM CLI's notes on its trials).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from providers.aws_lambda.apigateway.events import is_binary_media_type, media_type

DEFAULT_CONTENT_TYPE = "application/json"
# A REST API answers 502 for any other key. `base64Encoded` is an undocumented alias it accepts
# (SAM CLI found it by trial).
REST_KEYS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "base64Encoded"}
)
BOOLEAN_STRINGS = {"true": True, "false": False}
# Headers that describe the connection or the framing, not the response: the gateway sets its own,
# and passing the function's on would let it split the response stream.
HOP_BY_HOP = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"}
)
TOKEN = re.compile(r"\A[-!#$%&'*+.^_`|~0-9A-Za-z]+\Z")
# Control characters other than tab cannot appear in a header value on the wire.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
NO_BODY_STATUSES = (204, 304)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]  # may repeat names (Set-Cookie, multi-value headers)
    body: bytes


class MalformedResponse(Exception):
    """The function's answer is not one API Gateway can turn into a response (it then answers 502)."""


# -- payload format 1.0: REST APIs -------------------------------------------------------------


def rest_response(
    payload: bytes, *, binary_media_types: Sequence[str] = (), accept: str | None = None
) -> HttpResponse:
    """1.0 rules. Every key is optional (a bare `{}` is an empty 200), but the answer must be an
    object and hold no other keys. A base64 body is decoded only when the request's first Accept
    type is one of the API's `binary_media_types`; otherwise the client gets the base64 text."""
    result = parse_json(payload)
    if not isinstance(result, dict):
        raise MalformedResponse(f"the answer is a {type(result).__name__}, not an object")
    unknown = set(result) - REST_KEYS
    if unknown:
        raise MalformedResponse(f"unknown keys {sorted(unknown)}")
    headers = merged_headers(optional_object(result, "headers"), optional_object(result, "multiValueHeaders"))
    body = utf8(text_body(result))
    if base64_flag(result) and accepts_binary(accept, binary_media_types):
        body = decode_base64(body)
    return finished(status_code(result.get("statusCode")), headers, body)


def merged_headers(single: dict[str, Any], multi: dict[str, Any]) -> list[tuple[str, str]]:
    """`headers` and `multiValueHeaders` together; where both name a header (in any casing),
    only the multiValueHeaders values are sent, as the docs say. (SAM CLI also keeps a single
    value that differs from the multi-value ones; LocalStack, tested against AWS, does not.)"""
    overridden = {name.lower() for name in multi}
    headers = [
        (name, rest_header_text(value)) for name, value in single.items() if name.lower() not in overridden
    ]
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponse(f"multiValueHeaders[{name!r}] is not a list")
        headers.extend((name, rest_header_text(value)) for value in values)
    return headers


def rest_header_text(value: Any) -> str:
    """A REST API takes strings and booleans as header values; a number or null is a 502."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return checked_header(value)
    raise MalformedResponse(f"header value {value!r} is not a string")


def accepts_binary(accept: str | None, binary_media_types: Sequence[str]) -> bool:
    """API Gateway looks at the first media type of the Accept header only."""
    first = media_type((accept or "").split(",", 1)[0])
    return is_binary_media_type(first, binary_media_types)


# -- payload format 2.0: HTTP APIs -------------------------------------------------------------


def http_response(payload: bytes) -> HttpResponse:
    """2.0 rules: an object with `statusCode` describes the response (other keys are ignored);
    any other valid JSON is the body of a 200 application/json response: a string's value as it
    is, anything else as the JSON text the function returned."""
    result = parse_json(payload)
    if isinstance(result, dict) and "statusCode" in result:
        return described_response(result)
    if isinstance(result, str):
        return inferred_response(utf8(result))
    return inferred_response(payload)


def function_url_response(payload: bytes) -> HttpResponse:
    """Function URLs follow the 2.0 rules, except that a value without `statusCode` that is not a
    string comes back re-serialised as compact JSON (observed on AWS: the Python runtime's
    `{"hello": "world"}` reaches the client as `{"hello":"world"}`)."""
    result = parse_json(payload)
    if isinstance(result, dict) and "statusCode" in result:
        return described_response(result)
    if isinstance(result, str):
        return inferred_response(utf8(result))
    compact = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    return inferred_response(utf8(compact))


def inferred_response(body: bytes) -> HttpResponse:
    return HttpResponse(200, [("Content-Type", DEFAULT_CONTENT_TYPE)], body)


def described_response(result: dict[str, Any]) -> HttpResponse:
    headers = [(name, v2_header_text(value)) for name, value in optional_object(result, "headers").items()]
    # Each cookie becomes a Set-Cookie header of its own.
    headers.extend(("Set-Cookie", checked_header(cookie)) for cookie in response_cookies(result))
    body = utf8(text_body(result))
    if base64_flag(result):
        body = decode_base64(body)
    return finished(status_code(result.get("statusCode")), headers, body)


def v2_header_text(value: Any) -> str:
    """HTTP APIs also take numbers as header values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return checked_header(value)
    raise MalformedResponse(f"header value {value!r} is not a string")


def response_cookies(result: dict[str, Any]) -> list[str]:
    cookies = result.get("cookies")
    if cookies is None:
        return []
    if not isinstance(cookies, list) or not all(isinstance(cookie, str) for cookie in cookies):
        raise MalformedResponse("cookies is not a list of strings")
    return cookies


# -- shared rules ------------------------------------------------------------------------------


def parse_json(payload: bytes) -> Any:
    try:
        return json.loads(payload, parse_constant=reject_constant)
    except (ValueError, RecursionError) as error:
        raise MalformedResponse(f"the answer is not JSON: {error}") from None


def utf8(text: str) -> bytes:
    """A function's text as sent. A lone surrogate (valid in JSON, not in UTF-8) becomes "?", as
    the JVM's encoder writes it."""
    return text.encode("utf-8", errors="replace")


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def status_code(value: Any) -> int:
    """An integer, or a string of one (`"201"` works on AWS; `"test"` is a 502); 200 if absent.
    1xx is refused too: an interim status cannot be a Lambda integration's final answer."""
    if value is None:
        return 200
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise MalformedResponse(f"statusCode {value!r} is not an integer")
    text = str(value).strip()
    if not text.isdecimal() or not 200 <= int(text) <= 599:  # decimal: "²" is a digit, not a number
        raise MalformedResponse(f"statusCode {value!r} is not an HTTP status")
    return int(text)


def optional_object(result: dict[str, Any], key: str) -> dict[str, Any]:
    value = result.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedResponse(f"{key} is not an object")
    return value


def text_body(result: dict[str, Any]) -> str:
    body = result.get("body")
    if body is None:
        return ""
    if not isinstance(body, str):
        raise MalformedResponse("body is not a string")
    return body


def base64_flag(result: dict[str, Any]) -> bool:
    """`base64Encoded` wins over `isBase64Encoded`; "true"/"false" strings count (SAM CLI's trials)."""
    value = result.get("base64Encoded")
    if value is None:
        value = result.get("isBase64Encoded")
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in BOOLEAN_STRINGS:
        return BOOLEAN_STRINGS[value.lower()]
    raise MalformedResponse(f"isBase64Encoded {value!r} is not a boolean")


def decode_base64(body: bytes) -> bytes:
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error as error:
        raise MalformedResponse(f"the body is not base64: {error}") from None


def checked_header(value: str) -> str:
    """A line break would split the header: API Gateway refuses such an answer, as it does any
    value HTTP cannot carry (other control characters, text beyond latin-1)."""
    if CONTROL.search(value):
        raise MalformedResponse(f"header value {value!r} holds a control character")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise MalformedResponse(f"header value {value!r} is not latin-1") from None
    return value.strip(" \t")


def finished(status: int, headers: list[tuple[str, str]], body: bytes) -> HttpResponse:
    """The response as sent: framing headers dropped, and no body where the status allows none."""
    for name, _ in headers:
        if not TOKEN.match(name):
            raise MalformedResponse(f"header name {name!r} is not an HTTP token")
    kept = [(name, value) for name, value in headers if not is_hop_by_hop(name)]
    return HttpResponse(status, with_content_type(kept), b"" if status in NO_BODY_STATUSES else body)


def is_hop_by_hop(name: str) -> bool:
    lowered = name.lower()
    return lowered in HOP_BY_HOP or lowered.startswith("proxy-")


def with_content_type(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A response without a Content-Type goes out as application/json."""
    if any(name.lower() == "content-type" for name, _ in headers):
        return headers
    return [*headers, ("Content-Type", DEFAULT_CONTENT_TYPE)]
