"""One HTTP call to a function, as the host sees it: what the workers and custom handlers are given."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


def canonical(name: str) -> str:
    """`content-type` -> `Content-Type`: the server hands us lower-cased names; Kestrel shows them so."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


@dataclass
class HttpCall:
    method: str
    scheme: str
    path: str  # as received, percent-encoding kept
    query_string: str
    headers: list[tuple[str, str]]
    body: bytes
    route_values: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_scope(cls, scope: dict[str, Any], body: bytes) -> HttpCall:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        headers = [(canonical(k.decode("latin-1")), v.decode("latin-1")) for k, v in scope["headers"]]
        return cls(
            method=scope["method"],
            scheme=scope.get("scheme", "http"),
            path=raw_path.decode("latin-1").split("?", 1)[0],
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
        )

    @property
    def url(self) -> str:
        host = self.header("host") or "localhost"
        return f"{self.scheme}://{host}{self.path}" + (f"?{self.query_string}" if self.query_string else "")

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def header_dict(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for key, value in self.headers:
            name = names.setdefault(key.lower(), key)
            grouped.setdefault(name, []).append(value)
        return grouped

    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)

    def query_dict(self) -> dict[str, str]:
        """Repeated keys are joined with commas, as ASP.NET's StringValues print."""
        grouped: dict[str, list[str]] = {}
        for key, value in self.query_pairs():
            grouped.setdefault(key, []).append(value)
        return {key: ",".join(values) for key, values in grouped.items()}

    def worker_value(self) -> dict[str, Any]:
        """The request for a language worker (the proxy's `azure` adapters)."""
        return {
            "kind": "http",
            "method": self.method,
            "url": self.url,
            "headers": {name.lower(): ",".join(values) for name, values in self.header_dict().items()},
            "query": self.query_dict(),
            "params": dict(self.route_values),
            "body": base64.b64encode(self.body).decode(),
        }
