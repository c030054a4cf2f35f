"""Route templates as ASP.NET Core (and so the Functions host) parses and matches them."""

from __future__ import annotations

import pytest

from providers.azure.routes import RouteError, RouteTemplate


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("HttpExample", "HttpExample", {}),
        ("HttpExample", "httpexample", {}),  # literals match case-insensitively
        ("HttpExample", "HttpExample/", {}),
        ("HttpExample", "Other", None),
        ("products/{id}", "products/42", {"id": "42"}),
        ("products/{id}", "products", None),
        ("products/{id?}", "products", {"id": None}),
        ("products/{id=7}", "products", {"id": "7"}),
        ("products/{id=7}", "products/8", {"id": "8"}),
        ("products/{category:alpha}/{id:int?}", "products/shoes", {"category": "shoes", "id": None}),
        ("products/{category:alpha}/{id:int?}", "products/shoes/5", {"category": "shoes", "id": "5"}),
        ("products/{category:alpha}/{id:int?}", "products/shoes/x", None),
        ("products/{category:alpha}/{id:int?}", "products/sh0es/5", None),
        ("files/{*path}", "files/a/b/c.txt", {"path": "a/b/c.txt"}),
        ("files/{*path}", "files", {"path": None}),
        ("files/{**path}", "files/a%20b/c", {"path": "a b/c"}),
        (
            "items/{id:guid}",
            "items/3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            {"id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
        ),
        ("items/{id:guid}", "items/not-a-guid", None),
        ("n/{v:int}", "n/2147483647", {"v": "2147483647"}),
        ("n/{v:int}", "n/2147483648", None),
        ("n/{v:long}", "n/2147483648", {"v": "2147483648"}),
        ("n/{v:bool}", "n/TRUE", {"v": "TRUE"}),
        ("n/{v:bool}", "n/yes", None),
        ("n/{v:double}", "n/1.5", {"v": "1.5"}),
        ("n/{v:decimal}", "n/x", None),
        ("n/{v:datetime}", "n/2024-05-14", {"v": "2024-05-14"}),
        ("n/{v:min(10)}", "n/9", None),
        ("n/{v:min(10)}", "n/10", {"v": "10"}),
        ("n/{v:max(10)}", "n/11", None),
        ("n/{v:range(1,3)}", "n/3", {"v": "3"}),
        ("n/{v:range(1,3)}", "n/4", None),
        ("n/{v:length(3)}", "n/abc", {"v": "abc"}),
        ("n/{v:length(2,3)}", "n/a", None),
        ("n/{v:minlength(2)}", "n/a", None),
        ("n/{v:maxlength(2)}", "n/abc", None),
        ("n/{v:int:min(5)}", "n/6", {"v": "6"}),
        ("n/{v:int:min(5)}", "n/4", None),
        ("n/{v:regex(^\\d{{3}}$)}", "n/123", {"v": "123"}),  # doubled braces are escapes
        ("n/{v:regex(^\\d{{3}}$)}", "n/1234", None),
        ("n/{v:regex(^[a-c]+$)}", "n/abc", {"v": "abc"}),
        ("n/{v:regex(^[a-c]+$)}", "n/abd", None),
        ("n/{v:regex(^(a|b)$)}", "n/a", {"v": "a"}),
        ("{name}.{ext}", "report.pdf", {"name": "report", "ext": "pdf"}),
        ("", "", {}),
    ],
)
def test_match(template: str, path: str, expected: dict | None) -> None:
    assert RouteTemplate(template).match(path) == expected


@pytest.mark.parametrize(
    "template",
    ["a/{*rest}/b", "a/{id}/{ID}", "a/{id:unknown}", "a/{id", "a/}", "a//b", "{a}{b}", "a/{v:min(x)}"],
)
def test_refused(template: str) -> None:
    with pytest.raises(RouteError):
        RouteTemplate(template)


def test_precedence_puts_literals_first_and_catch_alls_last() -> None:
    templates = ["files/{*rest}", "files/{name}", "files/{name:int}", "files/latest"]
    ordered = sorted(templates, key=lambda text: RouteTemplate(text).precedence())
    assert ordered == ["files/latest", "files/{name:int}", "files/{name}", "files/{*rest}"]
