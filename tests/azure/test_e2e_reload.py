"""Saving a file of a function app reloads it, as the host restarts its worker on a change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.azure.conftest import http_function, settings, wait_for, write_app


def test_saved_changes_are_served(tmp_path: Path, emu_factory: Any) -> None:
    app = write_app(
        tmp_path / "project" / "app",
        {
            "host.json": {"version": "2.0"},
            "local.settings.json": settings("python"),
            "Hi/function.json": http_function(),
            "Hi/__init__.py": "def main(req):\n    return 'one'\n",
        },
    )
    emu = emu_factory(tmp_path / "project")
    base = emu.urls["azure"]
    assert httpx.get(f"{base}/api/Hi").text == "one"

    (app / "Hi" / "__init__.py").write_text("def main(req):\n    return 'two'\n")
    wait_for(lambda: httpx.get(f"{base}/api/Hi").text == "two", what="the new code")

    write_app(
        app,
        {
            "New/function.json": http_function(route="new/{n:int}"),
            "New/__init__.py": "def main(req):\n    return req.route_params['n']\n",
        },
    )
    wait_for(lambda: httpx.get(f"{base}/api/new/3").text == "3", what="the added function")

    (app / "Hi" / "function.json").unlink()
    wait_for(lambda: httpx.get(f"{base}/api/Hi").status_code == 404, what="the removed function")
    assert "Reloaded:" in emu.console()
