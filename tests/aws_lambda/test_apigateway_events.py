"""The events API Gateway and function URLs hand a function, field by field."""

from __future__ import annotations

import base64
import dataclasses
import re
from typing import Any

import pytest

from providers.aws_lambda.apigateway.events import (
    ACCOUNT_ID,
    HttpRequest,
    RouteMatch,
    function_url_event,
    http_event,
    last_values,
    request_time,
    rest_event,
)

# 2020-03-12T19:03:58.390Z
EPOCH_MS = 1584039838390
REQUEST_ID = "c0ffee00-1234-4abc-8def-0123456789ab"
URL_ID = "a" * 32


def request(**changes: Any) -> HttpRequest:
    base = HttpRequest(
        method="GET",
        path="/users/42",
        raw_query="",
        headers=[("Host", "127.0.0.1:3000"), ("User-Agent", "curl/8.5.0"), ("Accept", "*/*")],
        body=b"",
        source_ip="192.0.2.10",
        domain_name="127.0.0.1:3000",
        request_id=REQUEST_ID,
        time_epoch_ms=EPOCH_MS,
    )
    return dataclasses.replace(base, **changes)


def with_headers(*extra: tuple[str, str], **changes: Any) -> HttpRequest:
    return request(headers=[("Host", "127.0.0.1:3000"), *extra], **changes)


def match(**changes: Any) -> RouteMatch:
    base = RouteMatch(
        resource="/users/{id}",
        route_key="GET /users/{id}",
        path_parameters={"id": "42"},
        stage="Prod",
        api_id="abcde12345",
    )
    return dataclasses.replace(base, **changes)


def rest(
    incoming: HttpRequest | None = None, route: RouteMatch | None = None, **options: Any
) -> dict[str, Any]:
    return rest_event(incoming or request(), route or match(), **options)


def http(incoming: HttpRequest | None = None, route: RouteMatch | None = None) -> dict[str, Any]:
    return http_event(incoming or request(), route or match(stage="$default"))


# -- payload format 1.0 (REST APIs) ------------------------------------------------------------


def test_rest_event_top_level_fields() -> None:
    event = rest()
    assert list(event) == [
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
        "body",
        "isBase64Encoded",
    ]
    # A REST API's event has no `version` key (HTTP APIs' 1.0 payloads do; SAM CLI adds it to both).
    assert event["resource"] == "/users/{id}"
    assert event["path"] == "/users/42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["stageVariables"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_rest_path_keeps_percent_encoding() -> None:
    event = rest(request(path="/files/a%2Fb%20c"), match(resource="/files/{name}"))
    assert event["path"] == "/files/a%2Fb%20c"
    assert event["requestContext"]["path"] == "/Prod/files/a%2Fb%20c"


def test_rest_no_path_parameters_is_null() -> None:
    assert rest(route=match(path_parameters=None))["pathParameters"] is None
    assert rest(route=match(path_parameters={}))["pathParameters"] is None


def test_rest_stage_variables() -> None:
    event = rest(route=match(stage_variables={"env": "dev"}))
    assert event["stageVariables"] == {"env": "dev"}


def test_rest_headers_single_and_multi_value() -> None:
    event = rest(with_headers(("X-Multi", "one"), ("x-multi", "two"), ("Accept", "text/html")))
    assert event["headers"]["X-Multi"] == "two"
    assert event["multiValueHeaders"]["X-Multi"] == ["one", "two"]
    assert "x-multi" not in event["headers"]
    assert event["headers"]["Accept"] == "text/html"
    assert event["multiValueHeaders"]["Host"] == ["127.0.0.1:3000"]


def test_rest_headers_keep_the_names_as_sent() -> None:
    event = rest(with_headers(("tEsT-HEADeR", "aValUE"), ("content-type", "text/plain")))
    assert event["headers"]["tEsT-HEADeR"] == "aValUE"
    assert event["headers"]["content-type"] == "text/plain"


def test_rest_headers_recase_authorization_and_user_agent() -> None:
    event = rest(with_headers(("authorization", "Bearer x"), ("user-agent", "lower/1")))
    assert event["headers"]["Authorization"] == "Bearer x"
    assert event["headers"]["User-Agent"] == "lower/1"
    assert "authorization" not in event["headers"] and "user-agent" not in event["headers"]


def test_rest_headers_drop_content_length_and_hop_by_hop() -> None:
    incoming = with_headers(
        ("Content-Length", "2"), ("Connection", "keep-alive"), ("Transfer-Encoding", "chunked"), body=b"{}"
    )
    names = {name.lower() for name in rest(incoming)["headers"]}
    assert not names & {"content-length", "connection", "transfer-encoding"}


def test_rest_headers_added_by_api_gateway() -> None:
    headers = rest()["headers"]
    assert headers["X-Forwarded-For"] == "192.0.2.10"
    assert headers["X-Forwarded-Port"] == "3000"
    assert headers["X-Forwarded-Proto"] == "http"
    assert re.fullmatch(r"Root=1-5e6a879e-[0-9a-f]{24}", headers["X-Amzn-Trace-Id"])


def test_rest_forwarded_for_extends_the_client_chain() -> None:
    incoming = with_headers(("x-forwarded-for", "203.0.113.5"), ("X-Forwarded-Proto", "https"))
    event = rest(incoming)
    assert event["headers"]["X-Forwarded-For"] == "203.0.113.5, 192.0.2.10"
    assert event["multiValueHeaders"]["X-Forwarded-Proto"] == ["http"]
    assert "x-forwarded-for" not in event["headers"]


def test_rest_trace_id_from_the_client_is_kept() -> None:
    incoming = with_headers(("X-Amzn-Trace-Id", "Root=1-00000000-000000000000000000000001"))
    assert rest(incoming)["headers"]["X-Amzn-Trace-Id"] == "Root=1-00000000-000000000000000000000001"


def test_trace_id_is_stable_per_request() -> None:
    first = rest()["headers"]["X-Amzn-Trace-Id"]
    assert rest()["headers"]["X-Amzn-Trace-Id"] == first
    other = rest(request(request_id="another"))["headers"]["X-Amzn-Trace-Id"]
    assert other != first


def test_forwarded_port_defaults_to_80_without_one_in_the_host() -> None:
    headers = rest(request(domain_name="localhost"))["headers"]
    assert headers["X-Forwarded-Port"] == "80"
    assert rest(request(domain_name="[::1]"))["headers"]["X-Forwarded-Port"] == "80"
    assert rest(request(domain_name="[::1]:8080"))["headers"]["X-Forwarded-Port"] == "8080"


def test_headers_are_null_without_any() -> None:
    assert last_values([]) is None


def test_rest_query_string_single_and_multi_value() -> None:
    event = rest(request(raw_query="tag=a&tag=b&one=1"))
    assert event["queryStringParameters"] == {"tag": "b", "one": "1"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "one": ["1"]}


def test_rest_query_string_decoding() -> None:
    raw = "email=test%2Balias%40x.com&plus=a+b&space=foo%20bar&flag&empty=&&Key=1&key=2"
    event = rest(request(raw_query=raw))
    assert event["queryStringParameters"] == {
        "email": "test+alias@x.com",
        "plus": "a b",
        "space": "foo bar",
        "flag": "",
        "empty": "",
        "Key": "1",
        "key": "2",
    }


def test_rest_query_string_of_only_separators_is_null() -> None:
    event = rest(request(raw_query="&&"))
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_rest_text_body() -> None:
    incoming = with_headers(("Content-Type", "application/json"), method="POST", body=b'{"x": 1}')
    event = rest(incoming)
    assert event["body"] == '{"x": 1}' and event["isBase64Encoded"] is False


def test_rest_binary_body_without_binary_media_types_is_passed_as_utf8_text() -> None:
    incoming = with_headers(("Content-Type", "image/png"), method="POST", body=b"\x89PNG\xff")
    event = rest(incoming)
    assert event["isBase64Encoded"] is False
    assert event["body"] == "\ufffdPNG\ufffd"


@pytest.mark.parametrize(
    ("content_type", "binary_types"),
    [
        ("image/png", ["image/png"]),
        ("image/png; charset=binary", ["image/*"]),
        ("Application/Octet-Stream", ["application/octet-stream"]),
        ("application/json", ["*/*"]),
    ],
)
def test_rest_binary_body_with_a_matching_binary_media_type(
    content_type: str, binary_types: list[str]
) -> None:
    incoming = with_headers(("Content-Type", content_type), method="POST", body=b"\x89PNG\xff")
    event = rest(incoming, binary_media_types=binary_types)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG\xff"


def test_rest_body_not_matching_the_binary_media_types_stays_text() -> None:
    incoming = with_headers(("Content-Type", "text/plain"), method="POST", body=b"hello")
    event = rest(incoming, binary_media_types=["image/*"])
    assert event["body"] == "hello" and event["isBase64Encoded"] is False


def test_rest_request_context() -> None:
    context = rest()["requestContext"]
    assert sorted(context) == sorted(
        [
            "accountId",
            "apiId",
            "deploymentId",
            "domainName",
            "domainPrefix",
            "extendedRequestId",
            "httpMethod",
            "identity",
            "path",
            "protocol",
            "requestId",
            "requestTime",
            "requestTimeEpoch",
            "resourceId",
            "resourcePath",
            "stage",
        ]
    )
    assert context["accountId"] == ACCOUNT_ID == "000000000000"
    assert context["apiId"] == "abcde12345"
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["domainPrefix"] == "abcde12345"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/Prod/users/42"
    assert context["protocol"] == "HTTP/1.1"
    assert context["requestId"] == REQUEST_ID
    assert context["requestTime"] == "12/Mar/2020:19:03:58 +0000"
    assert context["requestTimeEpoch"] == EPOCH_MS
    assert context["resourcePath"] == "/users/{id}"
    assert context["stage"] == "Prod"


def test_rest_generated_ids_look_like_aws_ones() -> None:
    context = rest()["requestContext"]
    assert re.fullmatch(r"[0-9a-z]{6}", context["resourceId"])
    assert re.fullmatch(r"[0-9a-z]{6}", context["deploymentId"])
    assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", context["extendedRequestId"])
    other_resource = rest(route=match(resource="/other"))["requestContext"]
    assert other_resource["resourceId"] != context["resourceId"]
    assert other_resource["deploymentId"] == context["deploymentId"]


def test_rest_identity() -> None:
    identity = rest()["requestContext"]["identity"]
    assert identity == {
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": "192.0.2.10",
        "user": None,
        "userAgent": "curl/8.5.0",
        "userArn": None,
    }


def test_rest_identity_without_a_user_agent() -> None:
    assert rest(with_headers())["requestContext"]["identity"]["userAgent"] is None


@pytest.mark.parametrize(
    ("epoch_ms", "expected"),
    [
        (1428582896000, "09/Apr/2015:12:34:56 +0000"),
        (0, "01/Jan/1970:00:00:00 +0000"),
        (1703980799999, "30/Dec/2023:23:59:59 +0000"),
    ],
)
def test_request_time_format(epoch_ms: int, expected: str) -> None:
    assert request_time(epoch_ms) == expected


# -- payload format 2.0 (HTTP APIs) ------------------------------------------------------------


def test_http_event_top_level_fields() -> None:
    event = http(request(raw_query="a=1"))
    assert list(event) == [
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "headers",
        "queryStringParameters",
        "isBase64Encoded",
        "requestContext",
        "pathParameters",
    ]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /users/{id}"
    assert event["rawPath"] == "/users/42"
    assert event["rawQueryString"] == "a=1"
    assert event["pathParameters"] == {"id": "42"}
    assert event["isBase64Encoded"] is False


def test_http_event_leaves_out_what_is_missing() -> None:
    event = http(request(), match(path_parameters=None, stage="$default"))
    for absent in ("cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"):
        assert absent not in event
    assert event["rawQueryString"] == ""


def test_http_stage_variables() -> None:
    event = http(route=match(stage="dev", stage_variables={"table": "users"}))
    assert event["stageVariables"] == {"table": "users"}
    assert event["requestContext"]["stage"] == "dev"


def test_http_raw_path_and_query_are_raw() -> None:
    event = http(request(path="/a%20b/c", raw_query="q=x%20y&r=1+2"))
    assert event["rawPath"] == "/a%20b/c"
    assert event["requestContext"]["http"]["path"] == "/a%20b/c"
    assert event["rawQueryString"] == "q=x%20y&r=1+2"
    assert event["queryStringParameters"] == {"q": "x y", "r": "1 2"}


def test_http_query_repeated_keys_joined_with_commas() -> None:
    event = http(request(raw_query="a=1&a=2&b=&c"))
    assert event["queryStringParameters"] == {"a": "1,2", "b": "", "c": ""}


def test_http_headers_lower_cased_and_joined() -> None:
    incoming = with_headers(
        ("X-Multi", "one"),
        ("x-multi", "two"),
        ("Content-Type", "text/plain"),
        ("Content-Length", "5"),
        method="POST",
        body=b"hello",
    )
    headers = http(incoming)["headers"]
    assert headers["x-multi"] == "one,two"
    assert headers["content-type"] == "text/plain"
    assert headers["content-length"] == "5"
    assert headers["host"] == "127.0.0.1:3000"
    assert all(name == name.lower() for name in headers)


def test_http_headers_added_by_api_gateway() -> None:
    headers = http(with_headers(("Connection", "keep-alive")))["headers"]
    assert "connection" not in headers
    assert headers["x-forwarded-for"] == "192.0.2.10"
    assert headers["x-forwarded-port"] == "3000"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-amzn-trace-id"].startswith("Root=1-")


def test_http_cookies() -> None:
    incoming = with_headers(("Cookie", "c1=v1; c2=v2"), ("cookie", "c3=v3;c4=v4;"))
    event = http(incoming)
    assert event["cookies"] == ["c1=v1", "c2=v2", "c3=v3", "c4=v4"]
    assert "cookie" not in event["headers"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/html; charset=utf-8",
        "application/json",
        "Application/JSON",
        "application/xml",
        "application/javascript",
    ],
)
def test_http_text_bodies(content_type: str) -> None:
    incoming = with_headers(("Content-Type", content_type), method="POST", body="héllo".encode())
    event = http(incoming)
    assert event["body"] == "héllo" and event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/octet-stream",
        "image/png",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/vnd.api+json",
    ],
)
def test_http_other_bodies_are_base64(content_type: str | None) -> None:
    extra = [("Content-Type", content_type)] if content_type else []
    incoming = with_headers(*extra, method="POST", body=b"a=1&b=\x00\xff")
    event = http(incoming)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"a=1&b=\x00\xff"


def test_http_text_body_that_is_not_utf8_is_base64() -> None:
    incoming = with_headers(("Content-Type", "text/plain"), method="POST", body=b"\xff\xfe")
    event = http(incoming)
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\xfe"


def test_http_request_context() -> None:
    context = http()["requestContext"]
    assert context == {
        "accountId": ACCOUNT_ID,
        "apiId": "abcde12345",
        "domainName": "127.0.0.1:3000",
        "domainPrefix": "abcde12345",
        "http": {
            "method": "GET",
            "path": "/users/42",
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.10",
            "userAgent": "curl/8.5.0",
        },
        "requestId": REQUEST_ID,
        "routeKey": "GET /users/{id}",
        "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": EPOCH_MS,
    }


def test_http_request_context_without_a_user_agent() -> None:
    assert http(with_headers())["requestContext"]["http"]["userAgent"] == ""


def test_http_request_context_protocol() -> None:
    assert http(request(protocol="HTTP/2.0"))["requestContext"]["http"]["protocol"] == "HTTP/2.0"


def test_http_default_route() -> None:
    event = http(
        request(path="/any/thing"), match(resource="/any/thing", route_key="$default", path_parameters=None)
    )
    assert event["routeKey"] == "$default" and event["requestContext"]["routeKey"] == "$default"


# -- function URLs -----------------------------------------------------------------------------


def test_function_url_event() -> None:
    incoming = with_headers(
        ("Cookie", "a=1"), ("User-Agent", "agent"), method="POST", path="/my/path", raw_query="p=1&p=2"
    )
    event = function_url_event(incoming, URL_ID)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/my/path"
    assert event["queryStringParameters"] == {"p": "1,2"}
    assert event["cookies"] == ["a=1"]
    assert event["pathParameters"] is None and event["stageVariables"] is None
    assert event["requestContext"] == {
        "accountId": "anonymous",
        "apiId": URL_ID,
        "domainName": "127.0.0.1:3000",
        "domainPrefix": URL_ID,
        "http": {
            "method": "POST",
            "path": "/my/path",
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.10",
            "userAgent": "agent",
        },
        "requestId": REQUEST_ID,
        "routeKey": "$default",
        "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": EPOCH_MS,
    }


def test_function_url_event_without_body() -> None:
    event = function_url_event(request(), URL_ID)
    assert "body" not in event and event["isBase64Encoded"] is False


def test_function_url_event_with_iam_auth() -> None:
    signed = with_headers(
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request, ...",
        )
    )
    context = function_url_event(signed, URL_ID, auth_type="AWS_IAM")["requestContext"]
    assert context["accountId"] == ACCOUNT_ID
    assert context["authorizer"]["iam"]["accessKey"] == "AKIDEXAMPLE"
    assert context["authorizer"]["iam"]["accountId"] == ACCOUNT_ID
    assert context["authorizer"]["iam"]["cognitoIdentity"] is None
