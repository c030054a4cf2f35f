"""Whatever a function returns, the HTTP fronts answer: a mapped response, or the cloud's error for
a malformed one. Nothing a function can return makes the gateway fail (a 500 of its own)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from providers.aws_lambda.apigateway.responses import (
    MalformedResponse,
    function_url_response,
    http_response,
    rest_response,
)
from providers.openwhisk.web import EXTENSIONS, WebActions, _BadResponse

KEYS = ["statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "base64Encoded", "cookies"]
# Values as JSON brings them to Python: every number (1e999 reads as infinity), lone surrogates
# (`"\ud800"` is valid JSON), digits of other scripts, header-splitting text.
odd_text = st.sampled_from(
    ["\ud800", "\u00b2", "\u0662\u0660\u0660", "200", " 200 ", "a\r\nb: c", "\x00", "é", "aGk="]
)
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), odd_text, st.text(max_size=8),
)  # fmt: skip
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(odd_text, st.text(max_size=5)), inner, max_size=3),
    ),
    max_leaves=12,
)
results = st.one_of(values, st.dictionaries(st.sampled_from(KEYS), values, max_size=5))


def as_payload(result: Any) -> bytes:
    """The bytes a function's answer arrives as (Python and Node.js both escape lone surrogates)."""
    return json.dumps(result).encode()


@given(results)
@example({"body": "\ud800"})
@example({"statusCode": "\u00b2"})
@example({"statusCode": 200, "body": "\ud800", "headers": {"a": "\ud800"}})
@example("\ud800")
def test_api_gateway_and_function_urls_map_any_answer(result: Any) -> None:
    payload = as_payload(result) if not isinstance(result, float) or result == result else b"NaN"
    for mapper in (rest_response, http_response, function_url_response):
        try:
            mapped = mapper(payload)
        except MalformedResponse:
            continue
        assert 200 <= mapped.status <= 599
        assert isinstance(mapped.body, bytes)
        for name, value in mapped.headers:
            name.encode("latin-1")
            value.encode("latin-1")


@given(results, st.sampled_from(EXTENSIONS))
@example({"statusCode": 1e999}, "http")
@example({"body": "\ud800"}, "http")
@example({"body": "\ud800"}, "html")
@example("\ud800", "text")
def test_web_actions_map_any_answer(result: Any, extension: str) -> None:
    result = json.loads(json.dumps(result)) if result == result else result
    try:
        response = WebActions._respond(None, result, extension, {})  # type: ignore[arg-type]
    except _BadResponse:
        return
    assert 200 <= response.status_code <= 599
    assert isinstance(response.body, bytes)
