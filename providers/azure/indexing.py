"""Worker indexing: the functions a Python v2 `function_app.py` declares with its decorators.

The indexer (`emulator/runtime/python/azure_index.py`) runs in its own Python process, with the
app's dependency folders on its path, and prints each function's `function.json`. Results are
kept per app revision, so a reload that changed nothing in an app does not index it again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from providers.azure.functionapp import AppError, AzureFunction, FunctionApp, add_function, check_function

INDEXER = Path(__file__).resolve().parents[2] / "emulator" / "runtime" / "python" / "azure_index.py"
INDEX_TIMEOUT_S = 60.0


class Indexer:
    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, tuple[str, ...]], list[dict[str, Any]] | str] = {}

    def index(self, app: FunctionApp, dependencies: list[Path]) -> None:
        """Add the app's indexed functions; a failure becomes one of the app's problems."""
        key = (str(app.root), app.revision, tuple(map(str, dependencies)))
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k[0] != key[0]}
            self._cache[key] = run_indexer(app, dependencies)
        found = self._cache[key]
        if isinstance(found, str):
            app.problems.append(f"{app.root / 'function_app.py'}: {found}")
            return
        for item in found:
            try:
                add_function(app, indexed_function(app, item))
            except AppError as error:
                app.problems.append(str(error))


def run_indexer(app: FunctionApp, dependencies: list[Path]) -> list[dict[str, Any]] | str:
    paths = [str(path) for path in dependencies]
    env = {**os.environ, **app.settings, "PYTHONPATH": os.pathsep.join(paths), "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        completed = subprocess.run(
            [sys.executable, str(INDEXER), str(app.root)],
            capture_output=True,
            text=True,
            timeout=INDEX_TIMEOUT_S,
            env=env,
            cwd=app.root,
        )
    except subprocess.TimeoutExpired:
        return f"indexing took longer than {INDEX_TIMEOUT_S:.0f} s"
    lines = completed.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if "functions" in answer:
        return answer["functions"]
    return str(answer.get("error") or completed.stderr.strip() or "indexing failed")


def indexed_function(app: FunctionApp, item: dict[str, Any]) -> AzureFunction:
    config = item.get("function") or {}
    bindings = [normalise(binding) for binding in config.get("bindings") or []]
    function = AzureFunction(
        name=str(item.get("name")),
        bindings=bindings,
        directory=app.root,
        script_file=config.get("scriptFile"),
        disabled=False,
    )
    check_function(function, app.root / "function_app.py")
    return function


def normalise(binding: dict[str, Any]) -> dict[str, Any]:
    """The library writes enums as upper-case names (`IN`, `ANONYMOUS`); function.json uses lower case."""
    result = dict(binding)
    for key in ("direction", "authLevel"):
        if isinstance(result.get(key), str):
            result[key] = result[key].lower()
    return result
