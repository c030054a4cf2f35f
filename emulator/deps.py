"""Install a function's declared dependencies once, into a cache keyed by what they declare.

A Python function's `requirements.txt` is installed with pip (`--target`), a Node.js function's
`package.json` with npm, each into `CACHE/<family>/<digest>/`, outside the user's folder. The
instance gets those folders on its module path through the proxy's `/init` value
(`dependencies`). Editing the manifest changes the digest, so the next cold start installs again;
an unchanged manifest costs one `stat` per cold start.

An install shows as a console task: pip's output lines say which requirement it is collecting, so
the task counts them; npm says nothing useful until it ends, so its task only spins.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emulator.progress import Task, tasks_for

PYTHON_MANIFEST = "requirements.txt"
NODE_MANIFEST = "package.json"
NODE_LOCKS = ("package-lock.json", "npm-shrinkwrap.json")
COMPLETE_MARKER = ".emu-complete"
OUTPUT_TAIL = 2000  # characters of pip/npm output kept for an error message


class DependencyError(Exception):
    """Installing a function's dependencies failed; the message says which file and why."""


def default_cache_root() -> Path:
    """`EMU_DEPS_CACHE`, else the user's cache folder: shared by every project, as pip's cache is."""
    configured = os.environ.get("EMU_DEPS_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "emu" / "deps"


@dataclass(frozen=True)
class _Manifest:
    family: str
    files: tuple[Path, ...]  # what the digest covers: the manifest, and a lock file when there is one
    stamp: tuple[tuple[int, int], ...]  # (mtime_ns, size) of each, to skip hashing when nothing changed


class DependencyCache:
    def __init__(self, root: Path | None = None, say: Callable[[str], None] | None = None) -> None:
        self.root = root or default_cache_root()
        self._say = say or (lambda text: None)
        self._task = tasks_for(self._say)
        self._locks: dict[Path, asyncio.Lock] = {}
        self._known: dict[tuple[str, ...], tuple[tuple[tuple[int, int], ...], list[Path]]] = {}

    async def ensure(self, source: Path, family: str) -> list[Path]:
        """The folders to put on the module path of `source`'s function; installs them if needed.

        A failed install is reported on the console and gives no folders: the function's own
        import error then tells the user what is missing, as it would in the cloud.
        """
        try:
            manifest = _find_manifest(source, family)
        except DependencyError as error:
            self._say(f"warning: {error}")
            return []
        if manifest is None:
            return []
        memo_key = (family, *map(str, manifest.files))
        known = self._known.get(memo_key)
        if known is not None and known[0] == manifest.stamp:
            return known[1]
        digest = _digest(manifest, family)
        target = self.root / family / digest
        async with self._locks.setdefault(target, asyncio.Lock()):
            if not (target / COMPLETE_MARKER).exists():
                try:
                    await self._install(manifest, target)
                except DependencyError as error:
                    # The function then fails to import as it would in the cloud; saying why once,
                    # and not retrying until the manifest changes, keeps every call from paying for it.
                    self._say(f"warning: {error}")
                    self._known[memo_key] = (manifest.stamp, [])
                    return []
        paths = [target / "node_modules"] if family == "nodejs" else [target]
        self._known[memo_key] = (manifest.stamp, paths)
        return paths

    async def _install(self, manifest: _Manifest, target: Path) -> None:
        what = manifest.files[0]
        with self._task(f"Installing dependencies from {what}", unit="packages") as task:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=target.parent))
            try:
                if manifest.family == "python":
                    # Not --quiet: its "Collecting ..." lines are the progress; no bar of its own in a pipe.
                    command = [
                        sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                        "--progress-bar", "off", "--target", str(staging), "-r", str(what),
                    ]  # fmt: skip
                    cwd = what.parent
                else:
                    for file in manifest.files:
                        shutil.copy2(file, staging / file.name)
                    verb = "ci" if len(manifest.files) > 1 else "install"
                    command = ["npm", verb, "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"]
                    cwd = staging
                watch = PipProgress(task).line if manifest.family == "python" else None
                await _run(command, cwd, what, watch)
                (staging / COMPLETE_MARKER).write_text(json.dumps([str(f) for f in manifest.files]))
                shutil.rmtree(target, ignore_errors=True)
                staging.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            task.finish(True, f"Installed dependencies from {what}")


class PipProgress:
    """Turns pip's output lines into task updates: how many requirements collected, and the current one."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.collected = 0

    def line(self, text: str) -> None:
        text = text.strip()
        if text.startswith("Collecting "):
            self.collected += 1
            self.task.update(self.collected, detail=text.split()[1])
        elif text.startswith("Downloading ") or text.startswith("Using cached "):
            self.task.update(detail=text.split()[-1 if text.startswith("Using") else 1].rsplit("/", 1)[-1])
        elif text.startswith("Installing collected packages:"):
            self.task.update(detail="installing " + text.partition(":")[2].strip())


def _find_manifest(source: Path, family: str) -> _Manifest | None:
    if family == "python":
        names: tuple[str, ...] = (PYTHON_MANIFEST,)
    elif family == "nodejs":
        if (source / "node_modules").is_dir():  # the user installed them: use theirs, as the cloud would
            return None
        names = (NODE_MANIFEST,)
    else:
        return None
    manifest = source / names[0]
    if not manifest.is_file():
        return None
    if family == "nodejs" and not _declares_dependencies(manifest):
        return None
    files = [manifest]
    if family == "nodejs":
        files += [source / lock for lock in NODE_LOCKS if (source / lock).is_file()][:1]
    stamp = tuple((stat.st_mtime_ns, stat.st_size) for stat in (file.stat() for file in files))
    return _Manifest(family, tuple(files), stamp)


def _declares_dependencies(package_json: Path) -> bool:
    try:
        declared = json.loads(package_json.read_text(encoding="utf-8")).get("dependencies")
    except (ValueError, AttributeError) as error:
        raise DependencyError(f"{package_json}: not valid JSON: {error}") from None
    return bool(declared)


def _digest(manifest: _Manifest, family: str) -> str:
    hasher = hashlib.sha256(family.encode())
    if family == "python":  # wheels are built for one interpreter
        hasher.update(f"{sys.implementation.cache_tag}-{sys.platform}".encode())
    for file in manifest.files:
        hasher.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return hasher.hexdigest()[:20]


async def _run(
    command: list[str], cwd: Path, manifest: Path, watch: Callable[[str], None] | None = None
) -> None:
    """Run an installer; each output line goes to `watch`; a failure carries the output's tail."""
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=1 << 20,  # npm may print a long line; the default 64 kB would fail the read
        )
    except FileNotFoundError:
        raise DependencyError(
            f"{manifest}: cannot install dependencies: {command[0]} is not installed"
        ) from None
    assert process.stdout is not None
    tail = ""
    async for raw in process.stdout:  # line by line, so the console can follow along
        line = raw.decode(errors="replace")
        tail = (tail + line)[-OUTPUT_TAIL:]
        if watch is not None:
            watch(line)
    await process.communicate()  # not wait(): this also closes the drained pipe's transport
    if process.returncode != 0:
        tool = command[2] if command[1:2] == ["-m"] else Path(command[0]).name  # "pip", not the interpreter
        raise DependencyError(
            f"{manifest}: installing dependencies failed ({tool} exited {process.returncode}):\n{tail.strip()}"
        )
