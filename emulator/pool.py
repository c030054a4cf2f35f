"""Instances per function: warm reuse, prewarmed stem cells, a concurrency cap, idle reaping.

Modelled on OpenWhisk's ContainerPool: a cold start takes an uninitialised "stem cell" of the
right runtime family when one is ready (so it costs one /init), and a replacement stem cell is
started in the background.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from emulator.backends.base import Backend, Instance
from emulator.config import Settings
from emulator.model import FunctionSpec

log = logging.getLogger("emu.pool")


class Throttled(Exception):
    """More calls in flight for one function than it may run and queue."""

    def __init__(self, in_flight: int, allowed: int) -> None:
        super().__init__(f"{in_flight} calls in flight, {allowed} allowed")
        self.in_flight = in_flight
        self.allowed = allowed


@dataclass
class Lease:
    instance: Instance
    spec: FunctionSpec
    cold: bool
    prewarmed: bool = False


@dataclass
class _Idle:
    instance: Instance
    revision: str
    since: float


@dataclass
class _Slot:
    idle: list[_Idle] = field(default_factory=list)
    active: int = 0  # instances running or starting for this function
    waiting: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class Pool:
    def __init__(self, backend: Backend, settings: Settings, instance_env: dict[str, str]) -> None:
        self.backend = backend
        self.settings = settings
        self.instance_env = instance_env
        self._slots: dict[str, _Slot] = {}
        self._stem_cells: dict[str, list[Instance]] = {}
        self._families: set[str] = set()
        self._instances: set[Instance] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, families: set[str]) -> None:
        """Begin keeping stem cells for `families` and reaping idle instances."""
        self._families |= families
        for family in families:
            self._replenish(family)
        self._reaper = asyncio.create_task(self._reap_forever())

    async def close(self) -> None:
        self._closed = True
        if self._reaper:
            self._reaper.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(self._stop(i) for i in list(self._instances)), return_exceptions=True)
        self._slots.clear()
        self._stem_cells.clear()

    def instance_count(self) -> int:
        return len(self._instances)

    def load(self, key: str) -> tuple[int, int]:
        """(calls running, calls waiting) for one function."""
        slot = self._slots.get(key)
        return (slot.active, slot.waiting) if slot else (0, 0)

    def warm(self, key: str) -> int:
        """Idle instances kept warm for one function."""
        slot = self._slots.get(key)
        return len(slot.idle) if slot else 0

    # -- leasing -------------------------------------------------------------------------------

    async def acquire(self, spec: FunctionSpec) -> Lease:
        slot = self._slots.setdefault(spec.key, _Slot())
        limit = spec.max_instances or self.settings.max_instances_per_function
        queued = self.settings.max_queued_per_function if spec.max_queued is None else spec.max_queued
        allowed = limit + queued
        if slot.active + slot.waiting >= allowed:
            raise Throttled(slot.active + slot.waiting + 1, allowed)
        slot.waiting += 1
        try:
            async with slot.changed:
                while True:
                    warm = self._take_idle(slot, spec.revision)
                    if warm is not None:
                        slot.active += 1
                        return Lease(warm, spec, cold=False)
                    if slot.active < limit:
                        slot.active += 1
                        break
                    await slot.changed.wait()
        finally:
            slot.waiting -= 1
        try:
            instance, prewarmed = await self._new_instance(spec.family)
        except BaseException:
            await self._finished(slot)
            raise
        return Lease(instance, spec, cold=True, prewarmed=prewarmed)

    async def release(self, lease: Lease, reusable: bool) -> None:
        slot = self._slots.setdefault(lease.spec.key, _Slot())
        if reusable and lease.instance.alive() and not self._closed:
            slot.idle.append(_Idle(lease.instance, lease.spec.revision, time.monotonic()))
        else:
            self._background(self._stop(lease.instance))
        await self._finished(slot)

    def retire(self, key: str) -> None:
        """Stop the idle instances of a function whose code or settings changed or that is gone."""
        slot = self._slots.get(key)
        if slot is None:
            return
        for idle in slot.idle:
            self._background(self._stop(idle.instance))
        slot.idle.clear()

    async def _finished(self, slot: _Slot) -> None:
        async with slot.changed:
            slot.active -= 1
            slot.changed.notify()

    def _take_idle(self, slot: _Slot, revision: str) -> Instance | None:
        while slot.idle:
            idle = slot.idle.pop()  # the most recently used: its caches are the warmest
            if idle.revision == revision and idle.instance.alive():
                return idle.instance
            self._background(self._stop(idle.instance))
        return None

    # -- instances -----------------------------------------------------------------------------

    async def _new_instance(self, family: str) -> tuple[Instance, bool]:
        if family not in self._families:
            self._families.add(family)
        cells = self._stem_cells.setdefault(family, [])
        while cells:
            cell = cells.pop()
            if cell.alive():
                self._replenish(family)
                return cell, True
            self._background(self._stop(cell))
        self._replenish(family)
        instance = await self.backend.start(family, self.instance_env)
        self._instances.add(instance)
        return instance, False

    def _replenish(self, family: str) -> None:
        if self._closed or self.settings.prewarm_per_family <= 0:
            return
        self._background(self._top_up(family))

    async def _top_up(self, family: str) -> None:
        cells = self._stem_cells.setdefault(family, [])
        while len(cells) < self.settings.prewarm_per_family and not self._closed:
            try:
                instance = await self.backend.start(family, self.instance_env)
            except Exception as error:  # a missing runtime shows up on the first call instead
                log.debug("no stem cell for %s: %s", family, error)
                return
            self._instances.add(instance)
            cells.append(instance)

    async def _stop(self, instance: Instance) -> None:
        self._instances.discard(instance)
        try:
            await instance.stop()
        except Exception as error:
            log.warning("could not stop instance %s: %s", instance.id, error)

    def _background(self, coroutine: object) -> None:
        task = asyncio.ensure_future(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reap_forever(self) -> None:
        interval = max(0.05, min(30.0, self.settings.idle_timeout_s / 2))
        while True:
            await asyncio.sleep(interval)
            self.reap_idle()

    def reap_idle(self) -> None:
        cutoff = time.monotonic() - self.settings.idle_timeout_s
        for slot in self._slots.values():
            keep = [idle for idle in slot.idle if idle.since > cutoff]
            for idle in slot.idle:
                if idle.since <= cutoff:
                    self._background(self._stop(idle.instance))
            slot.idle = keep
