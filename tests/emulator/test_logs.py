"""Splitting an instance's output into activations on the sentinel lines."""

from __future__ import annotations

from emulator.logs import SENTINEL, LogCapture


async def test_lines_up_to_both_sentinels_make_one_activation() -> None:
    capture = LogCapture()
    capture.feed("stdout", "first")
    capture.feed("stderr", "oops")
    capture.feed("stdout", SENTINEL)
    capture.feed("stderr", SENTINEL)
    capture.feed("stdout", "next activation")
    lines = await capture.take(timeout=1)
    assert [(line.stream, line.text) for line in lines] == [("stdout", "first"), ("stderr", "oops")]
    formatted = lines[0].openwhisk()
    assert len(formatted.split(" ")[0]) == 27 and formatted[30:] == " stdout: first"  # padded to 30
    capture.feed("stdout", SENTINEL)
    capture.feed("stderr", SENTINEL)
    assert [line.text for line in await capture.take(timeout=1)] == ["next activation"]


async def test_a_stream_that_ends_without_sentinel_gives_what_it_had() -> None:
    capture = LogCapture()
    capture.feed("stdout", "dying words")
    capture.close("stdout")
    capture.close("stderr")
    lines = await capture.take(timeout=5)
    assert lines[0].text == "dying words"


async def test_output_past_the_limit_is_dropped_and_reported() -> None:
    capture = LogCapture(limit_bytes=10)
    for _ in range(5):
        capture.feed("stdout", "12345")
    capture.feed("stdout", SENTINEL)
    capture.feed("stderr", SENTINEL)
    lines = await capture.take(timeout=1)
    assert len(lines) == 3
    assert lines[-1].text == "Logs were truncated because the total bytes size exceeds the limit of 10 bytes."


async def test_take_returns_at_its_timeout_without_sentinels() -> None:
    capture = LogCapture()
    capture.feed("stdout", "partial")
    assert len(await capture.take(timeout=0.05)) == 1
