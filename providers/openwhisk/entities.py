"""Actions and packages as the controller stores them: validation, defaults, update merging."""

from __future__ import annotations

import copy
import re
from typing import Any

from emulator.store import now_ms
from providers.openwhisk import kinds
from providers.openwhisk.errors import OpenWhiskError

# ASCII, as OpenWhisk's (Java's) `\w` is: `é` is not a valid name there.
NAME_PATTERN = re.compile(r"\A([\w]|[\w][\w@ .&-]{0,254}[\w@.&-])\Z", re.ASCII)
BASE64_PATTERN = re.compile(r"\A([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)\Z")
MALFORMED = "The request content was malformed:\n"

# (minimum, maximum, default) of each action limit, from OpenWhisk's application.conf.
LIMITS: dict[str, tuple[int, int, int]] = {
    "timeout": (100, 300_000, 60_000),
    "memory": (128, 512, 256),
    "logs": (0, 10, 10),
    "concurrency": (1, 1, 1),
}
# `instances` caps how many instances one action may run at once; absent, the gateway's default.
OPTIONAL_LIMITS: dict[str, tuple[int, int]] = {"instances": (1, 64)}
LIMIT_UNITS = {"timeout": "milliseconds", "memory": "MB", "logs": "MB", "concurrency": "", "instances": ""}
MAX_SEQUENCE_LENGTH = 50
# What a PUT creating an entity starts from.
NEW_ACTION: dict[str, Any] = {
    "parameters": [],
    "annotations": [],
    "limits": {name: default for name, (_, _, default) in LIMITS.items()},
    "version": "0.0.0",
    "publish": False,
}
NEW_PACKAGE: dict[str, Any] = {
    "parameters": [],
    "annotations": [],
    "version": "0.0.0",
    "publish": False,
    "binding": {},
}


def malformed(reason: str) -> OpenWhiskError:
    return OpenWhiskError(400, MALFORMED + reason)


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise malformed(f"{name} is not a valid name")


def split_path(path: str) -> tuple[str | None, str]:
    """`pkg/name` -> ("pkg", "name"); `name` -> (None, "name"). Each part is validated."""
    parts = path.split("/")
    if len(parts) > 2 or not all(parts):
        raise OpenWhiskError(404, "The requested resource does not exist.")
    for part in parts:
        check_name(part)
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def is_binary_code(code: str) -> bool:
    trimmed = code.strip()
    return len(trimmed) > 0 and len(trimmed) % 4 == 0 and BASE64_PATTERN.match(trimmed) is not None


def bump_version(version: str) -> str:
    major, minor, patch = ([*version.split("."), "0", "0", "0"])[:3]
    try:
        return f"{int(major)}.{int(minor)}.{int(patch) + 1}"
    except ValueError:
        return "0.0.1"


def annotation(entity: dict[str, Any], key: str, default: Any = None) -> Any:
    for item in entity.get("annotations", []):
        if item.get("key") == key:
            return item.get("value")
    return default


def _key_values(value: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get("key"), str) for item in value
    ):
        raise malformed(f"'{field}' must be a list of {{key, value}} objects")
    cleaned = []
    for item in value:
        entry = {"key": item["key"], "value": item.get("value")}
        if item.get("init") is True:
            entry["init"] = True
        cleaned.append(entry)
    return cleaned


def _merge_annotations(old: list[dict[str, Any]], new: list[dict[str, Any]], drop: list[str]) -> list:
    merged = {item["key"]: item for item in old}
    merged.update({item["key"]: item for item in new})
    return [item for key, item in merged.items() if key not in drop]


def _set_annotation(annotations: list[dict[str, Any]], key: str, value: Any, *, only_if_absent: bool) -> None:
    for item in annotations:
        if item["key"] == key:
            if not only_if_absent:
                item["value"] = value
            return
    annotations.append({"key": key, "value": value})


def _limits(requested: Any, current: dict[str, int]) -> dict[str, int]:
    if requested is None:
        return current
    if not isinstance(requested, dict):
        raise malformed("'limits' must be an object")
    limits = dict(current)
    for name, value in requested.items():
        if name in LIMITS:
            low, high, _ = LIMITS[name]
        elif name in OPTIONAL_LIMITS:
            low, high = OPTIONAL_LIMITS[name]
        else:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise malformed(f"{name} limit must be an integer")
        unit = LIMIT_UNITS[name]
        if value < low:
            raise malformed(
                f"{name} {value} {unit} below allowed threshold of {low} {unit}.".replace("  ", " ")
            )
        if value > high:
            raise malformed(
                f"{name} {value} {unit} exceeds allowed threshold of {high} {unit}.".replace("  ", " ")
            )
        limits[name] = value
    return limits


def _exec(requested: Any, *, blackbox: bool = False) -> dict[str, Any]:
    if not isinstance(requested, dict):
        raise malformed("'exec' must be an object")
    kind = requested.get("kind")
    if not isinstance(kind, str):
        raise malformed("'kind' must be a string")
    kind = kinds.resolve(kind)
    if kind == "sequence":
        components = requested.get("components")
        if not isinstance(components, list) or not all(isinstance(c, str) for c in components):
            raise malformed("'components' must be a list of action names")
        if not components:
            raise OpenWhiskError(400, "No component specified for the sequence.")
        if len(components) > MAX_SEQUENCE_LENGTH:
            raise OpenWhiskError(400, f"Too many actions in the sequence (limit {MAX_SEQUENCE_LENGTH}).")
        return {"kind": "sequence", "components": components, "binary": False}
    if kind == "blackbox":
        if not blackbox:
            raise OpenWhiskError(
                400, "Docker (blackbox) actions need the docker backend, which this emu does not provide yet."
            )
        return _blackbox_exec(requested)
    code = requested.get("code")
    if not isinstance(code, str):
        raise malformed("'code' must be a string")
    result: dict[str, Any] = {"kind": kind, "code": code, "binary": is_binary_code(code)}
    main = requested.get("main")
    if main is not None:
        if not isinstance(main, str):
            raise malformed("'main' must be a string")
        result["main"] = main
    return result


def _blackbox_exec(requested: dict[str, Any]) -> dict[str, Any]:
    """`{"kind": "blackbox", "image": ..., "code"?: ..., "main"?: ...}`: the image is the action container."""
    image = requested.get("image")
    if not isinstance(image, str) or not image.strip():
        raise malformed("'image' must be a string")
    result: dict[str, Any] = {"kind": "blackbox", "image": image.strip(), "binary": False}
    code = requested.get("code")
    if code is not None:
        if not isinstance(code, str):
            raise malformed("'code' must be a string")
        result.update(code=code, binary=is_binary_code(code))
    main = requested.get("main")
    if main is not None:
        if not isinstance(main, str):
            raise malformed("'main' must be a string")
        result["main"] = main
    return result


def build_action(
    namespace: str,
    name: str,
    body: dict[str, Any],
    existing: dict[str, Any] | None,
    *,
    blackbox: bool = False,
) -> dict[str, Any]:
    """The stored action after a PUT of `body`, over `existing` when it is an update."""
    if existing is None and "exec" not in body:
        raise malformed("exec undefined")
    # A copy: `existing` is the store's cached document, which a refused PUT must leave as it was.
    base = copy.deepcopy(existing or NEW_ACTION)
    exec_ = _exec(body["exec"], blackbox=blackbox) if "exec" in body else base["exec"]
    parameters = _key_values(body["parameters"], "parameters") if "parameters" in body else base["parameters"]
    new_annotations = _key_values(body.get("annotations", []), "annotations")
    drop = body.get("delAnnotations") or []
    if not isinstance(drop, list):
        raise malformed("'delAnnotations' must be a list")
    annotations = _merge_annotations(base["annotations"], new_annotations, drop)
    if existing is None:
        _set_annotation(annotations, "provide-api-key", False, only_if_absent=True)
    _set_annotation(annotations, "exec", exec_["kind"], only_if_absent=False)
    version = body.get("version")
    if not isinstance(version, str):
        version = bump_version(base["version"])
    publish = body.get("publish", base["publish"])
    if exec_["kind"] == "sequence":
        parameters = [{"key": "_actions", "value": exec_["components"]}]
    return {
        "namespace": namespace,
        "name": name,
        "version": version,
        "exec": exec_,
        "parameters": parameters,
        "limits": _limits(body.get("limits"), base["limits"]),
        "annotations": annotations,
        "publish": bool(publish),
        "updated": now_ms(),
    }


def build_package(
    namespace: str, name: str, body: dict[str, Any], existing: dict[str, Any] | None
) -> dict[str, Any]:
    if name == "default":
        raise OpenWhiskError(400, "Package name 'default' is reserved.")
    base = copy.deepcopy(existing or NEW_PACKAGE)  # see build_action
    binding = _binding(body.get("binding", base.get("binding", {})) or {})
    parameters = _key_values(body["parameters"], "parameters") if "parameters" in body else base["parameters"]
    annotations = _merge_annotations(
        base["annotations"],
        _key_values(body.get("annotations", []), "annotations"),
        body.get("delAnnotations") or [],
    )
    version = body.get("version")
    return {
        "namespace": namespace,
        "name": name,
        "version": version if isinstance(version, str) else bump_version(base["version"]),
        "parameters": parameters,
        "annotations": annotations,
        "binding": binding,
        "publish": bool(body.get("publish", base["publish"])),
        "updated": now_ms(),
    }


def _binding(binding: Any) -> dict[str, Any]:
    if not isinstance(binding, dict):
        raise malformed("'binding' must be an object")
    for field in ("namespace", "name"):
        if field in binding and not isinstance(binding[field], str):
            raise malformed(f"the binding's '{field}' must be a string")
    return binding


def action_view(action: dict[str, Any], *, code: bool = True) -> dict[str, Any]:
    """The action as GET/PUT/DELETE return it."""
    view = dict(action)
    exec_ = dict(action["exec"])
    if not code:
        exec_.pop("code", None)
    view["exec"] = exec_
    return view


def action_summary(action: dict[str, Any]) -> dict[str, Any]:
    """A list item: no code and no kind, as the CouchDB view emits it."""
    return {
        "namespace": action["namespace"],
        "name": action["name"],
        "version": action["version"],
        "publish": action["publish"],
        "annotations": action["annotations"],
        "limits": action["limits"],
        "exec": {"binary": action["exec"].get("binary", False)},
        "updated": action["updated"],
    }


def package_summary(package: dict[str, Any]) -> dict[str, Any]:
    return {
        "namespace": package["namespace"],
        "name": package["name"],
        "version": package["version"],
        "publish": package["publish"],
        "annotations": package["annotations"],
        "binding": package.get("binding", {}),
        "updated": package["updated"],
    }
