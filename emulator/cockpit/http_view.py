"""HTTP requests and responses as the cockpit shows them: for functions whose call is an HTTP exchange
(Azure HTTP triggers, Cloud Functions, Cloud Run), the `request` and `response` of an invocation.

Bodies are kept up to `MAX_BODY` bytes, so that a large download does not fill the store; JSON
bodies are shown as JSON, text as text, anything else by its size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

MAX_BODY = 64 * 1024


def body_view(body: bytes, content_type: str | None, *, complete: bool = True) -> Any:
    """A body for display: JSON when it is JSON, else text, else `<N bytes>`; None when empty."""
    if not body:
        return None
    kept = body[:MAX_BODY]
    truncated = not complete or len(body) > MAX_BODY
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if not truncated and (kind == "application/json" or kind.endswith("+json")):
        try:
            return json.loads(kept)
        except ValueError:
            pass
    try:
        text = kept.decode()
    except UnicodeDecodeError:
        return f"<{len(body)} bytes{' or more' if not complete else ''} of {kind or 'binary data'}>"
    return text + ("…" if truncated else "")


def json_view(value: Any) -> Any:
    """A JSON value for display: itself when its encoding fits in `MAX_BODY`, else the start of
    its encoding, marked as cut."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return repr(value)[:MAX_BODY]
    return value if len(text) <= MAX_BODY else text[:MAX_BODY] + "…"


def _content_type(headers: Iterable[tuple[str, str]]) -> str | None:
    return next((value for name, value in headers if name.lower() == "content-type"), None)


def request_view(
    method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes, *, complete: bool = True
) -> dict[str, Any]:
    """`{"method", "path", "body"?}`: the path with its query."""
    view: dict[str, Any] = {"method": method, "path": path}
    shown = body_view(body, _content_type(headers), complete=complete)
    if shown is not None:
        view["body"] = shown
    return view


def response_view(
    status: int, headers: Iterable[tuple[str, str]], body: bytes, *, complete: bool = True
) -> dict[str, Any]:
    """`{"status", "headers", "body"?}`, as the client got it."""
    headers = list(headers)
    view: dict[str, Any] = {"status": status, "headers": dict(headers)}
    shown = body_view(body, _content_type(headers), complete=complete)
    if shown is not None:
        view["body"] = shown
    return view
