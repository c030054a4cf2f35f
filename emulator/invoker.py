"""Runs one activation: lease an instance, /init it when cold, /run, collect its logs.

Provider-neutral: the fronts turn an `Outcome` into their cloud's activation record and answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from emulator.backends.base import InstanceStartError
from emulator.instance_http import InstanceClient, InstanceUnreachable
from emulator.logs import LogLine, timestamp
from emulator.model import EncodedJson, FunctionSpec, Outcome
from emulator.pool import Lease, Pool

# How long to wait for the sentinels after the proxy answered; they normally follow at once.
LOG_SETTLE_S = 2.0
EXIT_GRACE_S = 1.0


def now_ms() -> int:
    return int(time.time() * 1000)


class Invoker:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self._client: InstanceClient | None = None

    async def start(self) -> None:
        # Kept-alive connections to every instance: no connection set-up per call.
        self._client = InstanceClient()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def invoke(
        self, spec: FunctionSpec, run_payload: dict[str, Any], init_env: dict[str, str], received_ms: int
    ) -> Outcome:
        """Run one activation. `Throttled` propagates; every other failure is in the Outcome."""
        try:
            lease = await self.pool.acquire(spec)
        except InstanceStartError as error:
            start = now_ms()
            return Outcome(
                phase="start",
                error="The action did not initialize and exited unexpectedly.",
                cold=True,
                wait_ms=start - received_ms,
                start_ms=start,
                end_ms=start,
                logs=[LogLine(timestamp(), "stderr", line) for line in str(error).splitlines()],
            )
        if spec.log_limit_bytes is not None:
            lease.instance.logs.limit_bytes = spec.log_limit_bytes
        outcome = Outcome(phase="init", cold=lease.cold, prewarmed=lease.prewarmed)
        outcome.start_ms = now_ms()
        outcome.wait_ms = max(0, outcome.start_ms - received_ms)
        reusable = False
        try:
            if lease.cold:
                init_started = time.monotonic()
                value = dict(spec.init_value)
                fresh = spec.instance_env() if spec.instance_env is not None else {}
                value["env"] = {**spec.init_value.get("env", {}), **fresh, **init_env}
                try:
                    value = await lease.instance.prepare(spec, value)
                except InstanceStartError as error:
                    outcome.error = "The action did not initialize and exited unexpectedly."
                    lease.instance.logs.feed("stderr", str(error))
                    return outcome
                await self._post(lease, "/init", {"value": value}, outcome, during_init=True)
                outcome.init_ms = round((time.monotonic() - init_started) * 1000)
                if outcome.error is not None or outcome.status != 200:
                    return outcome
            outcome.phase = "run"
            await self._post(lease, "/run", run_payload, outcome, during_init=False)
            reusable = outcome.error is None and outcome.status is not None and outcome.status < 500
        finally:
            outcome.end_ms = now_ms()
            instance = lease.instance
            if spec.report_memory:
                outcome.peak_memory_mb = instance.peak_memory_mb(outcome.reported_peak_kb)
            if outcome.error is not None and not outcome.timed_out:
                # The connection dropped: give the process a moment to report how it ended.
                outcome.exit_code = await instance.wait_exit(EXIT_GRACE_S)
                outcome.out_of_memory = instance.out_of_memory()
            if not reusable and instance.alive():
                await instance.stop()
            outcome.logs = await instance.logs.take(LOG_SETTLE_S if instance.alive() else 0.5)
            await self.pool.release(lease, reusable)
        return outcome

    async def _post(
        self, lease: Lease, path: str, payload: dict[str, Any], outcome: Outcome, *, during_init: bool
    ) -> None:
        assert self._client is not None, "Invoker.start() was not called"
        timeout_ms = round(lease.spec.timeout_s * 1000)
        try:
            response = await self._client.post(
                lease.instance.url, path, encode(payload), lease.spec.timeout_s
            )
        except asyncio.TimeoutError:
            outcome.timed_out = True
            suffix = " during initialization" if during_init else ""
            outcome.error = f"The action exceeded its time limits of {timeout_ms} milliseconds{suffix}."
            return
        except (InstanceUnreachable, OSError):
            if during_init:
                outcome.error = "The action did not initialize and exited unexpectedly."
            else:
                outcome.error = "The action did not produce a valid response and exited unexpectedly."
            return
        outcome.status = response.status
        outcome.function_error = response.function_error
        outcome.reported_peak_kb = response.peak_memory_kb
        raw = outcome.raw = response.body
        if not lease.spec.parse_result:
            return
        try:
            outcome.body = json.loads(raw) if raw else None
        except (ValueError, RecursionError):  # Recursion: a result nested too deep to read
            text = raw.decode(errors="replace")
            outcome.error = f"The action did not produce a valid JSON or JSON Array response: {text}"


def encode(payload: dict[str, Any]) -> bytes:
    """A /init or /run body; a `value` that is JSON already is put in as it is."""
    value = payload.get("value")
    if not isinstance(value, EncodedJson):
        return json.dumps(payload).encode()
    rest = json.dumps({key: item for key, item in payload.items() if key != "value"}).encode()
    return b'{"value": ' + value.data + (b", " + rest[1:] if rest != b"{}" else b"}")
