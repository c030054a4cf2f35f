"""Lambda's service errors: status, `x-amzn-ErrorType`, `x-amzn-RequestId` and the JSON body."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from emulator.ids import random_uuid

# Shapes whose message member is `Message`; every other error uses `message` (the service model).
CAPITALISED_MESSAGE = {"ResourceNotFoundException", "ServiceException", "RequestEntityTooLargeException"}


class LambdaError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def response(self, request_id: str | None = None) -> Response:
        key = "Message" if self.code in CAPITALISED_MESSAGE else "message"
        kind = "Service" if self.status >= 500 else "User"
        body: dict[str, Any] = {"Type": kind, key: self.message, **self.extra}
        if self.code == "RequestEntityTooLargeException":
            body = {key: self.message}
        headers = {"x-amzn-ErrorType": self.code, "x-amzn-RequestId": request_id or random_uuid()}
        if self.code == "TooManyRequestsException":
            headers["Retry-After"] = "1"
        return Response(
            json.dumps(body), status_code=self.status, headers=headers, media_type="application/json"
        )


def not_found(arn: str) -> LambdaError:
    return LambdaError(404, "ResourceNotFoundException", f"Function not found: {arn}")


def invalid_parameter(message: str) -> LambdaError:
    return LambdaError(400, "InvalidParameterValueException", message)


def validation(value: Any, member: str, constraint: str) -> LambdaError:
    return LambdaError(
        400,
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}",
    )
