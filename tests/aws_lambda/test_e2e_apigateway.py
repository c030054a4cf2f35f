"""The API Gateway port and function URLs over plain HTTP: events as the function received them,
response mapping, errors, CORS."""

from __future__ import annotations

import http.client
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.aws_lambda.conftest import lambda_client
from tests.conftest import RunningEmu, start_emu

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Timeout: 2
Resources:
  RestApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Cors:
        AllowOrigin: "'https://example.com'"
        AllowMethods: "'GET,POST'"
  HttpApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: ["https://example.com"]
        AllowMethods: [GET]
  EchoRest:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      Events:
        Item:
          Type: Api
          Properties:
            RestApiId: !Ref RestApi
            Path: /items/{id}
            Method: post
        Greedy:
          Type: Api
          Properties:
            RestApiId: !Ref RestApi
            Path: /rest/{proxy+}
            Method: any
  EchoHttp:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      Events:
        Item:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Path: /v2/items/{id}
            Method: get
  Shapes:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.shapes
      FunctionUrlConfig:
        AuthType: NONE
      Events:
        Rest:
          Type: Api
          Properties:
            RestApiId: !Ref RestApi
            Path: /shape/{kind}
            Method: get
        Http:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Path: /v2/shape/{kind}
            Method: get
"""
APP = """
import json, time

def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}

def shapes(event, context):
    kind = (event.get("pathParameters") or {}).get("kind") or event.get("rawPath", "/").strip("/")
    if kind == "string":
        return "plain string"
    if kind == "object":
        return {"just": "data"}
    if kind == "cookies":
        return {"statusCode": 201, "cookies": ["a=1", "b=2"], "body": "made"}
    if kind == "binary":
        return {"statusCode": 200, "headers": {"content-type": "image/png"}, "body": "iVBORw==", "isBase64Encoded": True}
    if kind == "multi":
        return {"statusCode": 200, "multiValueHeaders": {"x-many": ["1", "2"]}, "body": "ok"}
    if kind == "malformed":
        return {"status": "no statusCode here"}
    if kind == "raise":
        raise ValueError("boom")
    if kind == "slow":
        time.sleep(5)
    if kind == "smuggle":
        smuggled = "HTTP/1.1 200 OK\\r\\nContent-Length: 8\\r\\n\\r\\nSMUGGLED"
        return {"statusCode": 204, "headers": {"Content-Length": "8", "Connection": "keep-alive"}, "body": smuggled}
    if kind == "interim":
        return {"statusCode": 101, "body": "x"}
    if kind == "not-latin1":
        return {"statusCode": 200, "headers": {"x-name": "\\u20ac"}, "body": "x"}
    if kind == "bad-name":
        return {"statusCode": 200, "headers": {"bad name": "x"}, "body": "x"}
    return {"statusCode": 200, "body": kind}
"""


@pytest.fixture(scope="module")
def api_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmu]:
    project = tmp_path_factory.mktemp("project")
    (project / "template.yaml").write_text(TEMPLATE)
    (project / "src").mkdir()
    (project / "src" / "app.py").write_text(APP)
    running = start_emu(project, tmp_path_factory.mktemp("state"), "--no-reload")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api(api_emu: RunningEmu) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_emu.urls["apigateway"], timeout=30) as client:
        yield client


def test_rest_event_payload_format_1(api: httpx.Client) -> None:
    reply = api.post(
        "/items/42?tag=a&tag=b&one=1",
        content=b'{"x": 1}',
        headers={"X-Multi": "v1", "content-type": "application/json"},
    )
    assert reply.status_code == 200, reply.text
    event: dict[str, Any] = reply.json()
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"tag": "b", "one": "1"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "one": ["1"]}
    assert event["body"] == '{"x": 1}' and event["isBase64Encoded"] is False
    assert event["requestContext"]["stage"] == "dev"
    assert event["requestContext"]["resourcePath"] == "/items/{id}"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["stageVariables"] is None
    assert any(key.lower() == "x-multi" for key in event["headers"])


def test_a_clients_forwarded_for_is_not_taken_as_its_address(api: httpx.Client) -> None:
    reply = api.post("/items/1", content=b"{}", headers={"X-Forwarded-For": "203.0.113.5"})
    assert reply.status_code == 200, reply.text
    event: dict[str, Any] = reply.json()
    # API Gateway takes the connection's peer, and extends the chain the client sent.
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-For"] == "203.0.113.5, 127.0.0.1"


def test_http_event_payload_format_2(api: httpx.Client) -> None:
    reply = api.get("/v2/items/7?a=1&a=2", headers={"Cookie": "c1=v1; c2=v2"})
    assert reply.status_code == 200, reply.text
    event = reply.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /v2/items/{id}"
    assert event["rawPath"] == "/v2/items/7" and event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["pathParameters"] == {"id": "7"}
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["stage"] == "$default"
    assert "body" not in event


def test_greedy_path(api: httpx.Client) -> None:
    event = api.delete("/rest/a/b/c").json()
    assert event["pathParameters"] == {"proxy": "a/b/c"} and event["resource"] == "/rest/{proxy+}"


def test_response_mapping(api: httpx.Client) -> None:
    assert api.get("/v2/shape/string").text == "plain string"
    object_reply = api.get("/v2/shape/object")
    assert object_reply.json() == {"just": "data"}
    assert object_reply.headers["content-type"].startswith("application/json")
    cookies = api.get("/v2/shape/cookies")
    assert cookies.status_code == 201 and cookies.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert api.get("/v2/shape/binary").content == b"\x89PNG"
    assert api.get("/shape/multi").headers.get_list("x-many") == ["1", "2"]


def test_errors(api: httpx.Client) -> None:
    for path in ("/shape/malformed", "/shape/raise"):
        reply = api.get(path)
        assert (reply.status_code, reply.json()) == (502, {"message": "Internal server error"}), path
    http_api = api.get("/v2/shape/raise")
    assert (http_api.status_code, http_api.json()) == (500, {"message": "Internal Server Error"})
    assert api.get("/shape/slow").status_code == 504
    missing = api.get("/nothing/here")
    assert (missing.status_code, missing.json()) == (403, {"message": "Missing Authentication Token"})
    wrong_method = api.put("/items/1")
    assert wrong_method.status_code == 403


def two_requests(base: str, first: str, second: str) -> list[tuple[int, bytes]]:
    """Two requests on one keep-alive connection: what the client read for each."""
    url = httpx.URL(base)
    connection = http.client.HTTPConnection(url.host, url.port, timeout=10)
    replies = []
    for path in (first, second):
        connection.request("GET", url.path.rstrip("/") + path)
        response = connection.getresponse()
        replies.append((response.status, response.read()))
    connection.close()
    return replies


def test_a_function_cannot_split_the_response(api_emu: RunningEmu) -> None:
    url = function_url(api_emu, "Shapes")
    for base, first, second in (
        (api_emu.urls["apigateway"], "/v2/shape/smuggle", "/v2/shape/string"),
        (api_emu.urls["apigateway"], "/shape/smuggle", "/shape/plain"),
        (url, "/smuggle", "/string"),
    ):
        smuggled, following = two_requests(base, first, second)
        assert smuggled == (204, b""), base + first
        assert following[0] == 200 and b"SMUGGLED" not in following[1], base + second


def test_responses_http_cannot_carry_are_malformed(api: httpx.Client, api_emu: RunningEmu) -> None:
    url = function_url(api_emu, "Shapes")
    for kind in ("interim", "not-latin1", "bad-name"):
        assert api.get(f"/shape/{kind}").status_code == 502, kind
        assert api.get(f"/v2/shape/{kind}").status_code == 500, kind
        assert httpx.get(url + kind).status_code == 502, kind


def test_cors(api: httpx.Client) -> None:
    rest = api.options(
        "/items/1", headers={"Origin": "https://example.com", "Access-Control-Request-Method": "POST"}
    )
    assert rest.status_code == 200
    assert rest.headers["access-control-allow-origin"] == "https://example.com"
    assert rest.headers["access-control-allow-methods"] == "GET,POST"
    http = api.options(
        "/v2/items/1", headers={"Origin": "https://example.com", "Access-Control-Request-Method": "GET"}
    )
    assert http.status_code == 204 and http.headers["access-control-allow-origin"] == "https://example.com"
    plain = api.get("/v2/items/1", headers={"Origin": "https://example.com"})
    assert plain.headers["access-control-allow-origin"] == "https://example.com"


def function_url(emu: RunningEmu, name: str) -> str:
    listed = httpx.get(emu.urls["admin"] + "/_emu/functions").json()
    return next(item["url"] for item in listed if item["provider"] == "lambda-url" and item["name"] == name)


def test_function_url(api_emu: RunningEmu) -> None:
    url = function_url(api_emu, "Shapes")
    assert httpx.get(url + "string").text == "plain string"
    assert httpx.get(url + "object").json() == {"just": "data"}
    assert httpx.get(url + "raise").status_code == 502
    config = lambda_client(api_emu).get_function_url_config(FunctionName="Shapes")
    assert config["FunctionUrl"] == url and config["AuthType"] == "NONE"


def test_function_url_through_the_management_api(api_emu: RunningEmu) -> None:
    client = lambda_client(api_emu)
    created = client.create_function_url_config(FunctionName="EchoHttp", AuthType="NONE")
    event = httpx.get(created["FunctionUrl"] + "some/path?q=1").json()
    assert event["routeKey"] == "$default" and event["rawPath"] == "/some/path"
    assert event["queryStringParameters"] == {"q": "1"}
    with pytest.raises(client.exceptions.ResourceConflictException):
        client.create_function_url_config(FunctionName="EchoHttp", AuthType="NONE")
    client.delete_function_url_config(FunctionName="EchoHttp")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function_url_config(FunctionName="EchoHttp")


def test_sample_http_api(emu_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import SAMPLES

    project = tmp_path / "aws"
    shutil.copytree(SAMPLES / "aws", project)
    emu: RunningEmu = emu_factory(project, "--no-reload", state_dir=tmp_path / "state")
    base = emu.urls["apigateway"]
    assert httpx.get(base + "/users/42").json() == {"user": "42", "route": "GET /users/{id}"}
    assert httpx.post(base + "/files/a/b.txt").json() == {"file": "a/b.txt", "method": "POST"}
    hello = httpx.get(base + "/hello?name=Ada")
    assert json.loads(hello.text)["message"] == "Hello, Ada!"


URL_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Handler: app.shapes
Resources:
  Kept:
    Type: AWS::Serverless::Function
    Properties:
      FunctionUrlConfig:
        AuthType: NONE
  Dropped:
    Type: AWS::Serverless::Function
    Properties:
      FunctionUrlConfig:
        AuthType: NONE
"""


def test_reload_stops_urls_of_functions_gone_or_without_url(emu_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text(APP)
    template = project / "template.yaml"
    template.write_text(URL_TEMPLATE)
    emu: RunningEmu = emu_factory(project, state_dir=tmp_path / "state")
    kept, dropped = function_url(emu, "Kept"), function_url(emu, "Dropped")
    assert httpx.get(kept + "string").text == httpx.get(dropped + "string").text == "plain string"
    # Kept loses its URL config; Dropped leaves the template.
    template.write_text(
        URL_TEMPLATE.split("  Dropped:")[0].replace("      FunctionUrlConfig:\n        AuthType: NONE\n", "")
    )
    deadline = time.monotonic() + 15
    while any(
        item["provider"] == "lambda-url" for item in httpx.get(emu.urls["admin"] + "/_emu/functions").json()
    ):
        assert time.monotonic() < deadline, "the function URLs are still listed"
        time.sleep(0.05)
    for url in (kept, dropped):
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(url + "string", timeout=2)
            except httpx.TransportError:
                break
            assert time.monotonic() < deadline, f"{url} still answers"
            time.sleep(0.05)
