"""Bad input on every API route: each gets the cloud's own error, and the gateway keeps serving.

Bodies that are not JSON, of the wrong type, with unknown fields, odd unicode, empty, nested
deeper than a parser's stack, and over the cloud's size limit, declared by `Content-Length` or
streamed in chunks (refused before being read whole). Existing tests check the exact messages of
the common cases (tests/openwhisk/test_e2e_errors.py, tests/aws_lambda/test_e2e_errors.py);
these sweep every route for the shape of the answer.
"""

from __future__ import annotations

import base64
import select
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.aws_lambda.conftest import create, lambda_client, zip_bytes
from tests.conftest import GUEST_KEY, RunningEmu, put_action, start_emu

ECHO = "def main(args):\n    return {'ok': True}\n\ndef handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
TEMPLATE = """
Resources:
  Rest:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src
      Events:
        Post:
          Type: Api
          Properties:
            Path: /rest/{id}
            Method: post
  Http:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src
      Events:
        Post:
          Type: HttpApi
          Properties:
            Path: /http/{id}
            Method: post
"""
BASIC = "Basic " + base64.b64encode(GUEST_KEY.encode()).decode()
BODIES = {
    "malformed": b'{"exec": {"kind": ',
    "array": b"[1, 2]",
    "string": b'"text"',
    "number": b"12",
    "null": b"null",
    "wrong-types": b'{"exec": 5, "parameters": "x", "limits": [], "annotations": {}, "FunctionName": 7,'
    b' "Runtime": {}, "Code": [], "ZipFile": 1, "ReservedConcurrentExecutions": "many", "AuthType": 3}',
    "unknown-fields": b'{"surprise": {"nested": true}, "\\u0000": 1}',
    "unicode": '{"name": "\u00e9\u2028\U0001f600", "key": "\u202e"}'.encode(),
    "lone-surrogate": b'{"a": "\\ud800"}',
    "invalid-utf8": b'{"a": "\xff\xfe"}',
    "empty": b"",
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "nan": b'{"a": NaN}',
}


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmu]:
    project = tmp_path_factory.mktemp("project")
    (project / "template.yaml").write_text(TEMPLATE)
    (project / "src").mkdir()
    (project / "src" / "app.py").write_text(ECHO)
    running = start_emu(project, tmp_path_factory.mktemp("state"), "--no-reload")
    with running.openwhisk() as ow:
        put_action(ow, "echo", ECHO)
        put_action(ow, "web", ECHO, annotations=[{"key": "web-export", "value": True}])
        assert ow.put("/api/v1/namespaces/_/packages/pkg", json={}).status_code == 200
    client = lambda_client(running)
    create(client, "echo", {"app.py": ECHO})
    url = client.create_function_url_config(FunctionName="echo", AuthType="NONE")["FunctionUrl"]
    running.urls["function-url"] = url.rstrip("/")
    yield running
    running.stop()


# (port, method, path, limit): every route that reads a body, and the size the cloud allows it.
OW = [
    ("openwhisk", "PUT", "/api/v1/namespaces/_/actions/new?overwrite=true", 48 * 1024 * 1024),
    ("openwhisk", "PUT", "/api/v1/namespaces/_/actions/pkg/new?overwrite=true", 48 * 1024 * 1024),
    ("openwhisk", "POST", "/api/v1/namespaces/_/actions/echo?blocking=true", 1024 * 1024),
    ("openwhisk", "POST", "/api/v1/namespaces/_/actions/echo", 1024 * 1024),
    ("openwhisk", "PUT", "/api/v1/namespaces/_/packages/newpkg?overwrite=true", 1024 * 1024),
    ("openwhisk", "POST", "/api/v1/web/guest/default/web.json", 1024 * 1024),
]
LAMBDA = [
    ("lambda", "POST", "/2015-03-31/functions", 70_167_211),
    ("lambda", "POST", "/2015-03-31/functions/echo/invocations", 6_291_456),
    ("lambda", "POST", "/2014-11-13/functions/echo/invoke-async/", 262_144),
    ("lambda", "PUT", "/2015-03-31/functions/echo/configuration", 70_167_211),
    ("lambda", "PUT", "/2015-03-31/functions/echo/code", 70_167_211),
    ("lambda", "PUT", "/2017-10-31/functions/echo/concurrency", 70_167_211),
    ("lambda", "PUT", "/2021-10-31/functions/echo/url", 70_167_211),
]
APIGATEWAY = [
    ("apigateway", "POST", "/rest/1", 10 * 1024 * 1024),
    ("apigateway", "POST", "/http/1", 10 * 1024 * 1024),
    ("function-url", "POST", "/any/path", 6_291_456),
]
ROUTES = OW + LAMBDA + APIGATEWAY


def route_id(route: tuple[str, str, str, int]) -> str:
    return f"{route[0]}-{route[1]}-{route[2]}"


def headers_for(port: str) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if port == "openwhisk":
        headers["authorization"] = BASIC
    return headers


def assert_cloud_error(port: str, reply: httpx.Response) -> None:
    """A 4xx in the cloud's shape; or, where the cloud passes any body on, a normal answer."""
    text = reply.text[:300]
    if port == "openwhisk":
        assert reply.status_code < 500 or reply.status_code == 502, text
        if reply.status_code >= 400:
            body = reply.json()
            assert set(body) == {"error", "code"} and body["code"] == reply.headers["x-request-id"], text
    elif port == "lambda":
        assert reply.status_code < 500, text
        if reply.status_code >= 400:
            assert reply.headers["x-amzn-errortype"], text
            assert reply.headers["x-amzn-requestid"], text
            reply.json()
    else:  # API Gateway and function URLs hand any body to the function
        assert reply.status_code == 200, text


def still_serving(emu: RunningEmu) -> None:
    assert httpx.get(emu.urls["admin"] + "/_emu/health").status_code == 200
    with emu.openwhisk() as ow:
        reply = ow.post("/api/v1/namespaces/_/actions/echo?blocking=true&result=true", json={})
        assert reply.json() == {"ok": True}


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_every_bad_body_gets_the_clouds_answer(emu: RunningEmu, route: tuple[str, str, str, int]) -> None:
    port, method, path, _ = route
    with httpx.Client(base_url=emu.urls[port], timeout=60) as client:
        for kind, body in BODIES.items():
            reply = client.request(method, path, content=body, headers=headers_for(port))
            try:
                assert_cloud_error(port, reply)
            except AssertionError as error:
                raise AssertionError(f"{kind}: {error}") from None
    still_serving(emu)


def raw_request(url: str, head: str, body_chunks: Iterator[bytes]) -> tuple[int | None, float]:
    """Send a request by hand; return (status, seconds to the answer) once the server answers,
    even while the body is still being sent. Any rest of the body is never sent."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        started = time.monotonic()
        try:
            sock.sendall(head.encode())
        except (BrokenPipeError, ConnectionResetError):
            return None, time.monotonic() - started
        for chunk in body_chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        while b"\r\n" not in answer:
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
    status = int(answer.split(b" ", 2)[1]) if answer else None
    return status, time.monotonic() - started


def request_head(emu_url: str, port: str, method: str, path: str, framing: str) -> str:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {urlsplit(emu_url).netloc}", framing]
    lines += [f"{name}: {value}" for name, value in headers_for(port).items()]
    return "\r\n".join(lines) + "\r\n\r\n"


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    emu: RunningEmu, route: tuple[str, str, str, int]
) -> None:
    port, method, path, limit = route
    head = request_head(emu.urls[port], port, method, path, f"Content-Length: {limit + 1}")
    status, _ = raw_request(
        emu.urls[port], head, iter([b"{" * 1024])
    )  # then nothing: the server must not wait
    assert status == 413
    still_serving(emu)


@pytest.mark.parametrize("route", [OW[2], LAMBDA[2], APIGATEWAY[1], APIGATEWAY[2]], ids=route_id)
def test_a_chunked_body_over_the_limit_is_refused_as_it_passes_it(
    emu: RunningEmu, route: tuple[str, str, str, int]
) -> None:
    port, method, path, limit = route
    head = request_head(emu.urls[port], port, method, path, "Transfer-Encoding: chunked")
    piece = b"x" * 65536
    chunk = b"%x\r\n" % len(piece) + piece + b"\r\n"
    # Up to four times the limit, then the connection stays open: the answer must come before.
    status, _ = raw_request(emu.urls[port], head, iter([chunk] * (4 * limit // len(piece))))
    assert status == 413
    still_serving(emu)


def test_huge_headers_and_urls_are_refused_and_the_gateway_serves(emu: RunningEmu) -> None:
    url = emu.urls["lambda"]
    for head in (
        f"GET /2015-03-31/functions/{'a' * 200_000} HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
        f"X-Amz-Client-Context: {'x' * 60_000}\r\n\r\n",
        "GET /2015-03-31/functions/ HTTP/1.1\r\nHost: x\r\n"
        + "".join(f"X-{n}: {'y' * 100}\r\n" for n in range(2000))
        + "\r\n",
    ):
        status, _ = raw_request(url, head, iter(()))
        # Refused (None: the connection was closed), or for many small headers, served.
        assert status is None or 400 <= status < 500 or (status == 200 and "X-1999" in head), status
    still_serving(emu)


def test_names_outside_each_clouds_rules_are_refused(emu: RunningEmu) -> None:
    lambda_names = ["..", ".", "a/b", "a b", "\u00e9", "x" * 65, "%2e%2e", "a%00b"]
    with httpx.Client(base_url=emu.urls["lambda"], timeout=30) as client:
        for name in lambda_names:
            body = {
                "FunctionName": name,
                "Role": "arn:aws:iam::000000000000:role/r",
                "Runtime": "python3.12",
                "Handler": "app.handler",
                "Code": {"ZipFile": base64.b64encode(zip_bytes({"app.py": ECHO})).decode()},
            }
            reply = client.post("/2015-03-31/functions", json=body)
            assert reply.status_code == 400, (name, reply.text)
            assert reply.headers["x-amzn-errortype"] == "ValidationException"
        listed = {item["FunctionName"] for item in client.get("/2015-03-31/functions/").json()["Functions"]}
        assert listed == {"echo", "Http", "Rest"}
    with emu.openwhisk() as ow:
        for name in ["\u00e9", " lead", "trail ", "a/b/c", "-x", "x" * 257]:
            reply = ow.put(
                f"/api/v1/namespaces/_/actions/{name}", json={"exec": {"kind": "python:3.11", "code": ECHO}}
            )
            assert reply.status_code in (400, 404), (name, reply.text)
    still_serving(emu)


def test_a_zip_entry_without_a_name_is_refused(emu: RunningEmu) -> None:
    client = lambda_client(emu)
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.update_function_code(FunctionName="echo", ZipFile=zip_bytes({"app.py": ECHO, "": "x"}))
    still_serving(emu)
