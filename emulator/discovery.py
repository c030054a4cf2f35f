"""Finding each cloud's manifest files in a project folder."""

from __future__ import annotations

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
