"""State across restarts of `emu up` on the same --state-dir: entities, activations, accepted calls."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from tests.conftest import invoke, poll_activation, put_action, put_package

ACTIONS = "/api/v1/namespaces/_/actions"
SLEEPY = "import time\ndef main(args):\n    time.sleep(2)\n    return {'woke': args['n']}\n"


def test_entities_and_activations_survive_a_restart(emu_factory: Any, tmp_path: Path) -> None:
    state = tmp_path / "kept"
    first = emu_factory(None, "--no-reload", state_dir=state)
    with first.openwhisk() as ow:
        put_package(ow, "kept", parameters=[{"key": "p", "value": "pkg"}])
        put_action(ow, "kept/act", "def main(args):\n    return {'p': args['p'], 'n': args.get('n')}\n")
        record = invoke(ow, "kept/act", {"n": 1}).json()
        logs_before = ow.get(f"/api/v1/namespaces/_/activations/{record['activationId']}").json()
    assert first.stop() == 0

    second = emu_factory(None, "--no-reload", state_dir=state)
    with second.openwhisk() as ow:
        action = ow.get(f"{ACTIONS}/kept/act").json()
        assert action["namespace"] == "guest/kept"
        assert action["version"] == "0.0.1"
        assert ow.get("/api/v1/namespaces/_/packages/kept").json()["parameters"] == [
            {"key": "p", "value": "pkg"}
        ]
        stored = ow.get(f"/api/v1/namespaces/_/activations/{record['activationId']}").json()
        assert stored == logs_before
        assert stored["response"]["result"] == {"p": "pkg", "n": 1}
        again = invoke(ow, "kept/act", {"n": 2}, "blocking=true&result=true")
        assert again.json() == {"p": "pkg", "n": 2}
        names = [
            item["activationId"] for item in ow.get("/api/v1/namespaces/_/activations?name=kept/act").json()
        ]
        assert len(names) == 2 and record["activationId"] in names


def test_an_accepted_call_runs_after_the_gateway_is_killed(emu_factory: Any, tmp_path: Path) -> None:
    state = tmp_path / "killed"
    first = emu_factory(None, "--no-reload", state_dir=state)
    with first.openwhisk() as ow:
        put_action(ow, "sleepy", SLEEPY)
        reply = invoke(ow, "sleepy", {"n": 7}, query="")
        assert reply.status_code == 202
        activation_id = reply.json()["activationId"]
    first.stop(signal.SIGKILL)  # mid-run: the action sleeps 2 s

    second = emu_factory(None, "--no-reload", state_dir=state)
    with second.openwhisk() as ow:
        record = poll_activation(ow, activation_id, timeout=20)
        assert record["response"]["result"] == {"woke": 7}
        assert record["activationId"] == activation_id
        # Run once: a further restart does not run it again.
    second.stop()
    third = emu_factory(None, "--no-reload", state_dir=state)
    with third.openwhisk() as ow:
        listed = ow.get("/api/v1/namespaces/_/activations?name=sleepy").json()
        assert [item["activationId"] for item in listed] == [activation_id]
