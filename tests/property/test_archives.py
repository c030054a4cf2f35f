"""Uploaded zips: whatever their entries are called, nothing is written outside the target folder.

Checked for Lambda's package store (`providers/aws_lambda/code.py`) and for the Python runtime
proxy's unpacking of OpenWhisk zip actions. Entries are named from pieces that attack a path
(`..`, absolute paths, backslashes, drive letters) and may be symlinks pointing anywhere.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import json
import os
import shutil
import stat
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from providers.aws_lambda.code import CodeStore
from providers.aws_lambda.errors import LambdaError
from tests.conftest import needs_node

# Duplicate entry names are part of the attack surface; zipfile warns when writing them.
pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name")
RUNTIME = Path(__file__).resolve().parents[2] / "emulator" / "runtime"
PROXY = RUNTIME / "python" / "proxy.py"
NODE_PROXY = RUNTIME / "node" / "proxy.js"
# Loads the Node.js proxy without starting its server and unpacks each [zip, folder] it is given.
NODE_HARNESS = """
const fs = require('fs'), path = require('path'), Module = require('module');
const file = process.argv[1];
const source = fs.readFileSync(file, 'utf8').replace(/\\nstart\\(\\);\\s*$/, '\\nmodule.exports = {extractZip};\\n');
const proxy = new Module(file);
proxy.filename = file;
proxy.paths = Module._nodeModulePaths(path.dirname(file));
proxy._compile(source, file);
const jobs = JSON.parse(fs.readFileSync(0, 'utf8'));
console.log(JSON.stringify(jobs.map(([zip, folder]) => {
  try { proxy.exports.extractZip(Buffer.from(zip, 'base64'), folder); return 'ok'; }
  catch (error) { return error.constructor.name + ': ' + error.message; }
})));
"""
pieces = st.sampled_from(["..", ".", "", "a", "b", "/", "\\", "C:", "~", "%2e%2e", "a..b", "...", "\u2025"])
entry_names = st.lists(pieces, min_size=1, max_size=6).map(
    lambda parts: "/".join(parts) if parts[0] != "/" else "".join(parts)
)
link_targets = st.sampled_from(["/etc/passwd", "..", "../../outside", "a", "/", "b/../../x", "."])


@st.composite
def archives(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A zip of files, folders and symlinks with hostile names; also the names."""
    buffer = io.BytesIO()
    names = draw(st.lists(st.one_of(entry_names, st.text(max_size=10)), min_size=1, max_size=6))
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            info = zipfile.ZipInfo(name)
            kind = draw(st.sampled_from(["file", "file", "link", "folder"]))
            if kind == "link":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                data = draw(link_targets)
            else:
                info.external_attr = (
                    (stat.S_IFDIR | 0o755) if kind == "folder" else (stat.S_IFREG | 0o644)
                ) << 16
                data = "" if kind == "folder" else "x"
            try:
                archive.writestr(info, data)
            except (ValueError, UnicodeEncodeError):
                continue
    return buffer.getvalue(), names


def snapshot(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def assert_contained(sandbox: Path, target: Path, before: set[str]) -> None:
    """Every new path is inside `target`, and no link was planted that leads out of it."""
    for relative in snapshot(sandbox) - before:
        path = sandbox / relative
        assert path == target or target in path.parents, f"{relative} was written outside {target}"
        if path.is_symlink():
            assert Path(os.path.realpath(path)).is_relative_to(os.path.realpath(target)), relative


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@pytest.fixture(scope="module")
def proxy() -> ModuleType:
    spec = importlib.util.spec_from_file_location("emu_python_proxy", PROXY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fresh(sandbox: Path) -> Path:
    for child in sandbox.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    return sandbox


@given(archives())
@example((b"", ["empty"]))
def test_lambda_packages_stay_in_their_folder(sandbox: Path, archive: tuple[bytes, list[str]]) -> None:
    root = fresh(sandbox)
    (root / "code").mkdir()
    before = snapshot(root)
    try:
        folder, _ = CodeStore(root / "code").unpack("fn", archive[0])
    except LambdaError as error:
        assert error.status in (400, 413)
        assert snapshot(root) - before <= {"code/fn"}  # a refused package leaves no partial folder
        return
    assert_contained(root, folder, before | {"code/fn"})
    assert not any(path.is_symlink() for path in folder.rglob("*"))


@given(archives())
def test_python_proxy_zip_actions_stay_in_their_folder(
    sandbox: Path, proxy: ModuleType, archive: tuple[bytes, list[str]]
) -> None:
    root = fresh(sandbox)
    workdir = root / "action"
    workdir.mkdir()
    before = snapshot(root)
    with contextlib.suppress(proxy.ActionError):
        proxy.unpack_zip(base64.b64encode(archive[0]).decode(), str(workdir))
    assert_contained(root, workdir, before)


@needs_node
@settings(max_examples=25)  # one Node.js process per example, each unpacking a batch
@given(st.lists(archives(), min_size=1, max_size=8))
def test_node_proxy_zip_actions_stay_in_their_folder(
    sandbox: Path, batch: list[tuple[bytes, list[str]]]
) -> None:
    root = fresh(sandbox)
    folders = [root / f"action{n}" for n in range(len(batch))]
    for folder in folders:
        folder.mkdir()
    before = snapshot(root)
    jobs = [
        [base64.b64encode(data).decode(), str(folder)]
        for (data, _), folder in zip(batch, folders, strict=True)
    ]
    completed = subprocess.run(
        ["node", "-e", NODE_HARNESS, str(NODE_PROXY)],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)
    assert all(result == "ok" or result.startswith("ActionError: ") for result in results), results
    for folder in folders:  # what is in the other folders of the batch counts as already there
        others = {
            str(path.relative_to(root)) for other in folders if other != folder for path in other.rglob("*")
        }
        assert_contained(root, folder, before | others)


def link_zip(entries: list[tuple[str, str | None, str]]) -> bytes:
    """A zip of (name, link target or None, content) entries, in that order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, target, content in entries:
            info = zipfile.ZipInfo(name)
            mode = stat.S_IFLNK | 0o777 if target is not None else stat.S_IFREG | 0o644
            info.external_attr = mode << 16
            archive.writestr(info, target if target is not None else content)
    return buffer.getvalue()


@needs_node
@pytest.mark.parametrize(
    "entries",
    [
        [("b", ".", ""), ("b/c", "../x", "")],  # a link through a link to the folder itself
        [("d", "sub", ""), ("sub/e", None, "x"), ("d/f", "../../out", "")],
        [("g", "h", ""), ("h", "g", "")],  # a cycle
        [("i", "j/../..", "")],
    ],
)
def test_node_proxy_link_chains_cannot_lead_out(
    sandbox: Path, entries: list[tuple[str, str | None, str]]
) -> None:
    root = fresh(sandbox)
    folder = root / "action"
    folder.mkdir()
    jobs = [[base64.b64encode(link_zip(entries)).decode(), str(folder)]]
    completed = subprocess.run(
        ["node", "-e", NODE_HARNESS, str(NODE_PROXY)],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=60,
    )
    (result,) = json.loads(completed.stdout)
    assert result == "ok" or result.startswith("ActionError: "), result
    assert_contained(root, folder, {"action"})
