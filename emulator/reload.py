"""Watches a project folder and reports changes that matter to the functions in it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, DefaultFilter, awatch

from emulator.discovery import SKIPPED_DIRS

log = logging.getLogger("emu.reload")
IGNORED_DIRS = SKIPPED_DIRS | {".git", ".emu", ".pytest_cache", ".ruff_cache"}


class ProjectFilter(DefaultFilter):
    """watchfiles' default filter, plus emu's state dir and dependency folders."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(ignore_dirs=tuple(IGNORED_DIRS), ignore_paths=(str(state_dir.resolve()),))

    def __call__(self, change: Change, path: str) -> bool:
        return super().__call__(change, path) and not path.endswith((".pyc", ".pyo"))


class ProjectWatcher:
    def __init__(self, root: Path, state_dir: Path, on_change: Callable[[Path], None]) -> None:
        self.root = root.resolve()
        self.state_dir = state_dir
        self.on_change = on_change
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        watch_filter = ProjectFilter(self.state_dir)
        async for _changes in awatch(self.root, watch_filter=watch_filter, stop_event=self._stop, step=30):
            try:
                self.on_change(self.root)
            except Exception:
                log.exception("reloading %s failed", self.root)
