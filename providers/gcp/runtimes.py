"""How a Cloud Function runs: its code under the real Functions Framework, as its own HTTP server.

The instance is what Cloud Functions (2nd gen) runs in its container: `functions-framework
--target ENTRY --signature-type TYPE` for Python (gunicorn + Flask), the framework's `main.js` for
Node.js (Express). Serving through the framework's own server, rather than calling the function
from emu's runtime proxy, keeps everything it does: return-value conversion, the 500 with
`X-Google-Status: crash`, CloudEvent parsing in both modes, ignored routes, Node's exit after an
uncaught exception. The framework comes from the function's dependencies (requirements.txt or
package.json, installed by emu's dependency cache), as it does in the cloud's build.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from emulator.backends.base import ServerSpec
from providers.gcp.manifest import CloudFunction

NODE_FRAMEWORK = Path("@google-cloud") / "functions-framework" / "build" / "src" / "main.js"


class FrameworkMissing(Exception):
    """The function's dependencies do not provide the Functions Framework."""


def function_server(function: CloudFunction, revision: str, dependencies: list[Path]) -> ServerSpec:
    """The server that serves `function`: the framework's command and the platform's environment."""
    env = {
        **function.environment,
        "K_SERVICE": function.name,
        "K_REVISION": revision,
        "FUNCTION_TARGET": function.entry_point,
        "FUNCTION_SIGNATURE_TYPE": function.signature_type,
    }
    paths = [str(path) for path in dependencies]
    if function.family == "python":
        command = python_command(function, dependencies)
        env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    else:
        command = node_command(function, dependencies)
        env["NODE_PATH"] = os.pathsep.join([*paths, env.get("NODE_PATH", "")]).rstrip(os.pathsep)
    return ServerSpec(
        key=f"function '{function.name}'",
        command=command,
        workdir=function.source,
        env=env,
        ready_timeout_s=min(function.timeout_s, 60.0) + 30.0,
    )


def python_command(function: CloudFunction, dependencies: list[Path]) -> list[str]:
    source = function.source / "main.py"
    if not source.is_file():
        raise FrameworkMissing(f"{source} does not exist: a Python function's code is in main.py")
    found = any((folder / "functions_framework").is_dir() for folder in dependencies)
    if not found and importlib.util.find_spec("functions_framework") is None:
        raise FrameworkMissing(
            f"the Functions Framework is not installed for function '{function.name}': "
            f"add functions-framework to {function.source / 'requirements.txt'}"
        )
    # The framework's CLI (`functions-framework`), on the Python that runs emu; the function's own
    # packages come first on PYTHONPATH. It listens on $PORT; loopback only, as a local tool should.
    return [
        sys.executable,
        "-m",
        "functions_framework",
        "--target",
        function.entry_point,
        "--source",
        str(source),
        "--signature-type",
        function.signature_type,
        "--host",
        "127.0.0.1",
    ]


def node_command(function: CloudFunction, dependencies: list[Path]) -> list[str]:
    node = shutil.which("node")
    if node is None:
        raise FrameworkMissing(f"function '{function.name}' needs `node` on PATH; it was not found")
    folders = [function.source / "node_modules", *dependencies]
    for folder in folders:
        main = folder / NODE_FRAMEWORK
        if main.is_file():
            return [
                node,
                str(main),
                f"--target={function.entry_point}",
                f"--signature-type={function.signature_type}",
            ]
    raise FrameworkMissing(
        f"the Functions Framework is not installed for function '{function.name}': "
        f"add @google-cloud/functions-framework to the dependencies in {function.source / 'package.json'}"
    )
