"""Console tasks: a live line on a terminal, start/end lines in a pipe, `progress` events in JSON;
and what the docker pull and build streams turn into."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path
from typing import Any

import click
import pytest

from emulator import console as console_module
from emulator.backends.docker_images import ImageUnavailable, build_image, ensure_image
from emulator.console import Console, ConsoleLogHandler
from emulator.progress import Task, bar, tasks_for


class Terminal(io.StringIO):
    """A stream that says it is a terminal, so the console draws its live line."""

    def isatty(self) -> bool:
        return True


def screen(output: str) -> list[str]:
    """What a terminal shows after `output`: `\\r` then erase-line rewrites the current line."""
    lines = []
    for line in output.split("\n"):
        lines.append(click.unstyle(line.rsplit("\r\x1b[2K", 1)[-1]))
    return lines


def test_on_a_terminal_one_line_is_redrawn_and_cleared_before_other_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    stream = Terminal()
    console = Console(stream)
    task = console.task("Pulling python:3.12", unit="B")
    task.update(5_000_000, 20_000_000, "1/3 layers")
    console.say("12:00:01 openwhisk /guest/hello success 3 ms warm")
    console.task_updated(task)
    task.finish(True, "Pulled python:3.12")
    output = stream.getvalue()
    assert "\x1b[36m" in output  # the spinner is coloured on a terminal
    shown = screen(output)
    # The invocation line is whole (the live line was erased first), then the task's end line.
    assert shown[0] == "12:00:01 openwhisk /guest/hello success 3 ms warm"
    assert shown[1].startswith("✔ Pulled python:3.12 (") and shown[1].endswith(" s)")
    assert shown[2:] == [""]
    # While it ran, the live line showed the bar, the sizes and the detail (redrawn after the line).
    live = click.unstyle(output.split("\n")[1].split("\r\x1b[2K")[1])
    assert "Pulling python:3.12" in live and "25% 5.0 MB/20.0 MB" in live and "1/3 layers" in live


def test_log_records_are_written_around_the_live_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    stream = Terminal()  # a terminal shows stdout and stderr on one screen
    console = Console(stream)
    handler = ConsoleLogHandler(console, stream)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logger = logging.getLogger("emu.test-live-line")
    logger.addHandler(handler)
    try:
        with console.task("Installing dependencies from requirements.txt"):
            logger.warning("could not stop instance p1")
            before = stream.getvalue()
    finally:
        logger.removeHandler(handler)
    # The record is a whole line of its own: the live line was erased first, then drawn again.
    assert screen(before)[0] == "emu.test-live-line: could not stop instance p1"
    assert "Installing dependencies" in screen(before)[1]


def test_a_silent_task_still_turns_on_a_terminal() -> None:
    stream = Terminal()
    console = Console(stream)
    with console.task("Installing dependencies from package.json"):
        deadline = time.monotonic() + 5
        while stream.getvalue().count("\r\x1b[2K") < 3:  # the first draw, then the ticker's
            assert time.monotonic() < deadline, stream.getvalue()
            time.sleep(0.01)
    frames = {part[:12] for part in stream.getvalue().split("\r\x1b[2K")[1:-1]}
    assert len(frames) > 1
    assert screen(stream.getvalue())[0].startswith("✔ Installing dependencies from package.json: done")


def test_the_live_line_never_wraps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    stream = Terminal()
    with Console(stream).task("Installing dependencies from a/very/long/path/to/requirements.txt"):
        live = click.unstyle(stream.getvalue().rsplit("\r\x1b[2K", 1)[-1])
    assert len(live) < 40 and live.endswith("…")


def test_several_tasks_share_the_live_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    stream = Terminal()
    console = Console(stream)
    first = console.task("Pulling a")
    second = console.task("Pulling b")
    second.update(2, 7, "RUN pip install")
    console.task_updated(first)
    time.sleep(console_module.REDRAW_EVERY_S)  # the redraw is rate limited; wait one frame
    console.task_updated(first)
    last = click.unstyle(stream.getvalue().rsplit("\r\x1b[2K", 1)[-1])
    assert "Pulling b" in last and "2/7" in last and "(+1 more)" in last
    second.finish()
    first.finish()
    shown = screen(stream.getvalue())
    assert shown[0].startswith("✔ Pulling b: done (") and shown[1].startswith("✔ Pulling a: done (")
    assert shown[2:] == [""]  # nothing left of the live line


def test_in_a_pipe_a_task_is_a_start_and_an_end_line() -> None:
    stream = io.StringIO()
    console = Console(stream)
    with console.task("Installing dependencies from requirements.txt") as task:
        for count in range(1, 4):
            task.update(count, detail=f"package{count}")
        task.finish(True, "Installed dependencies from requirements.txt")
    with pytest.raises(RuntimeError), console.task("Pulling nothing:here"):
        raise RuntimeError("pull access denied")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Installing dependencies from requirements.txt ..."
    assert lines[1].startswith("Installed dependencies from requirements.txt (")
    assert lines[2] == "Pulling nothing:here ..."
    assert lines[3].startswith("Pulling nothing:here: failed (")
    assert len(lines) == 4
    assert "\r" not in stream.getvalue() and "\x1b[" not in stream.getvalue()


def test_json_progress_events_have_a_phase_and_amounts() -> None:
    stream = io.StringIO()
    console = Console(stream, log_format="json")
    with console.task("Pulling python:3.12", unit="B") as task:
        task.update(10, 100, "0/1 layers")
        task.update(50, 100, "0/1 layers")  # within the rate limit: not an event
        task.finish(True, "Pulled python:3.12")
    with pytest.raises(ValueError), console.task("Building x"):
        raise ValueError("Step 2/3 failed")
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert all(event["kind"] == "progress" for event in events)
    assert [(event["task"], event["phase"]) for event in events] == [
        ("Pulling python:3.12", "start"),
        ("Pulling python:3.12", "update"),
        ("Pulling python:3.12", "end"),
        ("Building x", "start"),
        ("Building x", "end"),
    ]
    update, end = events[1], events[2]
    assert (update["current"], update["total"], update["unit"]) == (10, 100, "B")
    assert update["detail"] == "0/1 layers"
    assert end["ok"] is True and end["current"] == 50 and end["message"] == "Pulled python:3.12"
    assert isinstance(end["elapsed_ms"], int)
    assert events[4]["ok"] is False and events[4]["error"] == "Step 2/3 failed"
    assert events[0]["id"] == events[2]["id"] != events[3]["id"]


def test_a_plain_say_callable_gets_start_and_end_lines() -> None:
    said: list[str] = []
    with tasks_for(said.append)("Pulling x") as task:
        task.update(1, 2)
    assert said[0] == "Pulling x ..." and said[1].startswith("Pulling x: done (")
    assert tasks_for(Console(io.StringIO()).say)("y").label == "y"


def test_the_bar_is_full_at_the_total_and_never_beyond() -> None:
    assert bar(0, 10, 10) == "░" * 10
    assert bar(5, 10, 10) == "█" * 5 + "░" * 5
    assert bar(12, 10, 10) == "█" * 10
    assert bar(3, 0, 4) == "░" * 4


# -- the docker streams, from an engine stand-in that replays what the engine sends ----------------

PULL_EVENTS: list[dict[str, Any]] = [
    {"status": "Pulling from library/python", "id": "3.12-slim"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbb"},
    {"status": "Waiting", "progressDetail": {}, "id": "bbb"},
    {"status": "Downloading", "progressDetail": {"current": 1000, "total": 4000}, "id": "aaa"},
    {"status": "Downloading", "progressDetail": {"current": 500, "total": 1000}, "id": "bbb"},
    {"status": "Download complete", "progressDetail": {}, "id": "bbb"},
    {"status": "Downloading", "progressDetail": {"current": 4000, "total": 4000}, "id": "aaa"},
    {"status": "Extracting", "progressDetail": {"current": 100, "total": 4000}, "id": "aaa"},
    {"status": "Pull complete", "progressDetail": {}, "id": "aaa"},
    {"status": "Pull complete", "progressDetail": {}, "id": "bbb"},
    {"status": "Digest: sha256:0123"},
    {"status": "Status: Downloaded newer image for python:3.12-slim"},
]

BUILD_EVENTS: list[dict[str, Any]] = [
    {"stream": "Step 1/3 : FROM python:3.12-slim\n"},
    {"stream": " ---> 0123456789ab\n"},
    {"stream": "Step 2/3 : COPY . /app\n"},
    {"stream": "Step 3/3 : CMD python /app/main.py\n"},
    {"aux": {"ID": "sha256:feed"}},
    {"stream": "Successfully built feed\n"},
]


class Engine:
    """Stands in for `docker.DockerClient`: replays recorded streams; knows images once made."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.present: set[str] = set()
        self.api = self
        self.images = self

    def get(self, image: str) -> str:
        import docker.errors

        if image not in self.present:
            raise docker.errors.ImageNotFound(image)
        return image

    def pull(self, repository: str, tag: str, stream: bool, decode: bool) -> Any:
        yield from self.events
        if not any("error" in event for event in self.events):
            self.present.add(f"{repository}:{tag}")

    def build(self, path: str, tag: str, **options: Any) -> Any:
        yield from self.events
        if not any("error" in event for event in self.events):
            self.present.add(tag)


class Recorder:
    """A task sink that keeps every state it was shown."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int | None, int | None, str, bool | None]] = []

    def record(self, phase: str, task: Task) -> None:
        self.seen.append((phase, task.current, task.total, task.detail, task.ok))

    def task_started(self, task: Task) -> None:
        self.record("start", task)

    def task_updated(self, task: Task) -> None:
        self.record("update", task)

    def task_finished(self, task: Task) -> None:
        self.record("end", task)


def test_a_pull_adds_up_its_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    stream = io.StringIO()
    console = Console(stream, log_format="json")
    monkeypatch.setattr(console, "task", lambda label, unit="": Task(label, recorder, unit))
    ensure_image(Engine(PULL_EVENTS), "python:3.12-slim", console.say)  # type: ignore[arg-type]
    updates = [
        (current, total, detail) for phase, current, total, detail, _ in recorder.seen if phase == "update"
    ]
    assert updates[:2] == [(0, 0, "0/1 layers"), (0, 0, "0/2 layers")]
    assert (1500, 5000, "0/2 layers") in updates
    assert (2000, 5000, "1/2 layers") in updates  # bbb complete: its whole size counts
    assert updates[-1] == (5000, 5000, "2/2 layers")
    assert recorder.seen[-1][0] == "end" and recorder.seen[-1][-1] is True


def test_a_build_counts_its_steps_and_a_failure_keeps_the_log(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\n")
    stream = io.StringIO()
    console = Console(stream, log_format="json")
    tag = build_image(Engine(BUILD_EVENTS), tmp_path, "gcp/run/web", console.say)  # type: ignore[arg-type]
    assert tag == "emu-build/gcp-run-web:latest"
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert events[0]["phase"] == "start" and events[0]["unit"] == "steps"
    assert (events[1]["current"], events[1]["total"], events[1]["detail"]) == (1, 3, "FROM python:3.12-slim")
    assert events[-1]["phase"] == "end" and events[-1]["ok"] is True and events[-1]["current"] == 3

    failing = [*BUILD_EVENTS[:3], {"error": "COPY failed: no source files", "errorDetail": {}}]
    with pytest.raises(ImageUnavailable) as raised:
        build_image(Engine(failing), tmp_path, "gcp/run/web", console.say)  # type: ignore[arg-type]
    assert "COPY failed: no source files" in str(raised.value) and "Step 2/3 : COPY" in str(raised.value)
    end = json.loads(stream.getvalue().splitlines()[-1])
    assert end["ok"] is False and "COPY failed" in end["error"]
