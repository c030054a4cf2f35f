"""How the `emu` commands find a running `emu up` and talk to its admin port.

Plain `urllib`: the commands make a handful of local calls and need no client library.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_ADMIN_URL = "http://127.0.0.1:3100"


class AdminError(Exception):
    """The gateway could not be reached, or answered with an error."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _running(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def discover(admin_url: str | None, state_dir: Path | None) -> str:
    """The admin URL: given, else from `STATE/gateway.json` (`./.emu` by default), else port 3100."""
    if admin_url:
        return admin_url.rstrip("/")
    candidates = [state_dir] if state_dir else [Path.cwd() / ".emu"]
    for folder in candidates:
        try:
            info = json.loads((folder / "gateway.json").read_text())
        except (OSError, ValueError):
            if state_dir:
                raise AdminError(f"no emu is running with the state dir {state_dir}") from None
            continue
        if isinstance(info, dict) and _running(info.get("pid")) and "admin" in info.get("urls", {}):
            return str(info["urls"]["admin"]).rstrip("/")
        if state_dir:
            raise AdminError(f"the emu that used {state_dir} has stopped")
    return DEFAULT_ADMIN_URL


class AdminClient:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _open(self, path: str, body: Any = None, timeout: float | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"} if body is not None else {},
        )
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read()).get("error") or error.reason
            except (ValueError, AttributeError):
                message = error.reason
            raise AdminError(str(message), error.code) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise AdminError(f"no emu answers at {self.base_url} ({reason}): is `emu up` running?") from None

    def _json(self, path: str, body: Any = None, timeout: float | None = None) -> Any:
        with self._open(path, body, timeout) as reply:
            return json.loads(reply.read())

    def functions(self) -> list[dict[str, Any]]:
        return self._json("/_emu/functions")

    def invocations(self, name: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"limit": limit, **({"name": name} if name else {})})
        return self._json(f"/_emu/invocations?{query}")

    def invoke(self, name: str, payload: Any, timeout: float = 330.0) -> dict[str, Any]:
        return self._json("/_emu/invoke", {"name": name, "payload": payload}, timeout)

    def events(self, name: str | None = None) -> Iterator[dict[str, Any]]:
        """Invocations as they finish, until the gateway stops. Connects before it returns."""
        query = "?" + urllib.parse.urlencode({"name": name}) if name else ""
        # The stream is quiet between invocations, but a heartbeat comes every 15 s.
        return _read_events(self._open(f"/_emu/events{query}", timeout=60.0))


def _read_events(stream: Any) -> Iterator[dict[str, Any]]:
    with stream:
        for raw in stream:
            line = raw.decode(errors="replace").rstrip("\r\n")
            if line.startswith("data:"):
                yield json.loads(line[5:].strip())
