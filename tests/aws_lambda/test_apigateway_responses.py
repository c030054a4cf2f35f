"""A function's answer turned into the HTTP response: REST (1.0), HTTP API (2.0) and function URL rules."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from providers.aws_lambda.apigateway.responses import (
    HttpResponse,
    MalformedResponse,
    function_url_response,
    http_response,
    rest_response,
)

PNG = b"\x89PNG\r\n\x1a\n"
PNG_BASE64 = base64.b64encode(PNG).decode()


def answer(value: Any) -> bytes:
    """The bytes a runtime sends back (the Python runtime's default separators)."""
    return json.dumps(value).encode()


def header(response: HttpResponse, name: str) -> list[str]:
    return [value for key, value in response.headers if key.lower() == name.lower()]


# -- payload format 1.0 (REST APIs) ------------------------------------------------------------


def test_rest_basic_response() -> None:
    response = rest_response(answer({"statusCode": 201, "headers": {"X-Id": "7"}, "body": "made"}))
    assert response.status == 201
    assert response.body == b"made"
    assert header(response, "X-Id") == ["7"]
    assert header(response, "Content-Type") == ["application/json"]


def test_rest_every_key_is_optional() -> None:
    response = rest_response(b"{}")
    assert (response.status, response.body) == (200, b"")
    assert response.headers == [("Content-Type", "application/json")]
    only_headers = rest_response(answer({"headers": {"test-header": "value"}}))
    assert only_headers.status == 200 and header(only_headers, "test-header") == ["value"]


def test_rest_null_members_count_as_absent() -> None:
    response = rest_response(
        answer(
            {
                "statusCode": None,
                "headers": None,
                "multiValueHeaders": None,
                "body": None,
                "isBase64Encoded": None,
            }
        )
    )
    assert (response.status, response.body) == (200, b"")


def test_rest_status_code_as_a_string() -> None:
    assert rest_response(answer({"statusCode": "201"})).status == 201


@pytest.mark.parametrize("status", ["test", "", 99, 600, True, 200.5, [200], {"code": 200}])
def test_rest_invalid_status_code(status: Any) -> None:
    with pytest.raises(MalformedResponse):
        rest_response(answer({"statusCode": status}))


def test_rest_given_content_type_is_kept() -> None:
    response = rest_response(
        answer({"statusCode": 200, "headers": {"content-type": "text/html"}, "body": "<p>"})
    )
    assert response.headers == [("content-type", "text/html")]


def test_rest_boolean_header_values() -> None:
    response = rest_response(answer({"statusCode": 200, "headers": {"x-yes": True, "x-no": False}}))
    assert header(response, "x-yes") == ["true"] and header(response, "x-no") == ["false"]


@pytest.mark.parametrize("value", [1, 1.5, None, ["a"], {"a": 1}])
def test_rest_header_values_must_be_strings_or_booleans(value: Any) -> None:
    with pytest.raises(MalformedResponse):
        rest_response(answer({"statusCode": 200, "headers": {"x-bad": value}}))


def test_rest_multi_value_headers() -> None:
    response = rest_response(
        answer({"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "x-one": ["1"]}})
    )
    assert header(response, "Set-Cookie") == ["a=1", "b=2"]
    assert header(response, "x-one") == ["1"]


def test_rest_headers_and_multi_value_headers_are_merged() -> None:
    response = rest_response(
        answer(
            {"statusCode": 200, "headers": {"x-single": "s"}, "multiValueHeaders": {"x-multi": ["m1", "m2"]}}
        )
    )
    assert header(response, "x-single") == ["s"]
    assert header(response, "x-multi") == ["m1", "m2"]


def test_rest_multi_value_headers_win_over_headers_of_the_same_name() -> None:
    response = rest_response(
        answer(
            {
                "statusCode": 200,
                "headers": {"test-multi": "value-solo", "Other": "kept"},
                "multiValueHeaders": {"tesT-Multi": ["value-multi"]},
            }
        )
    )
    assert header(response, "test-multi") == ["value-multi"]
    assert header(response, "other") == ["kept"]


def test_rest_multi_value_headers_must_be_lists() -> None:
    with pytest.raises(MalformedResponse):
        rest_response(answer({"statusCode": 200, "multiValueHeaders": {"test-multi-invalid": "value1"}}))


@pytest.mark.parametrize("key", ["headers", "multiValueHeaders"])
def test_rest_header_maps_must_be_objects(key: str) -> None:
    with pytest.raises(MalformedResponse):
        rest_response(answer({"statusCode": 200, key: ["x"]}))


@pytest.mark.parametrize("body", [{"message": "hi"}, ["a"], 42, True])
def test_rest_body_must_be_a_string(body: Any) -> None:
    with pytest.raises(MalformedResponse):
        rest_response(answer({"statusCode": 200, "body": body}))


def test_rest_body_is_utf8() -> None:
    assert rest_response(answer({"statusCode": 200, "body": "héllo"})).body == "héllo".encode()


@pytest.mark.parametrize("key", ["wrongValue", "cookies", "status", "Body"])
def test_rest_unknown_keys_are_malformed(key: str) -> None:
    with pytest.raises(MalformedResponse):
        rest_response(answer({"statusCode": 200, key: "value"}))


@pytest.mark.parametrize(
    "payload", [b"not json", b"", b'"justAString"', b"42", b"null", b"[]", b"true", b'{"statusCode": NaN}']
)
def test_rest_answer_must_be_a_json_object(payload: bytes) -> None:
    with pytest.raises(MalformedResponse):
        rest_response(payload)


def test_rest_base64_body_without_binary_media_types_reaches_the_client_as_text() -> None:
    response = rest_response(answer({"statusCode": 200, "body": PNG_BASE64, "isBase64Encoded": True}))
    assert response.body == PNG_BASE64.encode()


@pytest.mark.parametrize(
    ("accept", "binary_types"),
    [
        ("image/png", ["image/png"]),
        ("image/png, */*;q=0.8", ["image/*"]),
        ("IMAGE/PNG; q=1", ["image/png"]),
        (None, ["*/*"]),
        ("text/html", ["*/*"]),
    ],
)
def test_rest_base64_body_decoded_when_accept_matches(accept: str | None, binary_types: list[str]) -> None:
    response = rest_response(
        answer({"statusCode": 200, "body": PNG_BASE64, "isBase64Encoded": True}),
        binary_media_types=binary_types,
        accept=accept,
    )
    assert response.body == PNG


@pytest.mark.parametrize("accept", [None, "*/*", "text/html,image/png", "application/json"])
def test_rest_only_the_first_accept_type_counts(accept: str | None) -> None:
    response = rest_response(
        answer({"statusCode": 200, "body": PNG_BASE64, "isBase64Encoded": True}),
        binary_media_types=["image/png"],
        accept=accept,
    )
    assert response.body == PNG_BASE64.encode()


def test_rest_body_not_flagged_base64_is_never_decoded() -> None:
    response = rest_response(
        answer({"statusCode": 200, "body": PNG_BASE64}), binary_media_types=["*/*"], accept="image/png"
    )
    assert response.body == PNG_BASE64.encode()


@pytest.mark.parametrize(
    "flags",
    [
        {"isBase64Encoded": "true"},
        {"isBase64Encoded": "True"},
        {"base64Encoded": True},
        {"base64Encoded": True, "isBase64Encoded": False},
    ],
)
def test_rest_base64_flag_spellings(flags: dict[str, Any]) -> None:
    response = rest_response(
        answer({"statusCode": 200, "body": PNG_BASE64, **flags}), binary_media_types=["*/*"]
    )
    assert response.body == PNG


@pytest.mark.parametrize("flag", [1, "yes", ["true"]])
def test_rest_base64_flag_must_be_a_boolean(flag: Any) -> None:
    with pytest.raises(MalformedResponse):
        rest_response(answer({"statusCode": 200, "isBase64Encoded": flag}))


def test_rest_invalid_base64_is_malformed() -> None:
    with pytest.raises(MalformedResponse):
        rest_response(
            answer({"statusCode": 200, "body": "not base64!", "isBase64Encoded": True}),
            binary_media_types=["*/*"],
        )


def test_rest_header_with_a_line_break_is_malformed() -> None:
    with pytest.raises(MalformedResponse):
        rest_response(answer({"statusCode": 200, "headers": {"x": "a\r\nSet-Cookie: evil=1"}}))


@pytest.mark.parametrize("mapper", [rest_response, http_response, function_url_response])
def test_framing_headers_are_dropped_and_204_has_no_body(mapper: Any) -> None:
    smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED"
    framing = {
        "Content-Length": "8",
        "Transfer-Encoding": "chunked",
        "Connection": "close",
        "Keep-Alive": "timeout=5",
        "Upgrade": "h2c",
        "TE": "trailers",
        "Trailer": "x",
        "Proxy-Authenticate": "Basic",
        "X-Kept": "yes",
    }
    response = mapper(answer({"statusCode": 204, "headers": framing, "body": smuggled}))
    assert (response.status, response.body) == (204, b"")
    assert [name for name, _ in response.headers] == ["X-Kept", "Content-Type"]
    assert mapper(answer({"statusCode": 304, "body": "stale"})).body == b""


@pytest.mark.parametrize("mapper", [rest_response, http_response, function_url_response])
@pytest.mark.parametrize("status", [100, 101, 199])
def test_interim_status_is_malformed(mapper: Any, status: int) -> None:
    with pytest.raises(MalformedResponse):
        mapper(answer({"statusCode": status}))


@pytest.mark.parametrize("mapper", [rest_response, http_response, function_url_response])
@pytest.mark.parametrize(
    "headers",
    [{"bad name": "x"}, {"x\r\ny": "x"}, {"": "x"}, {"x": "\u20ac"}, {"x": "a\x00b"}, {"x": "a\x7fb"}],
)
def test_headers_http_cannot_carry_are_malformed(mapper: Any, headers: dict[str, str]) -> None:
    with pytest.raises(MalformedResponse):
        mapper(answer({"statusCode": 200, "headers": headers}))


def test_cookies_http_cannot_carry_are_malformed() -> None:
    with pytest.raises(MalformedResponse):
        http_response(answer({"statusCode": 200, "cookies": ["a=\u20ac"]}))


# -- payload format 2.0 (HTTP APIs) ------------------------------------------------------------


def test_http_string_answer_is_the_body() -> None:
    response = http_response(b'"Hello from Lambda!"')
    assert (response.status, response.body) == (200, b"Hello from Lambda!")
    assert response.headers == [("Content-Type", "application/json")]


def test_http_object_without_status_code_is_the_json_body() -> None:
    payload = b'{ "message": "Hello from Lambda!" }'
    response = http_response(payload)
    assert (response.status, response.body) == (200, payload)
    assert response.headers == [("Content-Type", "application/json")]


@pytest.mark.parametrize("payload", [b"42", b"3.5", b"true", b"null", b'["a", 1]', b'{"body": "x"}', b"{}"])
def test_http_other_json_is_the_body_as_returned(payload: bytes) -> None:
    response = http_response(payload)
    assert (response.status, response.body) == (200, payload)


def test_http_described_response() -> None:
    response = http_response(
        answer(
            {
                "statusCode": 201,
                "headers": {"Content-Type": "text/plain", "X-Count": 3, "X-Ok": True},
                "cookies": ["a=1; Path=/", "b=2"],
                "body": "made",
            }
        )
    )
    assert response.status == 201
    assert response.body == b"made"
    assert header(response, "Content-Type") == ["text/plain"]
    assert header(response, "X-Count") == ["3"]
    assert header(response, "X-Ok") == ["true"]
    assert header(response, "Set-Cookie") == ["a=1; Path=/", "b=2"]


def test_http_described_response_defaults() -> None:
    response = http_response(answer({"statusCode": 204}))
    assert (response.status, response.body) == (204, b"")
    assert response.headers == [("Content-Type", "application/json")]


def test_http_status_code_as_a_string() -> None:
    assert http_response(answer({"statusCode": "418", "body": "teapot"})).status == 418


def test_http_base64_body_is_always_decoded() -> None:
    response = http_response(
        answer(
            {
                "statusCode": 200,
                "headers": {"content-type": "image/png"},
                "body": PNG_BASE64,
                "isBase64Encoded": True,
            }
        )
    )
    assert response.body == PNG


def test_http_unknown_keys_and_multi_value_headers_are_ignored() -> None:
    response = http_response(
        answer({"statusCode": 200, "extra": 1, "multiValueHeaders": {"x": ["1"]}, "body": "ok"})
    )
    assert response.body == b"ok" and header(response, "x") == []


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "abc"},
        {"statusCode": 700},
        {"statusCode": 200, "headers": "x"},
        {"statusCode": 200, "headers": {"x": None}},
        {"statusCode": 200, "headers": {"x": ["a"]}},
        {"statusCode": 200, "cookies": "a=1"},
        {"statusCode": 200, "cookies": [1]},
        {"statusCode": 200, "body": {"message": "hi"}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
        {"statusCode": 200, "isBase64Encoded": "maybe"},
    ],
)
def test_http_malformed_described_responses(result: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponse):
        http_response(answer(result))


@pytest.mark.parametrize("payload", [b"", b"not json", b"{", b"NaN"])
def test_http_invalid_json_is_malformed(payload: bytes) -> None:
    with pytest.raises(MalformedResponse):
        http_response(payload)


# -- function URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "body"),
    [
        ("hello", b"hello"),
        ({"hello": "world"}, b'{"hello":"world"}'),
        (["hello", 3, True], b'["hello",3,true]'),
        (3, b"3"),
        (3.1, b"3.1"),
        (True, b"true"),
        (None, b"null"),
        ({"naïve": "café"}, '{"naïve":"café"}'.encode()),
    ],
)
def test_function_url_inferred_responses(result: Any, body: bytes) -> None:
    response = function_url_response(answer(result))
    assert (response.status, response.body) == (200, body)
    assert response.headers == [("Content-Type", "application/json")]


def test_function_url_described_response() -> None:
    response = function_url_response(
        answer(
            {
                "statusCode": 201,
                "headers": {"Content-Type": "application/json", "My-Custom-Header": "Custom Value"},
                "body": json.dumps({"message": "Hello, world!"}),
                "cookies": [
                    "Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT",
                    "Cookie_2=Value2; Max-Age=78000",
                ],
                "isBase64Encoded": False,
            }
        )
    )
    assert response.status == 201
    assert response.body == b'{"message": "Hello, world!"}'
    assert header(response, "My-Custom-Header") == ["Custom Value"]
    assert header(response, "Set-Cookie") == [
        "Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT",
        "Cookie_2=Value2; Max-Age=78000",
    ]


def test_function_url_described_response_defaults() -> None:
    response = function_url_response(answer({"statusCode": 200, "body": "body123"}))
    assert (response.status, response.body) == (200, b"body123")
    assert response.headers == [("Content-Type", "application/json")]
    assert function_url_response(answer({"statusCode": "418", "body": "i'm a teapot"})).status == 418


def test_function_url_base64_body() -> None:
    response = function_url_response(answer({"statusCode": 200, "body": PNG_BASE64, "isBase64Encoded": True}))
    assert response.body == PNG


@pytest.mark.parametrize(
    "payload", [b"", b"not json", b'{"statusCode": "x"}', b'{"statusCode": 200, "body": 1}']
)
def test_function_url_malformed(payload: bytes) -> None:
    with pytest.raises(MalformedResponse):
        function_url_response(payload)
