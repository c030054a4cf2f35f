"""The soak benchmark in short: 2,000 calls over every front at 64 clients, with instances killed
under them. Every call is answered; the only errors are the ones the kills explain."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_short_soak_answers_every_call() -> None:
    options = ["--calls", "2000", "--kill-every", "100", "--warmup", "300", "--json"]
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), *options],
        capture_output=True,
        text=True,
        timeout=110,
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["calls_made"] == report["calls_answered"] == 2000, report
    assert report["unexpected_errors"] == 0, report["outcomes"]
    assert report["instance_kills"] >= 10, report
    assert report["injected_errors"] <= report["instance_kills"], report
    assert report["gateway_exit"] == 0
    assert completed.returncode == 0, completed.stderr
