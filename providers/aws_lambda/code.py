"""Uploaded deployment packages: decoded, checked and unpacked into the state dir.

Every entry is checked before anything is written, so an archive cannot place a file outside
its folder (`..`, absolute paths) or plant a link that points elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import io
import shutil
import stat
import uuid
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from providers.aws_lambda.errors import LambdaError, invalid_parameter
from providers.aws_lambda.functions import code_digest

MAX_ZIPPED_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 262_144_000
UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."
# What a damaged or unusual archive raises while it is read: a bad member, an unknown compression
# method, an encrypted member (RuntimeError), or entries that clash on disk (`a` and `a/b`).
UNZIP_ERRORS = (
    zipfile.BadZipFile,
    NotImplementedError,
    RuntimeError,
    OSError,
    EOFError,
    zlib.error,
    ValueError,
)


def decode_zip(value: object) -> bytes:
    """The bytes of `Code.ZipFile` (base64 on the wire)."""
    if not isinstance(value, str):
        raise invalid_parameter("ZipFile must be base64-encoded zip file content.")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_parameter(UNZIP_FAILED) from None
    if len(data) > MAX_ZIPPED_BYTES:
        raise LambdaError(
            413,
            "RequestEntityTooLargeException",
            f"Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes",
        )
    return data


class CodeStore:
    """Unpacked packages under `root/<function>/<digest>`; a folder is never changed once written."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def unpack(self, function: str, data: bytes) -> tuple[Path, str]:
        """(folder, CodeSha256) for a zip. Blocking: async callers run it in a thread."""
        digest = code_digest(data)
        folder = self.root / function / digest.replace("/", "_").replace("+", "-").rstrip("=")
        if folder.is_dir():
            return folder, digest
        # A name of its own, as two uploads of the same zip may unpack at once.
        partial = folder.with_name(f"{folder.name}.{uuid.uuid4().hex}.partial")
        try:
            _extract(data, partial)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        try:
            partial.rename(folder)
        except OSError:
            # The other upload got there first: its folder holds the same code.
            shutil.rmtree(partial, ignore_errors=True)
            if not folder.is_dir():
                raise
        return folder, digest

    def prune(self, function: str, keep: set[Path]) -> None:
        """Remove the function's unpacked packages other than `keep` (and uploads in progress)."""
        # By name: a stored code_dir may spell the state dir differently (relative, via a link).
        kept = {folder.name for folder in keep}
        for folder in (self.root / function).glob("*"):
            if folder.name not in kept and not folder.name.endswith(".partial"):
                shutil.rmtree(folder, ignore_errors=True)

    def remove(self, function: str) -> None:
        shutil.rmtree(self.root / function, ignore_errors=True)


def _extract(data: bytes, target: Path) -> None:
    try:
        _extract_members(data, target)
    except UNZIP_ERRORS:
        raise invalid_parameter(UNZIP_FAILED) from None


def _extract_members(data: bytes, target: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        if sum(member.file_size for member in members) > MAX_UNZIPPED_BYTES:
            raise invalid_parameter(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
        for member in members:
            _check_member(member)
        target.mkdir(parents=True)
        for member in members:
            destination = target / member.filename
            if member.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, destination.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            mode = (member.external_attr >> 16) & 0o777
            # Keep execute bits: a custom runtime's `bootstrap` must stay executable.
            destination.chmod((mode or 0o644) | 0o400)


def _check_member(member: zipfile.ZipInfo) -> None:
    path = PurePosixPath(member.filename.replace("\\", "/"))
    # No parts: an entry named "" or "." would be the folder itself (zipfile fails on "" too).
    if not path.parts or path.is_absolute() or ".." in path.parts or member.filename.startswith("/"):
        raise invalid_parameter(UNZIP_FAILED)
    if stat.S_ISLNK(member.external_attr >> 16):
        raise invalid_parameter(UNZIP_FAILED)
