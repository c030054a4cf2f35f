"""Web actions over HTTP: /api/v1/web/{namespace}/{package|default}/{action}.{ext}, no key needed."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.conftest import RunningEmu, assert_error, put_action, put_package

WEB = [{"key": "web-export", "value": True}]
RAW = [{"key": "web-export", "value": True}, {"key": "raw-http", "value": True}]
ECHO = """
def main(args):
    return {"body": {k: v for k, v in args.items() if k != "__ow_headers"},
            "headers": {"x-seen-header": args["__ow_headers"].get("x-custom", "")}}
"""
HTTP = """
import json
def main(args):
    return json.loads(args["reply"])
"""


@pytest.fixture(scope="module")
def web(empty_emu: RunningEmu, ow: httpx.Client) -> httpx.Client:
    """A client without a key: web actions are public."""
    put_package(ow, "site")
    put_action(ow, "site/echo", ECHO, annotations=WEB)
    put_action(ow, "http", HTTP, annotations=WEB)
    with httpx.Client(base_url=empty_emu.urls["openwhisk"] + "/api/v1/web/guest", timeout=30) as client:
        yield client


def reply_with(web: httpx.Client, result: dict, ext: str = "http") -> httpx.Response:
    return web.get(f"/default/http.{ext}", params={"reply": json.dumps(result)})


def test_http_maps_status_headers_and_body(web: httpx.Client) -> None:
    reply = reply_with(
        web, {"statusCode": 201, "headers": {"x-a": "1", "content-type": "text/plain"}, "body": "made"}
    )
    assert reply.status_code == 201
    assert reply.headers["x-a"] == "1"
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.text == "made"
    assert len(reply.headers["x-openwhisk-activation-id"]) == 32


def test_http_header_lists_and_string_status(web: httpx.Client) -> None:
    reply = reply_with(
        web, {"statusCode": "202", "headers": {"set-cookie": ["a=1", "b=2"], "x-n": 5}, "body": "ok"}
    )
    assert reply.status_code == 202
    assert reply.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert reply.headers["x-n"] == "5"


def test_http_empty_body_is_204(web: httpx.Client) -> None:
    reply = reply_with(web, {"headers": {"x-a": "1"}})
    assert reply.status_code == 204
    assert reply.content == b""


def test_http_json_body_and_default_content_types(web: httpx.Client) -> None:
    reply = reply_with(web, {"body": {"a": [1, 2]}})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {"a": [1, 2]}
    reply = reply_with(web, {"body": "<p>hi</p>"})
    assert reply.headers["content-type"].startswith("text/html")
    assert reply.text == "<p>hi</p>"


def test_http_binary_body_is_base64_decoded(web: httpx.Client) -> None:
    data = bytes(range(256))
    reply = reply_with(
        web, {"headers": {"content-type": "image/png"}, "body": base64.b64encode(data).decode()}
    )
    assert reply.status_code == 200
    assert reply.content == data


def test_http_bad_status_code_is_400(web: httpx.Client) -> None:
    reply = reply_with(web, {"statusCode": "teapot", "body": "x"})
    assert reply.status_code == 400
    assert reply.json()["error"] == "Response is not valid 'message/http'."


def test_http_framing_headers_from_the_action_are_dropped(web: httpx.Client) -> None:
    # A second response smuggled into the body must not reach the client as one.
    smuggled = "HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nforged"
    framing = {"content-length": "0", "transfer-encoding": "chunked", "connection": "keep-alive"}
    reply = reply_with(
        web,
        {"headers": {**framing, "content-type": "text/plain", "keep-alive": "timeout=5"}, "body": smuggled},
    )
    assert reply.status_code == 200
    assert reply.text == smuggled
    assert reply.headers["content-length"] == str(len(smuggled))
    assert "transfer-encoding" not in reply.headers and "keep-alive" not in reply.headers
    # The connection is still in step: the next response on it is the right one.
    assert reply_with(web, {"body": "next"}).text == "next"


def test_http_204_and_304_have_no_body(web: httpx.Client) -> None:
    for status in (204, 304):
        reply = reply_with(web, {"statusCode": status, "body": {"ignored": True}})
        assert reply.status_code == status
        assert reply.content == b""
        assert "content-type" not in reply.headers
    assert reply_with(web, {"body": "after"}).text == "after"


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": 101, "body": "x"},
        {"statusCode": 199},
        {"headers": {"bad name": "x"}, "body": "x"},
        {"headers": {"x-a:b": "x"}, "body": "x"},
        {"headers": {"x-split": "a\r\nx-injected: 1"}, "body": "x"},
        {"headers": {"x-nul": "a\u0000b"}, "body": "x"},
        {"headers": {"x-snow": "\u2603"}, "body": "x"},
        {"headers": {"x-list": ["ok", "a\nb"]}, "body": "x"},
    ],
)
def test_http_responses_http_cannot_carry_are_400(web: httpx.Client, result: dict) -> None:
    assert_error(reply_with(web, result), 400, "Response is not valid 'message/http'.")
    assert reply_with(web, {"body": "still up"}).text == "still up"


def test_http_latin1_header_values_are_sent(web: httpx.Client) -> None:
    reply = reply_with(web, {"headers": {"x-name": "  Jos\u00e9\t"}, "body": "x"})
    assert reply.status_code == 200
    assert dict(reply.headers.raw)[b"x-name"] == "José".encode("latin-1")


def test_json_extension(web: httpx.Client) -> None:
    reply = web.get("/site/echo.json", params={"q": "1"})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json()["body"]["q"] == "1"


def test_extra_path_is_passed_on_for_every_extension(web: httpx.Client) -> None:
    # Current OpenWhisk no longer projects the result by the extra path: it is `__ow_path`.
    reply = web.get("/site/echo.json/body/q", params={"q": "1"})
    assert reply.status_code == 200
    assert reply.json()["body"]["__ow_path"] == "/body/q"
    assert reply.json()["body"]["q"] == "1"


def test_json_extension_needs_an_object_or_array(ow: httpx.Client, web: httpx.Client) -> None:
    put_action(ow, "lister", "def main(args):\n    return [1, 2]\n", annotations=WEB)
    assert web.get("/default/lister.json").json() == [1, 2]
    put_action(ow, "errs", "def main(args):\n    return {'error': 'plain'}\n", annotations=WEB)
    reply = web.get("/default/errs.json")
    assert reply.status_code == 400
    assert reply.json()["error"] == "Response is not valid 'application/json'."


def test_html_and_text_extensions(ow: httpx.Client, web: httpx.Client) -> None:
    code = "def main(args):\n    return {'html': '<b>x</b>', 'text': 'plain', 'n': args.get('n')}\n"
    put_action(ow, "page", code, annotations=WEB)
    html = web.get("/default/page.html")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert html.text == "<b>x</b>"
    text = web.get("/default/page.text")
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == "plain"
    # `body` wins over the field named like the extension.
    put_action(
        ow,
        "bodied",
        "def main(args):\n    return {'html': 'no', 'text': 'no', 'body': 'yes'}\n",
        annotations=WEB,
    )
    assert web.get("/default/bodied.html").text == "yes"
    assert web.get("/default/bodied.text").text == "yes"


def test_html_and_text_without_their_field(ow: httpx.Client, web: httpx.Client) -> None:
    put_action(ow, "fieldless", "def main(args):\n    return {'other': 1}\n", annotations=WEB)
    reply = web.get("/default/fieldless.html")
    assert reply.status_code == 400
    assert reply.json()["error"] == "Response is not valid 'text/html'."
    reply = web.get("/default/fieldless.text")
    assert reply.status_code == 404
    assert reply.json()["error"] == "Response does not include requested property."


def test_query_and_json_body_are_merged_with_context(web: httpx.Client) -> None:
    reply = web.post(
        "/site/echo.http/extra/path?q=query&both=query",
        json={"both": "body", "b": 2},
        headers={"X-Custom": "yes"},
    )
    assert reply.status_code == 200, reply.text
    args = reply.json()
    assert args == {
        "q": "query",
        "both": "body",  # the body wins over the query
        "b": 2,
        "__ow_method": "post",
        "__ow_path": "/extra/path",
    }
    assert reply.headers["x-seen-header"] == "yes"  # __ow_headers has lowercased names


def test_form_body_is_merged(web: httpx.Client) -> None:
    reply = web.put("/site/echo", data={"f": "form"})
    assert reply.json()["f"] == "form"
    assert reply.json()["__ow_method"] == "put"
    assert reply.json()["__ow_path"] == ""


def test_text_body_is_passed_as_ow_body(web: httpx.Client) -> None:
    reply = web.post("/site/echo.json", content=b"just text", headers={"content-type": "text/plain"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["body"]["__ow_body"] == "just text"
    reply = web.post(
        "/site/echo.json", content=bytes([0, 1, 2]), headers={"content-type": "application/octet-stream"}
    )
    assert reply.json()["body"]["__ow_body"] == base64.b64encode(bytes([0, 1, 2])).decode()
    reply = web.post("/site/echo.json", json=[1, 2])  # JSON that is not an object: passed as is
    assert reply.json()["body"]["__ow_body"] == [1, 2]


def test_package_parameters_reach_web_actions(ow: httpx.Client, web: httpx.Client) -> None:
    put_package(ow, "withparams", parameters=[{"key": "p", "value": "pkg"}])
    put_action(ow, "withparams/echo", ECHO, annotations=WEB)
    assert web.get("/withparams/echo.json").json()["body"]["p"] == "pkg"


def test_reserved_arguments_are_refused(web: httpx.Client) -> None:
    reply = web.get("/site/echo.json", params={"__ow_method": "get"})
    assert reply.status_code == 400
    assert (
        reply.json()["error"]
        == "Request defines parameters that are not allowed (e.g., reserved properties)."
    )


def test_not_web_exported_is_404(ow: httpx.Client, web: httpx.Client) -> None:
    put_action(ow, "private", "def main(args):\n    return {}\n")
    for path in ("/default/private.json", "/default/missing.json", "/nopkg/private.http"):
        reply = web.get(path)
        assert reply.status_code == 404
        assert reply.json()["error"] == "The requested resource does not exist."
    assert (
        httpx.get(str(web.base_url).replace("/guest", "/someone") + "/default/http.json").status_code == 404
    )


def test_options_answers_cors(web: httpx.Client) -> None:
    reply = web.options("/site/echo.json", headers={"Access-Control-Request-Headers": "x-mine"})
    assert reply.status_code == 200
    assert reply.headers["access-control-allow-origin"] == "*"
    assert reply.headers["access-control-allow-methods"] == "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH"
    assert reply.headers["access-control-allow-headers"] == "x-mine"
    assert web.get("/site/echo.json").headers["access-control-allow-origin"] == "*"


def test_developer_error_is_400(ow: httpx.Client, web: httpx.Client) -> None:
    put_action(ow, "broken", "def main(args):\n    return 'not a dict'\n", annotations=WEB)
    reply = web.get("/default/broken.json")
    assert reply.status_code == 400
    assert reply.json()["error"] == "There was an error processing your request."
    assert len(reply.json()["code"]) == 32


def test_application_error_projects_the_error(ow: httpx.Client, web: httpx.Client) -> None:
    code = "def main(args):\n    return {'error': {'statusCode': 418, 'body': 'teapot'}}\n"
    put_action(ow, "refuses", code, annotations=WEB)
    reply = web.get("/default/refuses.http")
    assert reply.status_code == 418
    assert reply.text == "teapot"


def test_raw_http_gets_query_and_body_unparsed(ow: httpx.Client, web: httpx.Client) -> None:
    code = "def main(args):\n    return {'body': {k: v for k, v in args.items() if k != '__ow_headers'}}\n"
    put_action(ow, "raw", code, annotations=RAW)
    reply = web.post("/default/raw.http/p?a=1&b=2", content=b"hello", headers={"content-type": "text/plain"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "__ow_method": "post",
        "__ow_path": "/p",
        "__ow_query": "a=1&b=2",
        "__ow_body": "hello",
    }
    reply = web.post("/default/raw.http", json={"j": 1})
    assert json.loads(base64.b64decode(reply.json()["__ow_body"])) == {"j": 1}
    assert web.get("/default/raw.http").json()["__ow_body"] == ""


def test_require_whisk_auth_secret(ow: httpx.Client, web: httpx.Client) -> None:
    notes = [*WEB, {"key": "require-whisk-auth", "value": "s3cret"}]
    put_action(ow, "guarded", "def main(args):\n    return {'body': 'in'}\n", annotations=notes)
    assert web.get("/default/guarded").status_code == 401
    assert web.get("/default/guarded", headers={"X-Require-Whisk-Auth": "nope"}).status_code == 401
    reply = web.get("/default/guarded", headers={"X-Require-Whisk-Auth": "s3cret"})
    assert reply.status_code == 200
    assert reply.text == "in"
