"""The pool of self-serving instances over real processes: packing, limits, scale to zero, revisions."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emulator.backends.base import InstanceStartError, ServerSpec
from emulator.backends.process import ProcessBackend
from emulator.pool import ServerPool, ServerWorkload, Throttled

# A server that accepts connections and never answers: the pool only needs it to listen.
LISTEN = "import os, socket, time; s = socket.socket(); s.bind(('127.0.0.1', int(os.environ['PORT']))); s.listen(); time.sleep(60)"


def workload(revision: str = "1", **limits: int) -> ServerWorkload:
    spec = ServerSpec(key="service 'test'", command=[sys.executable, "-c", LISTEN], ready_timeout_s=10)
    return ServerWorkload(key="test", revision=revision, spec=spec, **limits)


@pytest.fixture
async def pool(tmp_path: Path) -> AsyncIterator[ServerPool]:
    pool = ServerPool(ProcessBackend(tmp_path / "instances"), idle_timeout_s=0.2)
    pool.start()
    yield pool
    await pool.close()
    assert pool.instance_count() == 0


async def test_requests_share_an_instance_up_to_its_concurrency(pool: ServerPool) -> None:
    load = workload(concurrency=2, max_instances=3)
    leases = await asyncio.gather(*(pool.acquire(load) for _ in range(3)))
    assert sum(lease.cold for lease in leases) == 2  # two instances started, not three
    assert len({lease.instance.id for lease in leases}) == 2
    assert pool.instance_count("test") == 2
    for lease in leases:
        await pool.release(lease)


async def test_requests_wait_for_room_then_throttle(pool: ServerPool) -> None:
    load = workload(concurrency=1, max_instances=1, max_queued=1)
    first = await pool.acquire(load)
    waiting = asyncio.ensure_future(pool.acquire(load))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    with pytest.raises(Throttled):
        await pool.acquire(load)
    await pool.release(first)
    second = await waiting
    assert second.instance is first.instance and not second.cold
    await pool.release(second)


async def test_idle_instances_scale_to_zero(pool: ServerPool) -> None:
    lease = await pool.acquire(workload())
    await pool.release(lease)
    assert pool.instance_count() == 1
    for _ in range(250):
        if pool.instance_count() == 0 and not lease.instance.alive():
            break
        await asyncio.sleep(0.02)
    assert pool.instance_count() == 0
    assert not lease.instance.alive()


async def test_a_new_revision_gets_new_instances(pool: ServerPool) -> None:
    old = await pool.acquire(workload("1"))
    pool.retire("test", "2")  # busy: it stops when its request ends
    new = await pool.acquire(workload("2"))
    assert new.instance is not old.instance
    await pool.release(old)
    await pool.release(new)
    assert pool.instance_count("test") == 1
    await asyncio.sleep(0.05)
    assert not old.instance.alive()


async def test_an_unhealthy_instance_is_replaced(pool: ServerPool) -> None:
    lease = await pool.acquire(workload())
    await pool.release(lease, healthy=False)
    again = await pool.acquire(workload())
    assert again.cold and again.instance is not lease.instance
    await pool.release(again)


async def test_a_failed_start_is_reported_to_the_request(tmp_path: Path) -> None:
    pool = ServerPool(ProcessBackend(tmp_path), idle_timeout_s=1)
    spec = ServerSpec(key="service 'bad'", command=[sys.executable, "-c", "raise SystemExit(2)"])
    with pytest.raises(InstanceStartError, match="exited with status 2 before listening"):
        await pool.acquire(ServerWorkload(key="bad", revision="1", spec=spec))
    assert pool.instance_count() == 0
    await pool.close()
