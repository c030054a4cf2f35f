"""Worker indexing: the functions a Python v2 `function_app.py` or a Node.js v4 app declares in code.

The indexers (`emulator/runtime/python/azure_index.py`, `emulator/runtime/node/azure_index.js`)
run in their own process, with the app's dependency folders on their module path, and print each
function's bindings. Results are kept per app revision, so a reload that changed nothing in an
app does not index it again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from providers.azure.functionapp import AppError, AzureFunction, FunctionApp, add_function, check_function

RUNTIME = Path(__file__).resolve().parents[2] / "emulator" / "runtime"
PYTHON_INDEXER = RUNTIME / "python" / "azure_index.py"
NODE_INDEXER = RUNTIME / "node" / "azure_index.js"
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
            source = "function_app.py" if app.model == "v2" else "package.json"
            app.problems.append(f"{app.root / source}: {found}")
            return
        for item in found:
            try:
                add_function(app, indexed_function(app, item))
            except AppError as error:
                app.problems.append(str(error))


def run_indexer(app: FunctionApp, dependencies: list[Path]) -> list[dict[str, Any]] | str:
    paths = os.pathsep.join(str(path) for path in dependencies)
    env = {**os.environ, **app.settings}
    if app.model == "v4":
        command = ["node", str(NODE_INDEXER), str(app.root)]
        env["NODE_PATH"] = paths
    else:
        command = [sys.executable, str(PYTHON_INDEXER), str(app.root)]
        env.update(PYTHONPATH=paths, PYTHONDONTWRITEBYTECODE="1")
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=INDEX_TIMEOUT_S,
            env=env,
            cwd=app.root,
        )
    except subprocess.TimeoutExpired:
        return f"indexing took longer than {INDEX_TIMEOUT_S:.0f} s"
    except OSError as error:
        return f"could not run the indexer: {error}"
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
    check_function(function, app.root / ("function_app.py" if app.model == "v2" else "package.json"))
    return function


def normalise(binding: dict[str, Any]) -> dict[str, Any]:
    """The library writes enums as upper-case names (`IN`, `ANONYMOUS`); function.json uses lower case."""
    result = dict(binding)
    for key in ("direction", "authLevel"):
        if isinstance(result.get(key), str):
            result[key] = result[key].lower()
    return result
