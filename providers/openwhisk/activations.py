"""Activation records: the outcome of a run turned into OpenWhisk's JSON, and the views of it."""

from __future__ import annotations

import json
import re
from typing import Any

from emulator.ids import random_hex
from emulator.model import Outcome

SUCCESS, APPLICATION_ERROR, DEVELOPER_ERROR, INTERNAL_ERROR = 0, 1, 2, 3
STATUS_TEXT = {
    SUCCESS: "success",
    APPLICATION_ERROR: "application error",
    DEVELOPER_ERROR: "action developer error",
    INTERNAL_ERROR: "whisk internal error",
}
HTTP_STATUS = {SUCCESS: 200, APPLICATION_ERROR: 502, DEVELOPER_ERROR: 502, INTERNAL_ERROR: 500}
MAX_RESULT_BYTES = 1024 * 1024
ACTIVATION_ID = re.compile(r"\A[0-9a-f]{32}\Z")


def new_activation_id() -> str:
    return random_hex(32)


def result_of(outcome: Outcome) -> tuple[int, Any]:
    """(statusCode, result) the way OpenWhisk's ActivationResponse reads the proxy's answer."""
    if outcome.phase == "start":
        return INTERNAL_ERROR, {"error": outcome.error}
    if outcome.out_of_memory:
        return DEVELOPER_ERROR, {"error": "The action exhausted its memory and was aborted."}
    if outcome.error is not None:
        return DEVELOPER_ERROR, {"error": outcome.error}
    body = outcome.body
    if outcome.status != 200:
        if isinstance(body, dict) and "error" in body:
            return DEVELOPER_ERROR, {"error": body["error"]}
        text = json.dumps(body) if body is not None else ""
        reason = "The action did not produce a valid JSON or JSON Array response"
        if outcome.phase == "init":
            return DEVELOPER_ERROR, {"error": f"The action failed during initialization: {text}"}
        return DEVELOPER_ERROR, {"error": f"{reason}: {text}"}
    if isinstance(body, list):
        return SUCCESS, body
    if not isinstance(body, dict):
        return DEVELOPER_ERROR, {
            "error": f"The action did not produce a valid JSON or JSON Array response: {json.dumps(body)}"
        }
    size = len(json.dumps(body))
    if size > MAX_RESULT_BYTES:
        truncated = json.dumps(body)[:1024]
        return APPLICATION_ERROR, {
            "error": "The action produced a response that exceeded the allowed length: "
            f"{size} > {MAX_RESULT_BYTES} bytes. The truncated response was: {truncated}"
        }
    return (APPLICATION_ERROR if "error" in body else SUCCESS), body


def build_record(
    *,
    activation_id: str,
    namespace: str,
    name: str,
    path: str,
    action: dict[str, Any],
    outcome: Outcome,
    cause: str | None = None,
) -> dict[str, Any]:
    """The stored activation, in the extended JSON the API returns."""
    status_code, result = result_of(outcome)
    annotations: list[dict[str, Any]] = [
        {"key": "path", "value": path},
        {"key": "kind", "value": action["exec"]["kind"]},
        {"key": "limits", "value": action["limits"]},
        {"key": "timeout", "value": outcome.timed_out},
        {"key": "waitTime", "value": outcome.wait_ms},
    ]
    if outcome.cold and outcome.init_ms is not None:
        annotations.append({"key": "initTime", "value": outcome.init_ms})
    return new_record(
        namespace=namespace,
        name=name,
        activation_id=activation_id,
        start=outcome.start_ms,
        end=outcome.end_ms,
        response=response_of(status_code, result),
        logs=[line.openwhisk() for line in outcome.logs],
        annotations=annotations,
        version=action["version"],
        cause=cause,
    )


def new_record(
    *,
    namespace: str,
    name: str,
    activation_id: str,
    start: int,
    end: int,
    response: dict[str, Any],
    logs: list[str],
    annotations: list[dict[str, Any]],
    version: str,
    cause: str | None,
) -> dict[str, Any]:
    """An activation record of any kind; a component of a sequence carries its `cause`."""
    if cause is not None:
        annotations = [*annotations, {"key": "causedBy", "value": "sequence"}]
    record: dict[str, Any] = {
        "namespace": namespace,
        "name": name,
        "subject": namespace,
        "activationId": activation_id,
        "start": start,
        "end": end,
        "duration": end - start,
        "statusCode": response["statusCode"],
        "response": response,
        "logs": logs,
        "annotations": annotations,
        "version": version,
        "publish": False,
    }
    if cause is not None:
        record["cause"] = cause
    return record


def response_of(status_code: int, result: Any) -> dict[str, Any]:
    return {
        "status": STATUS_TEXT[status_code],
        "statusCode": status_code,
        "success": status_code == SUCCESS,
        "result": result,
        "size": len(json.dumps(result)),
    }


def is_sequence(record: dict[str, Any]) -> bool:
    return any(a["key"] == "kind" and a["value"] == "sequence" for a in record["annotations"])


def extended(record: dict[str, Any], *, logs: bool = True) -> dict[str, Any]:
    """The record as the API shows it: `statusCode` lives only in the stored document."""
    view = {key: value for key, value in record.items() if key != "statusCode"}
    view["response"] = {key: value for key, value in record["response"].items() if key != "statusCode"}
    if not logs:
        view["logs"] = []
    return view


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """A list item without `docs`: no response and no logs, `statusCode` at the top level."""
    item = {
        key: record[key]
        for key in ("namespace", "name", "version", "publish", "annotations", "activationId", "start", "end")
    }
    item["duration"] = record.get("duration", 0)
    if "cause" in record:
        item["cause"] = record["cause"]
    item["statusCode"] = record["statusCode"]
    return item
