"""State across restarts of `emu up` on the same --state-dir: entities, activations, accepted calls."""

from __future__ import annotations

import json
import signal
import sqlite3
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


def test_a_sequence_cycle_already_in_the_store_ends(emu_factory: Any, tmp_path: Path) -> None:
    state = tmp_path / "cycle"
    first = emu_factory(None, "--no-reload", state_dir=state)
    with first.openwhisk() as ow:
        put_action(ow, "step", "def main(args):\n    return args\n")
        for name, component in (("loop-a", "/_/step"), ("loop-b", "/_/loop-a")):
            body = {"exec": {"kind": "sequence", "components": [component]}}
            assert ow.put(f"{ACTIONS}/{name}", json=body).status_code == 200
    first.stop()
    # A cycle the API refuses, as a state dir from elsewhere could hold it.
    with sqlite3.connect(state / "emu.db") as db:
        (doc,) = db.execute("SELECT doc FROM entities WHERE path = 'loop-a'").fetchone()
        action = json.loads(doc)
        action["exec"]["components"] = ["/guest/loop-b"]
        db.execute("UPDATE entities SET doc = ? WHERE path = 'loop-a'", (json.dumps(action),))

    second = emu_factory(None, "--no-reload", state_dir=state)
    with second.openwhisk() as ow:
        reply = invoke(ow, "loop-a", {"n": 1})
        assert reply.status_code == 502, reply.text
        assert reply.json()["response"]["result"] == {"error": "Too many actions in the sequence."}
        assert invoke(ow, "step", {"n": 2}, "blocking=true&result=true").json() == {"n": 2}


def test_an_accepted_call_that_cannot_run_is_answered_and_dropped(emu_factory: Any, tmp_path: Path) -> None:
    state = tmp_path / "broken"
    first = emu_factory(None, "--no-reload", state_dir=state)
    with first.openwhisk() as ow:
        put_action(ow, "hello", "def main(args):\n    return {'hi': 1}\n")
    first.stop()
    broken = {"namespace": "guest", "path": "hello", "payload": {}}  # no `received`: the run raises
    gone = {"namespace": "guest", "path": "gone", "payload": {}, "received": 1}
    with sqlite3.connect(state / "emu.db") as db:
        for invocation_id, request in (("a" * 32, broken), ("b" * 32, gone)):
            db.execute(
                "INSERT INTO pending_invocations VALUES (?, 'openwhisk', ?, 1)",
                (invocation_id, json.dumps(request)),
            )

    second = emu_factory(None, "--no-reload", state_dir=state)
    with second.openwhisk() as ow:
        for invocation_id, error in (
            ("a" * 32, "The activation could not be run."),
            ("b" * 32, "The requested resource does not exist."),
        ):
            record = poll_activation(ow, invocation_id)
            assert record["response"]["status"] == "whisk internal error"
            assert record["response"]["result"] == {"error": error}
        assert invoke(ow, "hello", {}, "blocking=true&result=true").json() == {"hi": 1}
    assert second.stop() == 0
    assert "accepted activation " + "a" * 32 + " failed" in second.console()
    with sqlite3.connect(state / "emu.db") as db:
        assert db.execute("SELECT COUNT(*) FROM pending_invocations").fetchone() == (0,)
