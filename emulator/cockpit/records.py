"""Invocations in one shape for every cloud: from live `Invocation` events and from stored records.

Each cloud stores its activation records in its own format (an OpenWhisk activation, a Lambda
invoke log, ...). The console, `emu logs` and the dashboard read them all through `normalise`,
which gives the keys of `Invocation.as_dict()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# `2026-01-01T00:00:00.000000Z  stdout: text`: how OpenWhisk stores a log line.
_STAMPED = re.compile(r"^\S+Z\s+(stdout|stderr): ?(.*)$")
# Lines the platform writes around a Lambda invocation, not the function's own output.
_PLATFORM = ("START RequestId: ", "END RequestId: ", "REPORT RequestId: ")
# `<ISO time>\t<request id>\tINFO\t<text>`: a Lambda Node.js console line.
_LAMBDA_NODE = re.compile(r"^\S+Z\t[0-9a-f-]{36}\t(INFO|WARN|ERROR|DEBUG|TRACE|FATAL)\t(.*)$", re.S)
_INIT_DURATION = re.compile(r"Init Duration: ([\d.]+) ms")


def _openwhisk(doc: dict[str, Any]) -> dict[str, Any]:
    annotations = {a.get("key"): a.get("value") for a in doc.get("annotations", [])}
    response = doc.get("response") or {}
    return {
        "function": "/" + str(annotations.get("path") or f"{doc.get('namespace')}/{doc.get('name')}"),
        "id": doc.get("activationId"),
        "status": response.get("status", "unknown"),
        "cold": "initTime" in annotations,
        "waitTime": annotations.get("waitTime"),
        "initTime": annotations.get("initTime"),
        "response": response.get("result"),
        "logs": list(doc.get("logs") or []),
    }


def _lambda(doc: dict[str, Any]) -> dict[str, Any]:
    logs = str(doc.get("log") or "").splitlines()
    init = next((m for line in logs if (m := _INIT_DURATION.search(line))), None)
    return {
        "function": doc.get("functionName"),
        "id": doc.get("requestId"),
        "status": "success" if doc.get("functionError") is None else "error",
        "cold": init is not None,
        "initTime": round(float(init.group(1))) if init else None,
        # Records written before events and results were kept have neither.
        "request": doc.get("request"),
        "response": doc.get("response"),
        "logs": logs,
    }


def _azure(doc: dict[str, Any]) -> dict[str, Any]:
    """A host invocation record (`providers/azure/service.py`); logs are the function's own lines."""
    status = doc.get("httpStatus")
    return {
        "function": doc.get("functionName"),
        "id": doc.get("invocationId"),
        "status": doc.get("status", "unknown"),
        "cold": bool(doc.get("cold", False)),
        "waitTime": doc.get("waitTime"),
        "initTime": doc.get("initTime"),
        "request": doc.get("request"),
        # Records written before responses were kept have the HTTP status only.
        "response": doc.get("response") if "response" in doc else ({"status": status} if status else None),
        "logs": list(doc.get("logs") or []),
    }


def _gcp(doc: dict[str, Any]) -> dict[str, Any]:
    """A forwarded request of a Cloud Function or Cloud Run service (`providers/gcp/app.py`)."""
    response = doc.get("response") or {"status": doc.get("status")}
    if doc.get("error") and "error" not in response:
        response = {**response, "error": doc["error"]}
    return {
        # Both are stored under gcp; a service's record says it is Cloud Run's.
        "provider": doc.get("provider") or "gcp",
        "function": doc.get("name"),
        "id": doc.get("id"),
        "status": doc.get("outcome", "unknown"),
        "cold": bool(doc.get("cold", False)),
        "waitTime": doc.get("waitTime"),
        "request": doc.get("request"),
        "response": response,
        "logs": list(doc.get("logs") or []),
    }


def _generic(doc: dict[str, Any]) -> dict[str, Any]:
    """Clouds without a reader of their own: the keys their records most likely share."""
    logs = doc.get("logs", doc.get("log", []))
    return {
        "function": doc.get("function") or doc.get("functionName") or doc.get("name"),
        "id": doc.get("id") or doc.get("invocationId") or doc.get("requestId") or doc.get("activationId"),
        "status": doc.get("status", "unknown"),
        "cold": bool(doc.get("cold", False)),
        "waitTime": doc.get("waitTime"),
        "initTime": doc.get("initTime"),
        "request": doc.get("request"),
        "response": doc.get("response"),
        "logs": logs.splitlines() if isinstance(logs, str) else list(logs),
    }


READERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "openwhisk": _openwhisk,
    "lambda": _lambda,
    "azure": _azure,
    "gcp": _gcp,
}


def normalise(provider: str, doc: dict[str, Any]) -> dict[str, Any]:
    """A stored activation record of `provider` with the keys of `Invocation.as_dict()`."""
    start = doc.get("start")
    end = doc.get("end")
    duration = doc.get("duration")
    if duration is None and isinstance(start, int) and isinstance(end, int):
        duration = end - start
    base: dict[str, Any] = {
        "provider": provider,
        "start": start,
        "duration": duration,
        "waitTime": None,
        "initTime": None,
        "request": None,
        "response": None,
    }
    return {**base, **READERS.get(provider, _generic)(doc)}


def output_lines(logs: list[str]) -> list[tuple[str, str]]:
    """The function's own output, as (stream, text), without timestamps or platform lines."""
    lines = []
    for line in logs:
        if line.startswith(_PLATFORM):
            continue
        stamped = _STAMPED.match(line)
        node = None if stamped else _LAMBDA_NODE.match(line)
        if stamped:
            lines.append((stamped.group(1), stamped.group(2)))
        elif node:
            lines.append(
                ("stderr" if node.group(1) in ("WARN", "ERROR", "FATAL") else "stdout", node.group(2))
            )
        else:
            lines.append(("stdout", line))
    return lines


def matches(query: str | None, item: dict[str, Any]) -> bool:
    """Whether `query` names the invocation or function `item` (whose name is in `function` or `name`).

    Accepted: the full name (`/guest/demo/hello`), the name without its leading slash or
    namespace (`demo/hello`, `hello`), and `PROVIDER/NAME` (`openwhisk/demo/hello`).
    """
    if not query:
        return True
    name = str(item.get("function") or item.get("name") or "")
    provider = str(item.get("provider") or "")
    bare = name.lstrip("/")
    return query in (name, bare, f"{provider}/{bare}") or bare.endswith("/" + query.lstrip("/"))
