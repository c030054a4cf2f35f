"""The pool and the invoker over real instances of the Python runtime proxy (process backend)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emulator.backends.process import ProcessBackend
from emulator.config import Settings
from emulator.invoker import Invoker, now_ms
from emulator.model import FunctionSpec
from emulator.pool import Pool, Throttled

CODE = """
import os, time
def main(args):
    if args.get("sleep"):
        time.sleep(args["sleep"])
    if args.get("exit"):
        os._exit(3)
    print("pid", os.getpid())
    return {"pid": os.getpid(), "revision": REVISION}
"""


def spec(revision: str = "1", *, max_instances: int | None = None, timeout_s: float = 5.0) -> FunctionSpec:
    return FunctionSpec(
        key="test:fn",
        revision=revision,
        family="python",
        init_value={
            "name": "fn",
            "main": "main",
            "code": f"REVISION = {revision!r}\n{CODE}",
            "binary": False,
        },
        timeout_s=timeout_s,
        max_instances=max_instances,
    )


def run_payload(**value: object) -> dict[str, object]:
    return {"value": value, "activation_id": "a" * 32, "deadline": str(now_ms() + 5000)}


@pytest.fixture
async def invoker(tmp_path: Path) -> AsyncIterator[Invoker]:
    settings = Settings(state_dir=tmp_path, prewarm_per_family=1, max_queued_per_function=1)
    pool = Pool(ProcessBackend(tmp_path / "instances"), settings, {})
    invoker = Invoker(pool)
    await invoker.start()
    yield invoker
    await pool.close()
    await invoker.close()
    assert pool.instance_count() == 0


async def test_second_call_is_warm_on_the_same_instance(invoker: Invoker) -> None:
    first = await invoker.invoke(spec(), run_payload(), {}, now_ms())
    second = await invoker.invoke(spec(), run_payload(), {}, now_ms())
    assert first.ok and second.ok
    assert first.cold and first.init_ms is not None
    assert not second.cold and second.init_ms is None
    assert first.body["pid"] == second.body["pid"]
    assert any(line.text == f"pid {second.body['pid']}" for line in second.logs)


async def test_cold_start_takes_a_prewarmed_stem_cell(invoker: Invoker) -> None:
    invoker.pool.start({"python"})
    await _until(lambda: invoker.pool.instance_count() >= 1)
    outcome = await invoker.invoke(spec(), run_payload(), {}, now_ms())
    assert outcome.ok and outcome.cold and outcome.prewarmed


async def test_new_revision_gets_a_new_instance(invoker: Invoker) -> None:
    old = await invoker.invoke(spec("1"), run_payload(), {}, now_ms())
    new = await invoker.invoke(spec("2"), run_payload(), {}, now_ms())
    assert new.cold and new.body == {"pid": new.body["pid"], "revision": "2"}
    assert old.body["pid"] != new.body["pid"]


async def test_an_instance_that_exits_is_replaced(invoker: Invoker) -> None:
    crashed = await invoker.invoke(spec(), run_payload(exit=True), {}, now_ms())
    assert crashed.error == "The action did not produce a valid response and exited unexpectedly."
    after = await invoker.invoke(spec(), run_payload(), {}, now_ms())
    assert after.ok and after.cold


async def test_timeout_kills_the_instance(invoker: Invoker) -> None:
    outcome = await invoker.invoke(spec(timeout_s=0.3), run_payload(sleep=30), {}, now_ms())
    assert outcome.timed_out
    assert outcome.error == "The action exceeded its time limits of 300 milliseconds."
    assert (await invoker.invoke(spec(timeout_s=0.3), run_payload(), {}, now_ms())).ok


async def test_calls_past_the_cap_queue_and_then_throttle(invoker: Invoker) -> None:
    capped = spec(max_instances=1)
    slow = asyncio.ensure_future(invoker.invoke(capped, run_payload(sleep=0.5), {}, now_ms()))
    await _until(lambda: invoker.pool.load("test:fn") == (1, 0))
    queued = asyncio.ensure_future(invoker.invoke(capped, run_payload(), {}, now_ms()))
    await _until(lambda: invoker.pool.load("test:fn") == (1, 1))
    with pytest.raises(Throttled):
        await invoker.invoke(capped, run_payload(), {}, now_ms())
    first, second = await asyncio.gather(slow, queued)
    assert first.ok and second.ok and not second.cold
    assert second.wait_ms >= 100  # it waited for the one instance to come free


async def test_idle_instances_are_reaped(invoker: Invoker) -> None:
    invoker.pool.settings.prewarm_per_family = 0
    await invoker.invoke(spec(), run_payload(), {}, now_ms())
    assert invoker.pool.instance_count() == 1
    invoker.pool.settings.idle_timeout_s = 0
    invoker.pool.reap_idle()
    await _until(lambda: invoker.pool.instance_count() == 0)


async def _until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
