"""Basic auth with OpenWhisk's well-known development keys; each key owns one namespace."""

from __future__ import annotations

import base64
import binascii
import hmac

GUEST_KEY = (
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)
SYSTEM_KEY = (
    "789c46b1-71f6-4ed5-8c54-816aa4f8c502:abczO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)
KEYS = {GUEST_KEY: "guest", SYSTEM_KEY: "whisk.system"}
CHALLENGE = {"WWW-Authenticate": 'Basic realm="OpenWhisk secure realm"'}


class AuthMissing(Exception):
    pass


class AuthInvalid(Exception):
    pass


def namespace_for(authorization: str | None) -> str:
    """The namespace the `Authorization` header's key owns; raises when it owns none."""
    if not authorization:
        raise AuthMissing
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise AuthMissing
    try:
        key = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise AuthInvalid from None
    for known, namespace in KEYS.items():
        if hmac.compare_digest(key.encode(), known.encode()):
            return namespace
    raise AuthInvalid


def key_for(namespace: str) -> str | None:
    return next((key for key, owner in KEYS.items() if owner == namespace), None)
