"""Turn a wskdeploy `manifest.yaml` project into the OpenWhisk REST PUT bodies emu stores.

The format is the one of apache/openwhisk-wskdeploy: `packages:` (or the older `package:` with a
`name`, or `project: {packages: ...}`), each with `inputs`, `annotations`, `actions` and
`sequences`. The package named `default` holds actions at the namespace root. Triggers, rules,
feeds, apis and dependencies are accepted and ignored, since emu does not implement them yet.
"""

from __future__ import annotations

import base64
import difflib
import io
import json
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from emulator.discovery import find_files

MANIFEST_NAMES = ("manifest.yaml", "manifest.yml")
DEFAULT_PACKAGE = "default"

TOP_KEYS = {"packages", "package", "project"}
PROJECT_KEYS = {
    "name", "namespace", "credential", "apiHost", "apigwAccessToken", "version", "packages",
    "inputs", "parameters", "config", "description",
}  # fmt: skip
PACKAGE_KEYS = {
    "name", "version", "license", "public", "inputs", "annotations", "actions", "sequences",
    "description", "displayName",
    # Documented but not implemented (not stored by OpenWhisk, or entities emu lacks):
    "repositories", "dependencies", "namespace", "credential", "apiHost", "apigwAccessToken",
    "triggers", "feeds", "rules", "apis", "compositions",
}  # fmt: skip
ACTION_KEYS = {
    "function", "location", "code", "runtime", "kind", "main", "inputs", "annotations", "limits",
    "web", "web-export", "raw-http", "final", "docker", "native", "conductor", "version",
    "description", "displayName",
    # Documented but not implemented: deployment-time settings and zip filters emu ignores.
    "outputs", "feed", "namespace", "credential", "exposedUrl", "include", "exclude",
}  # fmt: skip
SEQUENCE_KEYS = {"actions", "web", "web-export", "annotations", "description", "displayName"}
# The keys of wskdeploy's multi-line parameter form; a mapping with any other key is a JSON value.
PARAMETER_FIELDS = {"type", "description", "value", "required", "default", "status", "schema", "properties"}
# Parameter types and the value a parameter of that type gets when none is given.
TYPE_DEFAULTS: dict[str, Callable[[], Any]] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "json": dict,
}
LIMIT_NAMES = {
    "timeout": "timeout",
    "memorySize": "memory",
    "logSize": "logs",
    "concurrentActivations": "concurrency",
}
KIND_BY_SUFFIX = {
    ".py": "python:default",
    ".js": "nodejs:default",
    ".jar": "java:default",
    ".swift": "swift:default",
    ".php": "php:default",
    ".rb": "ruby:default",
    ".go": "go:default",
}
BINARY_SUFFIXES = {".zip", ".jar"}
ZIP_SKIP = {"__pycache__", ".git"}
# A fixed timestamp makes zipping an unchanged folder give the same code, so reloads see no change.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
NATIVE_IMAGE = "openwhisk/dockerskeleton"
# What `wsk --web` sets for each value of the manifest's `web` / `web-export`.
WEB_MODES = {
    "true": {"web-export": True, "final": True, "raw-http": False},
    "yes": {"web-export": True, "final": True, "raw-http": False},
    "raw": {"web-export": True, "final": True, "raw-http": True},
    "false": {"web-export": False, "final": False, "raw-http": False},
    "no": {"web-export": False, "final": False, "raw-http": False},
}
KeyValues = list[dict[str, Any]]  # OpenWhisk's [{"key": ..., "value": ...}] lists
# ASCII, as OpenWhisk's (Java's) `\w` is: `é` is not a valid name there.
ENTITY_NAME = re.compile(r"\A([\w]|[\w][\w@ .&-]{0,254}[\w@.&-])\Z", re.ASCII)
ENV_REFERENCE = re.compile(r"\$\$\{(\w+)\}|\$\{(\w+)\}|\$([A-Za-z_]\w*)")


class _ManifestYAML(yaml.SafeLoader):
    """Keeps timestamps as text, as wskdeploy's YAML reader does, so every value stays JSON."""

    yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


@dataclass(frozen=True)
class ManifestEntity:
    collection: str  # "packages" or "actions"
    path: str  # "pkg", "pkg/action" or "action", without namespace
    body: dict[str, Any]  # the JSON body of PUT /api/v1/namespaces/_/{collection}/{path}
    source: str  # the action's code file, or the manifest for packages and sequences


class ManifestError(Exception):
    """A manifest that cannot be loaded; the message names the file and the offending key."""


def find_manifests(root: Path) -> list[Path]:
    return find_files(root, MANIFEST_NAMES)


def load_manifest(path: Path) -> list[ManifestEntity]:
    """Packages first, then actions, then sequences, so every component exists before its sequence."""
    return _Loader(path).load()


class _Loader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.parent

    def fail(self, where: str, message: str) -> ManifestError:
        return ManifestError(f"{self.path}: {where}: {message}" if where else f"{self.path}: {message}")

    def load(self) -> list[ManifestEntity]:
        packages: list[ManifestEntity] = []
        actions: list[ManifestEntity] = []
        sequences: list[ManifestEntity] = []
        for where, name, spec in self._packages(self._read()):
            self._check_keys(spec, PACKAGE_KEYS, where)
            # `default` is the namespace root, not an entity (creating a package named so is a 400).
            if not _is_default(name):
                packages.append(self._package(name, spec, where))
            for entry, entry_spec in self._named(spec.get("actions"), f"{where}.actions"):
                actions.append(self._action(name, entry, entry_spec, f"{where}.actions.{entry}"))
            for entry, entry_spec in self._named(spec.get("sequences"), f"{where}.sequences"):
                sequences.append(self._sequence(name, entry, entry_spec, f"{where}.sequences.{entry}"))
        self._check_unique(actions + sequences)
        return packages + actions + self._dependency_order(sequences)

    # -- document structure ---------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            document = yaml.load(self.path.read_text(encoding="utf-8"), Loader=_ManifestYAML)
        except (OSError, UnicodeDecodeError) as exc:
            raise self.fail("", f"cannot read: {exc}") from exc
        except (yaml.YAMLError, RecursionError) as exc:  # Recursion: nested too deep for the parser
            raise self.fail("", f"invalid YAML: {exc}") from exc
        if not isinstance(document, dict):
            raise self.fail("", "the top level must be a mapping with 'packages'")
        self._check_keys(document, TOP_KEYS, "")
        return document

    def _packages(self, document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        """Every package as (location in the file, name, spec), whichever form declared it."""
        found = [
            (f"packages.{name}", _interpolate(name), spec)
            for name, spec in self._named(document.get("packages"), "packages")
        ]
        project = self._mapping(document.get("project"), "project")
        self._check_keys(project, PROJECT_KEYS, "project")
        found += [
            (f"project.packages.{name}", _interpolate(name), spec)
            for name, spec in self._named(project.get("packages"), "project.packages")
        ]
        if document.get("package") is not None:
            spec = self._mapping(document["package"], "package")
            if not spec.get("name"):
                raise self.fail("package", "'name' is required")
            found.append(("package", _interpolate(str(spec["name"])), spec))
        seen: set[str] = set()
        for where, name, _ in found:
            self._check_name(name, where)
            if name in seen:
                raise self.fail(where, f"package '{name}' is declared twice")
            seen.add(name)
        return found

    def _mapping(self, value: Any, where: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def _named(self, value: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
        """The entries of a mapping of named entities, each checked to be a mapping itself."""
        return [
            (str(name), self._mapping(spec, f"{where}.{name}"))
            for name, spec in self._mapping(value, where).items()
        ]

    def _check_keys(self, spec: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in spec:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(where, f"unknown key '{key}'{hint}")

    def _check_name(self, name: str, where: str) -> None:
        if not ENTITY_NAME.match(name):
            raise self.fail(where, f"'{name}' is not a valid OpenWhisk entity name")

    def _check_unique(self, entities: list[ManifestEntity]) -> None:
        seen: set[str] = set()
        for entity in entities:
            if entity.path in seen:
                raise self.fail("", f"action '{entity.path}' is declared twice")
            seen.add(entity.path)

    # -- entities -------------------------------------------------------------------------

    def _package(self, name: str, spec: dict[str, Any], where: str) -> ManifestEntity:
        body: dict[str, Any] = {
            "parameters": self._parameters(spec.get("inputs"), f"{where}.inputs"),
            "annotations": self._annotations(spec, where),
            "publish": spec.get("public") is True,
        }
        if spec.get("version") is not None:
            body["version"] = str(spec["version"])
        return ManifestEntity("packages", name, body, str(self.path))

    def _action(self, package: str, name: str, spec: dict[str, Any], where: str) -> ManifestEntity:
        self._check_keys(spec, ACTION_KEYS, where)
        self._check_name(name, where)
        exec_, source = self._exec(spec, where)
        annotations = self._web(self._annotations(spec, where), spec, where)
        for key in ("raw-http", "final", "conductor"):
            if key in spec:
                annotations = _with_annotation(annotations, key, self._flag(spec[key], f"{where}.{key}"))
        body: dict[str, Any] = {
            "exec": exec_,
            "parameters": self._parameters(spec.get("inputs"), f"{where}.inputs"),
            "annotations": annotations,
        }
        limits = self._limits(spec.get("limits"), f"{where}.limits")
        if limits:
            body["limits"] = limits
        if spec.get("version") is not None:
            body["version"] = str(spec["version"])
        return ManifestEntity("actions", _entity_path(package, name), body, source)

    def _sequence(self, package: str, name: str, spec: dict[str, Any], where: str) -> ManifestEntity:
        self._check_keys(spec, SEQUENCE_KEYS, where)
        self._check_name(name, where)
        listed = spec.get("actions")
        if isinstance(listed, str):
            listed = listed.split(",")
        if not isinstance(listed, list) or not any(str(item).strip() for item in listed):
            raise self.fail(where, "'actions' must be a comma-separated list of action names")
        components = [_component(package, str(item).strip()) for item in listed if str(item).strip()]
        body = {
            "exec": {"kind": "sequence", "components": components},
            "parameters": [],
            "annotations": self._web(self._annotations(spec, where), spec, where),
        }
        return ManifestEntity("actions", _entity_path(package, name), body, str(self.path))

    def _dependency_order(self, sequences: list[ManifestEntity]) -> list[ManifestEntity]:
        """Sequences whose components are other sequences of this manifest come after those."""
        by_path = {sequence.path: sequence for sequence in sequences}
        ordered: list[ManifestEntity] = []
        visiting: set[str] = set()
        done: set[str] = set()

        def visit(sequence: ManifestEntity) -> None:
            if sequence.path in done:
                return
            if sequence.path in visiting:
                raise self.fail("", f"sequence '{sequence.path}' is part of a cycle of sequences")
            visiting.add(sequence.path)
            for component in sequence.body["exec"]["components"]:
                inner = by_path.get(component.removeprefix("/_/"))
                if inner is not None:
                    visit(inner)
            done.add(sequence.path)
            ordered.append(sequence)

        for sequence in sequences:
            visit(sequence)
        return ordered

    # -- action code ----------------------------------------------------------------------

    def _exec(self, spec: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
        function = spec.get("function", spec.get("location"))
        inline = spec.get("code")
        runtime = spec.get("runtime", spec.get("kind"))
        image = spec.get("docker") or (NATIVE_IMAGE if spec.get("native") else None)
        if function is not None and inline is not None:
            raise self.fail(where, "give either 'function' or 'code', not both")
        code: str | None = None
        binary = False
        inferred: str | None = None
        source = str(self.path)
        if function is not None:
            code, binary, inferred, source = self._function(str(function), where)
        elif inline is not None:
            code = str(inline)
        elif image is None:
            raise self.fail(where, "'function' is required")

        if image is not None:
            exec_: dict[str, Any] = {"kind": "blackbox", "image": str(image)}
            if code is not None:
                exec_.update(code=code, binary=binary)
        else:
            kind = _kind(runtime) if runtime is not None else inferred
            if kind is None:
                raise self.fail(where, "cannot infer the runtime; set 'runtime' (e.g. python:3.11)")
            exec_ = {"kind": kind, "code": code, "binary": binary}
        if spec.get("main") is not None:
            exec_["main"] = str(spec["main"])
        return exec_, source

    def _function(self, function: str, where: str) -> tuple[str, bool, str | None, str]:
        """(code, binary, kind inferred from the file, source path) for a `function` path."""
        target = self.base / function
        if not target.exists():
            raise self.fail(where, f"'function' file not found: {function}")
        suffix = target.suffix.lower()
        try:
            if target.is_dir():
                return _zip_folder(target), True, _folder_kind(target), str(target)
            if suffix in BINARY_SUFFIXES:
                code = base64.b64encode(target.read_bytes()).decode("ascii")
                return code, True, KIND_BY_SUFFIX.get(suffix), str(target)
            code = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise self.fail(where, f"cannot read {function}: {exc}") from exc
        return code, False, KIND_BY_SUFFIX.get(suffix), str(target)

    # -- parameters, annotations, limits --------------------------------------------------

    def _parameters(self, inputs: Any, where: str) -> KeyValues:
        return [
            {"key": str(key), "value": self._parameter_value(value, f"{where}.{key}")}
            for key, value in self._mapping(inputs, where).items()
        ]

    def _parameter_value(self, value: Any, where: str) -> Any:
        if isinstance(value, dict) and value and value.keys() <= PARAMETER_FIELDS:
            return self._declared_parameter(value, where)
        if value is None:
            return ""
        if isinstance(value, str):
            # wskdeploy's single-line form lets a type name stand for that type's empty value.
            return TYPE_DEFAULTS[value]() if value in TYPE_DEFAULTS else _interpolate(value)
        return value

    def _declared_parameter(self, declared: dict[str, Any], where: str) -> Any:
        """The multi-line form: {type, value or default, description, ...}."""
        kind = declared.get("type")
        if kind is not None and kind not in TYPE_DEFAULTS:
            raise self.fail(where, f"unknown parameter type '{kind}' (one of: {', '.join(TYPE_DEFAULTS)})")
        value = declared.get("value")
        if value is None:
            value = declared.get("default")
        if value is None:
            return TYPE_DEFAULTS[kind or "string"]()
        if kind == "json" and isinstance(value, str):
            try:
                return json.loads(value)
            except (ValueError, RecursionError) as exc:
                raise self.fail(where, f"value is not valid JSON: {exc}") from exc
        return _interpolate(value) if isinstance(value, str) else value

    def _annotations(self, spec: dict[str, Any], where: str) -> KeyValues:
        given = self._mapping(spec.get("annotations"), f"{where}.annotations")
        annotations = [
            {"key": str(key), "value": _interpolate(value) if isinstance(value, str) else value}
            for key, value in given.items()
        ]
        # OpenWhisk tools show the `description` annotation; the manifest's field fills it.
        if spec.get("description") is not None and "description" not in given:
            annotations.append({"key": "description", "value": str(spec["description"])})
        return annotations

    def _web(self, annotations: KeyValues, spec: dict[str, Any], where: str) -> KeyValues:
        mode = spec.get("web", spec.get("web-export"))
        if mode is None:
            return annotations
        word = ("true" if mode else "false") if isinstance(mode, bool) else str(mode).strip().lower()
        if word not in WEB_MODES:
            raise self.fail(where, f"'web' must be true, false, yes, no or raw, not '{mode}'")
        for key, value in WEB_MODES[word].items():
            annotations = _with_annotation(annotations, key, value)
        return annotations

    def _flag(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"expected true or false, got '{value}'")
        return value

    def _limits(self, value: Any, where: str) -> dict[str, int]:
        limits: dict[str, int] = {}
        for key, amount in self._mapping(value, where).items():
            name = LIMIT_NAMES.get(key)
            if name is None:
                continue  # the wskdeploy spec says unrecognised limit keys are ignored
            if not isinstance(amount, int) or isinstance(amount, bool):
                raise self.fail(f"{where}.{key}", f"expected an integer, got '{amount}'")
            limits[name] = amount
        return limits


def _is_default(package: str) -> bool:
    return package.lower() == DEFAULT_PACKAGE


def _entity_path(package: str, name: str) -> str:
    return name if _is_default(package) else f"{package}/{name}"


def _component(package: str, reference: str) -> str:
    """Fully qualify a sequence component; a bare name is an action of the same package."""
    if reference.startswith("/"):
        return reference
    if reference.lower().startswith(DEFAULT_PACKAGE + "/"):
        return f"/_/{reference[len(DEFAULT_PACKAGE) + 1 :]}"
    if "/" in reference or _is_default(package):
        return f"/_/{reference}"
    return f"/_/{package}/{reference}"


def _kind(runtime: Any) -> str:
    """`python:3.11` stays, `nodejs@20` (older spelling) is `nodejs:20`, `python` is `python:default`."""
    kind = str(runtime).strip().replace("@", ":", 1)
    return kind if ":" in kind else f"{kind}:default"


def _folder_kind(folder: Path) -> str | None:
    if (folder / "__main__.py").is_file():
        return "python:default"
    if (folder / "package.json").is_file() or (folder / "index.js").is_file():
        return "nodejs:default"
    return None


def _zip_folder(folder: Path) -> str:
    """The folder's contents as a base64 zip, paths relative to the folder as OpenWhisk expects."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            relative = file.relative_to(folder)
            if not file.is_file() or ZIP_SKIP.intersection(relative.parts):
                continue
            info = zipfile.ZipInfo(relative.as_posix(), date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (file.stat().st_mode & 0o777) << 16  # keeps executables executable
            archive.writestr(info, file.read_bytes())
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _with_annotation(annotations: KeyValues, key: str, value: Any) -> KeyValues:
    return [a for a in annotations if a["key"] != key] + [{"key": key, "value": value}]


def _interpolate(text: str) -> str:
    """Replace `$VAR` / `${VAR}` from the environment as wskdeploy does; `$${VAR}` is a literal `${VAR}`.

    Like wskdeploy, only text starting with `$` or containing `${` is a template, so "costs $5 a
    $UNIT" is left alone. Unset variables stay as written.
    """
    if not (text.startswith("$") or "${" in text):
        return text

    def substitute(match: re.Match[str]) -> str:
        escaped, braced, bare = match.groups()
        if escaped:
            return "${" + escaped + "}"
        return os.environ.get(braced or bare, match.group(0))

    return ENV_REFERENCE.sub(substitute, text)
