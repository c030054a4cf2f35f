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

from emulator.backends.base import Backend, Instance, ServerSpec
from emulator.backends.docker_sources import is_own_image
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
        if not slot.waiting:  # nobody queued ahead: a warm instance is taken without the lock
            warm = self._take_idle(slot, spec.revision)
            if warm is not None:
                slot.active += 1
                return Lease(warm, spec, cold=False)
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
        if not slot.waiting:  # nobody to wake: no need for the lock
            slot.active -= 1
            return
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
        if self._closed or self.settings.prewarm_per_family <= 0 or is_own_image(family):
            return  # a function's own image gets no stem cells, as in the clouds
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


# -- self-serving workloads ----------------------------------------------------------------------


@dataclass(frozen=True)
class ServerWorkload:
    """One deployed revision of a workload that is its own HTTP server (Cloud Run, Functions Framework)."""

    key: str  # stable identity across revisions
    revision: str  # a new revision is served by new instances; old ones drain and stop
    spec: ServerSpec
    concurrency: int = 1  # requests one instance serves at once
    max_instances: int = 8
    max_queued: int = 64  # requests that may wait for room on an instance


@dataclass
class ServerLease:
    instance: Instance
    workload: ServerWorkload
    cold: bool  # this request waited for the instance to start


@dataclass
class _Server:
    instance: Instance
    revision: str
    in_flight: int = 0
    since: float = field(default_factory=time.monotonic)  # last time it went idle


@dataclass
class _ServerSlot:
    servers: list[_Server] = field(default_factory=list)
    starting: int = 0
    waiting: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class ServerPool:
    """Instances of self-serving workloads: up to `concurrency` requests on each, new instances up
    to `max_instances` while every one is full, and none left once they have been idle a while.

    Unlike `Pool`, an instance serves many requests at once and is started with its code, so
    there are no stem cells: a cold start is the workload's own start-up.
    """

    def __init__(self, backend: Backend, idle_timeout_s: float) -> None:
        self.backend = backend
        self.idle_timeout_s = idle_timeout_s
        self._slots: dict[str, _ServerSlot] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_forever())

    async def close(self) -> None:
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
        servers = [server for slot in self._slots.values() for server in slot.servers]
        self._slots.clear()
        await asyncio.gather(*(server.instance.stop() for server in servers), return_exceptions=True)
        await asyncio.gather(*self._stopping, return_exceptions=True)

    def instance_count(self, key: str | None = None) -> int:
        slots = self._slots.values() if key is None else [self._slots.get(key, _ServerSlot())]
        return sum(len(slot.servers) for slot in slots)

    def load(self, key: str) -> tuple[int, int]:
        """(requests in flight, requests waiting for room) for one workload."""
        slot = self._slots.get(key)
        return (sum(server.in_flight for server in slot.servers), slot.waiting) if slot else (0, 0)

    async def acquire(self, workload: ServerWorkload) -> ServerLease:
        """Room on a running instance, or a new one; `Throttled` when too many requests wait.
        `InstanceStartError` when the instance this request started failed to start."""
        slot = self._slots.setdefault(workload.key, _ServerSlot())
        in_flight = sum(server.in_flight for server in slot.servers)
        capacity = workload.max_instances * workload.concurrency
        if slot.waiting >= workload.max_queued and in_flight >= capacity:
            raise Throttled(in_flight + slot.waiting + 1, capacity + workload.max_queued)
        slot.waiting += 1
        try:
            async with slot.changed:
                while True:
                    server = self._room(slot, workload)
                    if server is not None:
                        server.in_flight += 1
                        return ServerLease(server.instance, workload, cold=False)
                    # Each instance being started serves its starter plus `concurrency - 1` others:
                    # start one more only for the requests those cannot take.
                    promised = slot.starting * (workload.concurrency - 1)
                    live = len(slot.servers) + slot.starting
                    if slot.waiting > promised and live < workload.max_instances:
                        slot.starting += 1
                        break
                    await slot.changed.wait()
        finally:
            slot.waiting -= 1
        try:
            instance = await self.backend.start_server(workload.spec)
        except BaseException:
            async with slot.changed:
                slot.starting -= 1
                slot.changed.notify_all()
            raise
        async with slot.changed:
            slot.starting -= 1
            if self._closed or self._slots.get(workload.key) is not slot:
                self._stop_later(instance)
            else:
                slot.servers.append(_Server(instance, workload.revision, in_flight=1))
            slot.changed.notify_all()
        return ServerLease(instance, workload, cold=True)

    async def release(self, lease: ServerLease, healthy: bool = True) -> None:
        """End one request; an unhealthy instance (timed out, crashed) is stopped and replaced."""
        slot = self._slots.get(lease.workload.key)
        if slot is None:
            return
        async with slot.changed:
            for server in slot.servers:
                if server.instance is lease.instance:
                    server.in_flight -= 1
                    server.since = time.monotonic()
                    stale = server.revision != lease.workload.revision
                    if not healthy or not server.instance.alive() or (stale and server.in_flight == 0):
                        slot.servers.remove(server)
                        self._stop_later(server.instance)
                    break
            slot.changed.notify_all()

    def retire(self, key: str, revision: str | None = None) -> None:
        """Stop the idle instances of `key` not on `revision` (all of them when None); busy ones
        stop when their last request ends."""
        slot = self._slots.get(key)
        if slot is None:
            return
        for server in list(slot.servers):
            if server.revision != revision:
                if server.in_flight == 0:
                    slot.servers.remove(server)
                    self._stop_later(server.instance)
                else:
                    server.revision = ""  # marked stale: stopped on release
        if revision is None and not slot.servers and not slot.starting and not slot.waiting:
            del self._slots[key]

    def _room(self, slot: _ServerSlot, workload: ServerWorkload) -> _Server | None:
        """The busiest instance of the current revision that still has room, so idle ones can
        scale in; dead ones are dropped."""
        best: _Server | None = None
        for server in list(slot.servers):
            if not server.instance.alive():
                if server.in_flight == 0:
                    slot.servers.remove(server)
                    self._stop_later(server.instance)
                continue
            if server.revision != workload.revision or server.in_flight >= workload.concurrency:
                continue
            if best is None or server.in_flight > best.in_flight:
                best = server
        return best

    def _stop_later(self, instance: Instance) -> None:
        task = asyncio.ensure_future(instance.stop())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _reap_forever(self) -> None:
        interval = max(0.05, min(30.0, self.idle_timeout_s / 2))
        while True:
            await asyncio.sleep(interval)
            self.reap_idle()

    def reap_idle(self) -> None:
        """Scale to zero: stop instances with no request for `idle_timeout_s`."""
        cutoff = time.monotonic() - self.idle_timeout_s
        for slot in self._slots.values():
            for server in list(slot.servers):
                if server.in_flight == 0 and (server.since <= cutoff or not server.instance.alive()):
                    slot.servers.remove(server)
                    self._stop_later(server.instance)
