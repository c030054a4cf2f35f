"""Cold-start benchmark: the first call of a new function revision, with and without a prewarmed instance.

With a stem cell ready (the default, `--prewarm 1`) a cold start is one `/init` on an already
running runtime proxy; with `--prewarm 0` it is a new process, then `/init`. Each round deploys
a new revision of an OpenWhisk action (Python, then Node.js) and calls it once (cold), then
again (warm), so the three figures come from the same run.

    python bench/cold_start.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from warm_invoke import start_emu

# The process backend unless EMU_BACKEND says otherwise: a Docker engine would change what is measured.
os.environ.setdefault("EMU_BACKEND", "process")

GUEST = (
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502",
    "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP",
)
CODE = {
    "python:3.12": "def main(args):\n    return {'round': %d}\n",
    "nodejs:20": "function main(args) { return { round: %d }; }\n",
}
STEM_CELL_READY_S = 1.0  # a stem cell is replaced in ~100 ms; the pause keeps one ready for each round


def timed_call(client: httpx.Client, name: str) -> float:
    started = time.perf_counter()
    reply = client.post(f"/api/v1/namespaces/_/actions/{name}?blocking=true&result=true", json={})
    elapsed = (time.perf_counter() - started) * 1000
    assert reply.status_code == 200, reply.text
    return elapsed


def run(prewarm: int, kind: str, rounds: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"cold": [], "warm": []}
    with tempfile.TemporaryDirectory() as state:
        process, urls = start_emu(Path(state), None, "--prewarm", str(prewarm))
        try:
            with httpx.Client(base_url=urls["openwhisk"], auth=GUEST, timeout=60) as client:
                for n in range(rounds):
                    time.sleep(STEM_CELL_READY_S)
                    action = {"exec": {"kind": kind, "code": CODE[kind] % n}}
                    reply = client.put("/api/v1/namespaces/_/actions/bench?overwrite=true", json=action)
                    assert reply.status_code == 200, reply.text
                    figures["cold"].append(timed_call(client, "bench"))
                    figures["warm"].append(timed_call(client, "bench"))
        finally:
            process.terminate()
            process.wait(20)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    print(f"cold start, OpenWhisk action: {rounds} new revisions, each called cold then warm (ms, p50 / p90)")
    print(f"{'':<12}{'prewarmed':>22}{'new process':>22}{'warm call':>22}")
    for kind in CODE:
        prewarmed = run(1, kind, rounds)
        fresh = run(0, kind, rounds)
        cells = [prewarmed["cold"], fresh["cold"], prewarmed["warm"] + fresh["warm"]]
        row = "".join(f"{_p50_p90(cell):>22}" for cell in cells)
        print(f"{kind:<12}{row}")
        ratio = statistics.median(fresh["cold"]) / statistics.median(prewarmed["cold"])
        print(f"{'':<12}a prewarmed cold start is {ratio:.1f}x faster than a new process")


def _p50_p90(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{statistics.median(ordered):.1f} / {ordered[int(len(ordered) * 0.9)]:.1f}"


if __name__ == "__main__":
    main()
