"""`emu.yaml`: the Cloud Functions and Cloud Run services of a project, which have no standard
manifest of their own. Every problem names the file and the key, so the user can fix it.

```yaml
functions:
  - name: hello_http            # the URL path: http://127.0.0.1:8080/hello_http
    runtime: python312          # python3NN or nodejsNN, as `gcloud functions deploy --runtime`
    entry_point: hello_http     # default: the name
    source: hello_http          # folder, relative to emu.yaml; default: emu.yaml's folder
    signature_type: http        # http | cloudevent | event
    environment: {GREETING: Hello}
    timeout: 60                 # seconds, or "60s"
    max_instances: 10
    concurrency: 1
services:
  - name: hello-run
    command: python3 server.py  # the process backend; or `image:`, or a `source` with a Dockerfile
    source: run
    port: 8080
    environment: {}
    concurrency: 80
    max_instances: 100
    timeout: 300
    startup_timeout: 30         # seconds it may take to listen on $PORT
```
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator.discovery import find_files

MANIFEST = "emu.yaml"
SIGNATURE_TYPES = ("http", "cloudevent", "event")
RUNTIME = re.compile(r"^(python3\d{1,2}|nodejs\d{1,2})$")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
SERVICE_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)s?$")
# Cloud Functions (2nd gen) and Cloud Run defaults and limits.
FUNCTION_TIMEOUT_S = 60.0
MAX_FUNCTION_TIMEOUT_S = 3600.0
SERVICE_TIMEOUT_S = 300.0
MAX_SERVICE_TIMEOUT_S = 3600.0
SERVICE_CONCURRENCY = 80
MAX_CONCURRENCY = 1000
DEFAULT_MAX_INSTANCES = 100
STARTUP_TIMEOUT_S = 30.0

FUNCTION_KEYS = {
    "name",
    "runtime",
    "entry_point",
    "source",
    "signature_type",
    "environment",
    "timeout",
    "max_instances",
    "concurrency",
}
SERVICE_KEYS = {
    "name",
    "image",
    "command",
    "source",
    "port",
    "environment",
    "concurrency",
    "max_instances",
    "timeout",
    "startup_timeout",
}


class ManifestError(Exception):
    """A problem in an emu.yaml, with the file and the key it is about."""


@dataclass(frozen=True)
class CloudFunction:
    name: str
    runtime: str
    entry_point: str
    source: Path
    signature_type: str
    environment: dict[str, str]
    timeout_s: float
    max_instances: int | None
    concurrency: int
    manifest: Path

    @property
    def family(self) -> str:
        return "python" if self.runtime.startswith("python") else "nodejs"


@dataclass(frozen=True)
class CloudRunService:
    name: str
    image: str | None
    command: tuple[str, ...] | None
    source: Path
    port: int
    environment: dict[str, str]
    concurrency: int
    max_instances: int
    timeout_s: float
    startup_timeout_s: float
    manifest: Path

    @property
    def dockerfile(self) -> Path | None:
        path = self.source / "Dockerfile"
        return path if path.is_file() else None


@dataclass
class Manifest:
    path: Path
    functions: list[CloudFunction] = field(default_factory=list)
    services: list[CloudRunService] = field(default_factory=list)


def find_manifests(root: Path) -> list[Path]:
    return find_files(root, [MANIFEST])


def load_manifest(path: Path) -> Manifest:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(f"{path}: cannot read it: {error}") from None
    except yaml.YAMLError as error:
        raise ManifestError(f"{path}: not valid YAML: {error}") from None
    if document is None:
        document = {}
    reader = _Reader(path)
    reader.check_mapping(document, "", {"functions", "services"})
    manifest = Manifest(path)
    seen: set[str] = set()
    for where, entry in reader.entries(document, "functions"):
        function = reader.function(entry, where)
        reader.unique(function.name, where, seen, "function")
        manifest.functions.append(function)
    seen = set()
    for where, entry in reader.entries(document, "services"):
        service = reader.service(entry, where)
        reader.unique(service.name, where, seen, "service")
        manifest.services.append(service)
    return manifest


class _Reader:
    """Typed access to one manifest's values; errors say `file: key.path: what is wrong`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder = path.parent

    def fail(self, where: str, message: str) -> ManifestError:
        return ManifestError(f"{self.path}: {where}: {message}" if where else f"{self.path}: {message}")

    def check_mapping(self, value: object, where: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {_kind(value)}")
        for key in value:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(_join(where, str(key)), f"unknown key (known keys: {known})")
        return value

    def entries(self, document: dict[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
        value = document.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {_kind(value)}")
        return [(f"{key}[{index}]", entry) for index, entry in enumerate(value)]

    def unique(self, name: str, where: str, seen: set[str], what: str) -> None:
        if name in seen:
            raise self.fail(_join(where, "name"), f"a second {what} named '{name}'")
        seen.add(name)

    def function(self, entry: object, where: str) -> CloudFunction:
        entry = self.check_mapping(entry, where, FUNCTION_KEYS)
        name = self.required_str(entry, where, "name")
        if not NAME.match(name):
            raise self.fail(
                _join(where, "name"),
                f"'{name}' is not a valid function name (letters, digits, - and _, starting with a letter, at most 63)",
            )
        runtime = self.required_str(entry, where, "runtime")
        if not RUNTIME.match(runtime):
            raise self.fail(
                _join(where, "runtime"),
                f"'{runtime}' is not a runtime emu runs (python3NN such as python312, or nodejsNN such as nodejs20)",
            )
        signature = self.optional_str(entry, where, "signature_type") or "http"
        if signature not in SIGNATURE_TYPES:
            raise self.fail(
                _join(where, "signature_type"), f"'{signature}' is not one of {', '.join(SIGNATURE_TYPES)}"
            )
        max_instances = self.integer(entry, where, "max_instances", None, 1, 1000)
        return CloudFunction(
            name=name,
            runtime=runtime,
            entry_point=self.optional_str(entry, where, "entry_point") or name,
            source=self.folder_of(entry, where),
            signature_type=signature,
            environment=self.environment(entry, where),
            timeout_s=self.seconds(entry, where, "timeout", FUNCTION_TIMEOUT_S, MAX_FUNCTION_TIMEOUT_S),
            max_instances=max_instances,
            concurrency=self.integer(entry, where, "concurrency", 1, 1, MAX_CONCURRENCY) or 1,
            manifest=self.path,
        )

    def service(self, entry: object, where: str) -> CloudRunService:
        entry = self.check_mapping(entry, where, SERVICE_KEYS)
        name = self.required_str(entry, where, "name")
        if not SERVICE_NAME.match(name):
            raise self.fail(
                _join(where, "name"),
                f"'{name}' is not a valid service name (lower-case letters, digits and -, starting with a letter, at most 49)",
            )
        source = self.folder_of(entry, where)
        image = self.optional_str(entry, where, "image")
        command = self.command(entry, where)
        if image is None and command is None and not (source / "Dockerfile").is_file():
            raise self.fail(
                where,
                f"service '{name}' needs an `image`, a `command`, or a `source` folder with a Dockerfile",
            )
        return CloudRunService(
            name=name,
            image=image,
            command=command,
            source=source,
            port=self.integer(entry, where, "port", 8080, 1, 65535) or 8080,
            environment=self.environment(entry, where),
            concurrency=self.integer(entry, where, "concurrency", SERVICE_CONCURRENCY, 1, MAX_CONCURRENCY)
            or 1,
            max_instances=self.integer(entry, where, "max_instances", DEFAULT_MAX_INSTANCES, 1, 1000) or 1,
            timeout_s=self.seconds(entry, where, "timeout", SERVICE_TIMEOUT_S, MAX_SERVICE_TIMEOUT_S),
            startup_timeout_s=self.seconds(entry, where, "startup_timeout", STARTUP_TIMEOUT_S, 3600.0),
            manifest=self.path,
        )

    def required_str(self, entry: dict[str, Any], where: str, key: str) -> str:
        if key not in entry:
            raise self.fail(where, f"missing required key '{key}'")
        value = self.optional_str(entry, where, key)
        if not value:
            raise self.fail(_join(where, key), "must not be empty")
        return value

    def optional_str(self, entry: dict[str, Any], where: str, key: str) -> str | None:
        value = entry.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(_join(where, key), f"expected a string, got {_kind(value)}")
        return value

    def integer(
        self, entry: dict[str, Any], where: str, key: str, default: int | None, low: int, high: int
    ) -> int | None:
        value = entry.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(_join(where, key), f"expected an integer, got {_kind(value)}")
        if not low <= value <= high:
            raise self.fail(_join(where, key), f"{value} is out of range ({low} to {high})")
        return value

    def seconds(self, entry: dict[str, Any], where: str, key: str, default: float, high: float) -> float:
        value = entry.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(_join(where, key), f'expected seconds (60 or "60s"), got {_kind(value)}')
        match = DURATION.match(str(value).strip())
        if match is None:
            raise self.fail(_join(where, key), f'expected seconds (60 or "60s"), got {value!r}')
        seconds = float(match.group(1))
        if not 0 < seconds <= high:
            raise self.fail(
                _join(where, key), f"{seconds:g} s is out of range (more than 0, at most {high:g})"
            )
        return seconds

    def environment(self, entry: dict[str, Any], where: str) -> dict[str, str]:
        value = entry.get("environment")
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(
                _join(where, "environment"), f"expected a mapping of names to values, got {_kind(value)}"
            )
        env: dict[str, str] = {}
        for name, item in value.items():
            if isinstance(item, dict | list) or item is None:
                raise self.fail(
                    _join(where, f"environment.{name}"),
                    f"expected a string, number or boolean, got {_kind(item)}",
                )
            env[str(name)] = str(item).lower() if isinstance(item, bool) else str(item)
        return env

    def folder_of(self, entry: dict[str, Any], where: str) -> Path:
        source = self.optional_str(entry, where, "source")
        folder = (self.folder / source).resolve() if source else self.folder.resolve()
        if not folder.is_dir():
            raise self.fail(_join(where, "source"), f"the folder {folder} does not exist")
        return folder

    def command(self, entry: dict[str, Any], where: str) -> tuple[str, ...] | None:
        value = entry.get("command")
        if value is None:
            return None
        if isinstance(value, str):
            parts = shlex.split(value)
        elif isinstance(value, list) and all(isinstance(part, str) for part in value):
            parts = list(value)
        else:
            raise self.fail(
                _join(where, "command"), f"expected a string or a list of strings, got {_kind(value)}"
            )
        if not parts:
            raise self.fail(_join(where, "command"), "must not be empty")
        return tuple(parts)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)
