"""The runtime kinds emu accepts, as OpenWhisk's runtimes manifest lists them."""

from __future__ import annotations

from typing import Any

from emulator.backends.docker_sources import blackbox_image
from providers.openwhisk.errors import OpenWhiskError

# family -> (kinds, default kind). Every kind of a family runs on the one runtime emu has for it.
FAMILIES: dict[str, tuple[tuple[str, ...], str]] = {
    "nodejs": (("nodejs:18", "nodejs:20", "nodejs:22"), "nodejs:20"),
    "python": (("python:3.9", "python:3.10", "python:3.11", "python:3.12"), "python:3.10"),
}
SPECIAL_KINDS = ("sequence", "blackbox")


def all_kinds() -> list[str]:
    return [kind for kinds, _ in FAMILIES.values() for kind in kinds]


def resolve(kind: str) -> str:
    """Normalise a requested kind: lowercase, trimmed, `<family>:default` resolved."""
    kind = kind.strip().lower()
    family, _, version = kind.partition(":")
    if version == "default" and family in FAMILIES:
        return FAMILIES[family][1]
    if kind in SPECIAL_KINDS or kind in all_kinds():
        return kind
    valid = ", ".join(all_kinds() + list(SPECIAL_KINDS))
    raise OpenWhiskError(
        400,
        "The request content was malformed:\n"
        f"The specified runtime '{kind}' is not supported by this platform. Valid values are: '{valid}'.",
    )


def family_of(kind: str) -> str:
    return kind.partition(":")[0]


def runtime_family(exec_: dict[str, Any]) -> str:
    """The pool's family for an action: its kind's, or a blackbox action's own image."""
    if exec_["kind"] == "blackbox":
        return blackbox_image(exec_["image"])
    return family_of(exec_["kind"])


def runtimes_manifest() -> dict[str, list[dict[str, Any]]]:
    """The `runtimes` section of `GET /`, which tools read to learn the supported kinds."""
    return {
        family: [
            {
                "kind": kind,
                "image": f"openwhisk/action-{kind.replace(':', '-v')}:nightly",
                "deprecated": False,
                "default": kind == default,
                "attached": True,
                "requireMain": False,
            }
            for kind in kinds
        ]
        for family, (kinds, default) in FAMILIES.items()
    }
