"""Function keys, for `--azure-enable-auth` (as `func start --enableAuth`): without it, as Core Tools, none are checked.

The keys are made once and kept in the state dir in the shape of the host's file secret store
(`secrets/host.json`: `masterKey`, `functionKeys`), so they survive restarts.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from pathlib import Path
from typing import Any


def new_key() -> str:
    # The host's keys: 40 random bytes, base64url, with `==` dropped.
    return base64.urlsafe_b64encode(secrets.token_bytes(40)).decode().rstrip("=")


class Keys:
    def __init__(self, folder: Path) -> None:
        self.path = folder / "secrets" / "host.json"
        self.master, self.function_keys = self._load()

    def _load(self) -> tuple[str, list[str]]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
            master = data["masterKey"]["value"]
            return master, [item["value"] for item in data.get("functionKeys", [])]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        master, default = new_key(), new_key()
        document = {
            "masterKey": {"name": "master", "value": master, "encrypted": False},
            "functionKeys": [{"name": "default", "value": default, "encrypted": False}],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(document, indent=2))
        return master, [default]

    def allows(self, level: str, presented: str | None) -> bool:
        """Whether a key (header `x-functions-key` or `?code=`) meets a function's `authLevel`."""
        if level == "anonymous":
            return True
        if not presented:
            return False
        if _same(presented, self.master):
            return True
        if level == "admin":
            return False
        return any(_same(presented, key) for key in self.function_keys)


def _same(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())
