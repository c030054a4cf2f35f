"""Finding each cloud's manifest files in a project folder."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

# Dependency, build and cache folders: never where a project declares its functions.
SKIPPED_DIRS = frozenset({"node_modules", ".venv", "venv", "__pycache__", ".aws-sam"})


def find_files(root: Path, names: Iterable[str]) -> list[Path]:
    """Every file called one of `names` below `root`, outside skipped and hidden folders, sorted."""
    wanted = set(names)
    found: list[Path] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        found.extend(Path(directory) / name for name in files if name in wanted)
    return sorted(found)


def folder_fingerprint(folder: Path) -> str:
    """A digest of the names, sizes and change times of a folder's source files.

    Cheap (no file is read) and changed by any save: what decides that instances built from the
    folder are out of date.
    """
    digest = hashlib.sha256()
    for directory, subdirs, files in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(directory) / name
            try:
                stat = path.stat()
            except OSError:  # removed while we walked
                continue
            digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
