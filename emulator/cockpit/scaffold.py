"""`emu init`: a new function in its cloud's own project layout, from `emulator/templates/`.

A template is a folder of files in which `{{name}}`, `{{runtime}}`, `{{resource}}` and `{{entry}}`
are replaced, and a path part `__name__` becomes the function's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class Cloud:
    runtimes: dict[str, str]  # runtime -> template family
    default: dict[str, str]  # family -> default runtime
    manifest: str  # the file `emu up` discovers the project by


def _runtimes(python: list[str], nodejs: list[str]) -> dict[str, str]:
    return {**dict.fromkeys(python, "python"), **dict.fromkeys(nodejs, "nodejs")}


CLOUDS: dict[str, Cloud] = {
    "openwhisk": Cloud(
        _runtimes([f"python:3.{m}" for m in (9, 10, 11, 12)], [f"nodejs:{m}" for m in (18, 20, 22)]),
        {"python": "python:3.11", "nodejs": "nodejs:20"},
        "manifest.yaml",
    ),
    "lambda": Cloud(
        _runtimes([f"python3.{m}" for m in range(9, 15)], [f"nodejs{m}.x" for m in (18, 20, 22, 24)]),
        {"python": "python3.12", "nodejs": "nodejs20.x"},
        "template.yaml",
    ),
    "azure": Cloud(_runtimes(["python"], ["node"]), {"python": "python", "nodejs": "node"}, "host.json"),
    "gcp": Cloud(
        _runtimes([f"python3{m}" for m in range(9, 14)], [f"nodejs{m}" for m in (18, 20, 22)]),
        {"python": "python312", "nodejs": "nodejs20"},
        "emu.yaml",
    ),
}
ALIASES = {"aws": "lambda", "ow": "openwhisk", "google": "gcp", "cloudfunctions": "gcp"}
FAMILIES = {"python": "python", "py": "python", "node": "nodejs", "nodejs": "nodejs", "js": "nodejs"}


class ScaffoldError(Exception):
    """A request `emu init` cannot fulfil, explained."""


def resolve(provider: str, runtime: str) -> tuple[str, str, str]:
    """(cloud, runtime as that cloud spells it, template family) for what the user typed."""
    cloud_name = ALIASES.get(provider.lower(), provider.lower())
    cloud = CLOUDS.get(cloud_name)
    if cloud is None:
        raise ScaffoldError(f"unknown cloud {provider}: choose one of {', '.join(CLOUDS)}")
    if runtime in cloud.runtimes:
        return cloud_name, runtime, cloud.runtimes[runtime]
    family = FAMILIES.get(runtime.lower())
    if family is None:
        raise ScaffoldError(
            f"{cloud_name} has no runtime {runtime}: choose python, node or one of {', '.join(cloud.runtimes)}"
        )
    return cloud_name, cloud.default[family], family


def create(provider: str, name: str, runtime: str, parent: Path) -> list[Path]:
    """Write the project `parent/name`; returns the files written."""
    if not NAME.match(name):
        raise ScaffoldError(f"{name!r} is not a function name: a letter, then letters, digits, - or _")
    cloud, runtime, family = resolve(provider, runtime)
    target = parent / name
    if target.exists():
        raise ScaffoldError(f"{target} already exists")
    values = {
        "name": name,
        "runtime": runtime,
        # A CloudFormation logical id is alphanumeric; an entry point a valid identifier.
        "resource": "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name)) + "Function",
        "entry": re.sub(r"\W", "_", name),
    }
    source = TEMPLATES / cloud / family
    written = []
    for template in sorted(path for path in source.rglob("*") if path.is_file()):
        relative = Path(*(part.replace("__name__", name) for part in template.relative_to(source).parts))
        text = template.read_text()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text)
        written.append(destination)
    return written
