"""OpenWhisk's error body `{"error": text, "code": transaction id}` and its standard texts."""

from __future__ import annotations

from starlette.responses import JSONResponse

from emulator.ids import random_hex

NOT_FOUND = "The requested resource does not exist."
ALREADY_EXISTS = "resource already exists"
WRONG_COLLECTION = "Resource by this name exists but is not in this collection."
NOT_AUTHORIZED = "The supplied authentication is not authorized to access this resource."
AUTH_INVALID = "The supplied authentication is invalid"
AUTH_MISSING = "The resource requires authentication, which was not supplied with the request"
RESERVED_PARAMS = "Request defines parameters that are not allowed (e.g., reserved properties)."
BAD_ACTIVATION_ID = "The activation id is not valid."
METHOD_NOT_ALLOWED = "HTTP method not allowed, supported methods: {}"
RESPONSE_NOT_READY = "Response not yet ready."
WEB_ERROR = "There was an error processing your request."
WEB_BAD_HTTP = "Response is not valid 'message/http'."


def transaction_id() -> str:
    """A 32-character alphanumeric transaction id: the `code` of errors and the X-Request-ID header."""
    return random_hex(32)


class OpenWhiskError(Exception):
    """Raised anywhere in the front; answered with the OpenWhisk error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(
    status: int, message: str, tid: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message, "code": tid}, status_code=status, headers=headers)
