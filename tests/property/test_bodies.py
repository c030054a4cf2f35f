"""Request bodies: any bytes are read as the cloud reads them, or refused with its own error."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from starlette.requests import Request

from providers.aws_lambda.api import json_body, parse_event
from providers.aws_lambda.errors import LambdaError
from providers.openwhisk.errors import OpenWhiskError
from providers.openwhisk.http import json_object

# JSON-looking bytes find more than uniform noise: brackets to nest, numbers past a double,
# constants JSON lacks, escapes of lone surrogates, invalid UTF-8.
pieces = st.sampled_from(
    [b"{", b"}", b"[", b"]", b'"', b":", b",", b"1e999", b"-0", b"NaN", b"Infinity", b"null", b"true",
     b'"\\ud800"', b"\xff", b"\xc3", b" ", b"\x00", b'"a"', b"12345678901234567890123"]
)  # fmt: skip
bodies = st.one_of(st.lists(pieces, max_size=30).map(b"".join), st.binary(max_size=60))
DEEP = b"[" * 100_000 + b"]" * 100_000


def request_with(body: bytes, content_length: bool = True) -> Request:
    headers = [(b"content-type", b"application/json")]
    if content_length:
        headers.append((b"content-length", str(len(body)).encode()))
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({"type": "http", "method": "POST", "headers": headers, "path": "/"}, receive)


@given(bodies)
@example(DEEP)
def test_lambda_invoke_payloads(body: bytes) -> None:
    try:
        parse_event(body)
    except LambdaError as error:
        assert error.status == 400 and error.code == "InvalidRequestContentException"


@given(bodies, st.booleans())
@example(DEEP, True)
def test_lambda_management_bodies(body: bytes, content_length: bool) -> None:
    try:
        value = asyncio.run(json_body(request_with(body, content_length), limit=1024 * 1024))
    except LambdaError as error:
        assert error.status in (400, 413)
        return
    assert isinstance(value, dict)


@given(bodies, st.booleans())
@example(DEEP, True)
def test_openwhisk_bodies(body: bytes, content_length: bool) -> None:
    try:
        value = asyncio.run(json_object(request_with(body, content_length), 1024 * 1024))
    except OpenWhiskError as error:
        assert error.status in (400, 413)
        return
    assert isinstance(value, dict)


@given(st.integers(1, 3 * 1024 * 1024), st.booleans())
def test_a_body_over_the_limit_is_refused_whatever_its_framing(size: int, content_length: bool) -> None:
    body = b" " * size
    limit = 1024 * 1024
    try:
        asyncio.run(json_object(request_with(body, content_length), limit))
    except OpenWhiskError as error:
        assert error.status == 413 and size > limit
    else:
        assert size <= limit
