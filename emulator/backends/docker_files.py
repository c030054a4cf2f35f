"""What a container sees of the host: the function's code folders, and nothing else.

A container gets, read-only, the runtime proxies (/var/runtime), the dependency cache
(/var/deps-cache, third-party packages only) and its own staging folder (/var/task and
/var/deps). Stem cells start before their function is known, so the staging folder is empty
until /init; then the function's folder is linked into it (hard links: no copy of the bytes,
and a file the user saves in place is seen at once; a plain copy across file systems). The
state dir, other projects and the engine's socket are never mounted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

RUNTIME_MOUNT = "/var/runtime"
TASK_MOUNT = "/var/task"
DEPS_MOUNT = "/var/deps"
DEPS_CACHE_MOUNT = "/var/deps-cache"
# Folders never copied into a container: emu's own state (may sit inside a project) and VCS data.
SKIPPED = {".emu", ".git"}


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def stage(source: Path, target: Path, keep_out: Path | None) -> None:
    """Fill `target` with a copy of `source` made of hard links, without `keep_out` or SKIPPED."""
    keep = keep_out.resolve() if keep_out is not None else None

    def ignored(folder: str, names: list[str]) -> set[str]:
        here = Path(folder)
        return {n for n in names if n in SKIPPED or (keep is not None and (here / n).resolve() == keep)}

    # Filled in place: `target` may be the very folder bind-mounted into the container.
    shutil.copytree(source, target, ignore=ignored, copy_function=_link_or_copy, dirs_exist_ok=True)


def visible_value(
    value: dict[str, Any], staging: Path, deps_cache: Path | None, keep_out: Path | None
) -> dict[str, Any]:
    """`value` with its host folders staged for the container and their paths rewritten."""
    places: dict[str, str] = {}
    path = value.get("path")
    if isinstance(path, str) and path:
        if not Path(path).is_dir():
            raise FileNotFoundError(f"The code folder '{path}' does not exist.")
        stage(Path(path), staging / "task", keep_out)
        places[path.rstrip("/")] = TASK_MOUNT
    folders = value.get("dependencies")
    if isinstance(folders, list):
        for index, folder in enumerate(folders):
            places[str(folder).rstrip("/")] = _dependency(Path(folder), index, staging, deps_cache, keep_out)
    # Every string naming one of those folders or a file in it (the path itself, LAMBDA_TASK_ROOT,
    # an Azure function's scriptFile...) names it as the container sees it; source text is left alone.
    rewritten = _rewrite(value, sorted(places.items(), key=lambda item: -len(item[0])))
    if "code" in value:
        rewritten["code"] = value["code"]
    return rewritten


def _rewrite(item: Any, places: list[tuple[str, str]]) -> Any:
    if isinstance(item, str):
        for host, inside in places:
            if item == host or item.startswith(host + "/"):
                return inside + item[len(host) :]
        return item
    if isinstance(item, dict):
        return {key: _rewrite(value, places) for key, value in item.items()}
    if isinstance(item, list):
        return [_rewrite(value, places) for value in item]
    return item


def _dependency(
    folder: Path, index: int, staging: Path, deps_cache: Path | None, keep_out: Path | None
) -> str:
    if deps_cache is not None:
        with contextlib.suppress(ValueError):
            return f"{DEPS_CACHE_MOUNT}/{folder.resolve().relative_to(deps_cache.resolve()).as_posix()}"
    stage(folder, staging / "deps" / str(index), keep_out)
    return f"{DEPS_MOUNT}/{index}"
