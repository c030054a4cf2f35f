"""What the docker backend makes visible of the host in a container (no engine needed)."""

from __future__ import annotations

import os
from pathlib import Path

from emulator.backends.docker_files import visible_value


def test_code_is_linked_in_without_the_state_dir_and_paths_are_rewritten(tmp_path: Path) -> None:
    code = tmp_path / "project"
    (code / "pkg").mkdir(parents=True)
    (code / "app.py").write_text("x = 1\n")
    (code / "pkg" / "mod.py").write_text("y = 2\n")
    state = code / "state"
    (state / "emu.db").parent.mkdir()
    (state / "emu.db").write_text("secret")
    (code / ".git").mkdir()
    cache = tmp_path / "cache"
    (cache / "python" / "abc").mkdir(parents=True)
    other = tmp_path / "other-deps"
    other.mkdir()
    (other / "lib.py").write_text("")
    staging = tmp_path / "staging"
    (staging / "task").mkdir(parents=True)
    value = {
        "path": str(code),
        "dependencies": [str(cache / "python" / "abc"), str(other)],
        "env": {"LAMBDA_TASK_ROOT": str(code), "OTHER": "kept"},
        "main": "app.handler",
    }

    seen = visible_value(value, staging, cache, state)

    assert seen == {
        "path": "/var/task",
        "dependencies": ["/var/deps-cache/python/abc", "/var/deps/1"],
        "env": {"LAMBDA_TASK_ROOT": "/var/task", "OTHER": "kept"},
        "main": "app.handler",
    }
    assert sorted(p.relative_to(staging / "task").as_posix() for p in (staging / "task").rglob("*")) == [
        "app.py",
        "pkg",
        "pkg/mod.py",
    ]
    assert (
        os.stat(staging / "task" / "app.py").st_ino == os.stat(code / "app.py").st_ino
    )  # linked, not copied
    assert (staging / "deps" / "1" / "lib.py").exists()
    assert value["path"] == str(code)  # the caller's value is left as it was
