"""Index a Python v2 function app as the worker does: ``python azure_index.py APP_ROOT``.

Imports ``function_app.py``, finds its one ``FunctionApp`` and prints, as one JSON line, every
function's name and ``function.json`` (``get_functions()`` is called once: a second call fails).
A failure prints ``{"error": ...}`` and exits 1. Run in its own process so user code never runs
inside the gateway.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def main(root: str) -> int:
    sys.path.insert(0, root)
    os.chdir(root)
    sys.dont_write_bytecode = True  # the folder is the user's project
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    try:
        import importlib.util

        spec = importlib.util.spec_from_file_location("function_app", os.path.join(root, "function_app.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules["function_app"] = module
        spec.loader.exec_module(module)
        from azure.functions import FunctionRegister

        apps = [value for value in vars(module).values() if isinstance(value, FunctionRegister)]
        if len(apps) != 1:
            raise ValueError(f"function_app.py must define exactly one FunctionApp, found {len(apps)}")
        functions = [
            {"name": function.get_function_name(), "function": json.loads(function.get_function_json())}
            for function in apps[0].get_functions()
        ]
    except BaseException as ex:
        lines = traceback.format_exception_only(type(ex), ex)
        print(json.dumps({"error": "".join(lines).strip()}))
        return 1
    print(json.dumps({"functions": functions}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
