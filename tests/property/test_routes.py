"""API Gateway route templates: compiled once, matched against any path, parameters read back."""

from __future__ import annotations

import string
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from providers.aws_lambda.apigateway.routes import DEFAULT_ROUTE, Api, Route, RouteTable, compile_path

SAFE = string.ascii_letters + string.digits + "-_.~"
statics = st.text(SAFE, min_size=1, max_size=8)
param_names = st.text(string.ascii_letters + "_", min_size=1, max_size=8)
# Values as a client sends them in one path segment: anything, percent-encoded.
values = st.text(min_size=1, max_size=12)
REST = Api("Rest", "Api", "Prod", None, "restapi123")
HTTP = Api("Http", "HttpApi", DEFAULT_ROUTE, None, "httpapi123")
pieces = st.sampled_from(
    ["/", "{", "}", "+", "a", "{a}", "{proxy+}", "%", "%2F", "..", " ", "é", "\x00", "?", "*"]
)
junk = st.lists(pieces, max_size=12).map("".join)


def route(api: Api, path: str, method: str = "GET", function: str = "F") -> Route:
    pattern, names = compile_path(path) if path != DEFAULT_ROUTE else (None, ())
    return Route(api, method, path, function, "1.0" if api.rest else "2.0", pattern, names)  # type: ignore[arg-type]


@st.composite
def templates(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """Segments of a template with distinct parameter names, and its `{name}` parameters in order."""
    segments: list[str] = []
    params: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            name = draw(param_names.filter(lambda n: n not in params))
            params.append(name)
            segments.append("{" + name + "}")
        else:
            segments.append(draw(statics))
    return segments, params


@given(templates(), st.data(), st.sampled_from([REST, HTTP]))
def test_parameters_come_back_as_sent(
    template: tuple[list[str], list[str]], data: st.DataObject, api: Api
) -> None:
    segments, params = template
    sent = {name: data.draw(values, label=name) for name in params}
    path = "/" + "/".join(segments)
    raw = "/" + "/".join(quote(sent[s[1:-1]], safe="") if s.startswith("{") else s for s in segments)
    found = RouteTable([route(api, path)]).find("GET", raw)
    assert found is not None, (path, raw)
    # A REST API passes parameters percent-encoded, as they came; an HTTP API decodes them.
    expected = {name: quote(value, safe="") if api.rest else value for name, value in sent.items()}
    assert found[1] == expected
    if segments:  # a trailing slash names the same resource
        assert RouteTable([route(api, path)]).find("GET", raw + "/") is not None


@given(templates(), st.lists(st.text(SAFE, min_size=1, max_size=6), min_size=1, max_size=4))
def test_a_greedy_parameter_takes_the_rest_of_the_path(
    template: tuple[list[str], list[str]], rest: list[str]
) -> None:
    segments, params = template
    path = "/" + "/".join([*segments, "{proxy+}"]) if "proxy" not in params else "/{proxy+}"
    raw_prefix = (
        "/".join(s if not s.startswith("{") else "x" for s in segments) if "proxy" not in params else ""
    )
    raw = "/" + "/".join(part for part in (raw_prefix, *rest) if part)
    found = RouteTable([route(HTTP, path, "ANY")]).find("POST", raw)
    assert found is not None
    assert found[1]["proxy"] == "/".join(rest)


@given(st.lists(statics, min_size=1, max_size=4), st.sampled_from([REST, HTTP]))
def test_the_most_specific_route_wins(segments: list[str], api: Api) -> None:
    static = "/" + "/".join(segments)
    param = "/" + "/".join([*segments[:-1], "{p}"])
    greedy = "/" + "/".join([*segments[:-1], "{proxy+}"])
    table = RouteTable(
        [route(api, greedy, "ANY", "G"), route(api, param, "ANY", "P"), route(api, static, "GET", "S")]
    )
    assert table.find("GET", static)[0].function == "S"  # type: ignore[index]
    assert table.find("POST", static)[0].function == "P"  # type: ignore[index]


@given(junk, junk, st.sampled_from(["GET", "POST", "ANY", "DELETE"]))
def test_any_template_and_path_match_or_not_without_raising(template: str, raw: str, method: str) -> None:
    table = RouteTable([route(HTTP, template or "/"), route(REST, template or "/", method)])
    found = table.find("GET", raw)
    if found is not None:
        assert found[0].parameters(raw) == found[1]
    table.any_for_path(raw)
