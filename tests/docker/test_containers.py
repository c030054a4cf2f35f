"""Containers as the docker backend runs them: limits, isolation, out of memory, kills, clean-up."""

from __future__ import annotations

import json
import signal
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.aws_lambda.conftest import create, lambda_client
from tests.conftest import invoke, put_action
from tests.docker.conftest import containers_of

MB = 1024 * 1024
PROBE = textwrap.dedent(
    """
    import os
    def writable(folder):
        try:
            with open(os.path.join(folder, "probe"), "w") as file:
                file.write("x")
            return True
        except OSError:
            return False
    def main(args):
        return {"root": writable("/"), "tmp": writable("/tmp"), "user": os.getuid()}
    """
)
HOG = "def main(args):\n    hog = bytearray(400 * 1024 * 1024)\n    return {'size': len(hog)}\n"


def _function_container(engine: Any, state_dir: Path, part: str) -> Any:
    named = [c for c in containers_of(engine, state_dir) if part in c.name]
    assert len(named) == 1, [c.name for c in containers_of(engine, state_dir)]
    return named[0]


def test_limits_labels_and_ports(engine: Any, docker_emu: Any) -> None:
    emu = docker_emu()
    with emu.openwhisk() as ow:
        put_action(ow, "probe", PROBE, limits={"memory": 128})
        reply = invoke(ow, "probe", {}, "blocking=true&result=true")
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"root": False, "tmp": True, "user": 0}
    container = _function_container(engine, emu.state_dir, "guest-probe")
    host = container.attrs["HostConfig"]
    assert host["Memory"] == 128 * MB
    assert host["MemorySwap"] == 128 * MB  # no swap: past the limit the function is killed
    assert host["PidsLimit"] == 1024
    assert host["CpuShares"] == round(1024 * 128 / 1769)
    assert host["ReadonlyRootfs"] is True
    assert "/tmp" in host["Tmpfs"]
    assert {b["HostIp"] for b in host["PortBindings"]["8080/tcp"]} == {"127.0.0.1"}
    labels = container.labels
    assert labels["emu"] == "instance"
    assert labels["emu.state"] == str(emu.state_dir.resolve())
    assert labels["emu.family"] == "python"
    assert len(labels["emu.gateway"]) == 8
    mounts = {m["Destination"]: m for m in container.attrs["Mounts"]}
    assert all(not m["RW"] for m in mounts.values()), mounts
    assert "/var/run/docker.sock" not in mounts


def test_function_sees_its_code_read_only_and_not_the_state_dir(
    engine: Any, docker_emu: Any, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "template.yaml").write_text(
        textwrap.dedent(
            """
            AWSTemplateFormatVersion: '2010-09-09'
            Transform: AWS::Serverless-2016-10-31
            Resources:
              Look:
                Type: AWS::Serverless::Function
                Properties: {CodeUri: ., Handler: src/app.handler, Runtime: python3.12, MemorySize: 256}
            """
        )
    )
    (project / "src" / "app.py").write_text(
        textwrap.dedent(
            """
            import os
            def handler(event, context):
                try:
                    open("/var/task/new-file", "w")
                    writable = True
                except OSError:
                    writable = False
                return {"cwd": os.getcwd(), "root": os.environ["LAMBDA_TASK_ROOT"],
                        "files": sorted(os.listdir("/var/task")), "writable": writable,
                        "memory": context.memory_limit_in_mb}
            """
        )
    )
    emu = docker_emu(project, state_dir=project / ".emu")  # the state dir inside the code folder
    reply = lambda_client(emu).invoke(FunctionName="Look")
    body = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, body
    assert body == {
        "cwd": "/var/task",
        "root": "/var/task",
        "files": ["src", "template.yaml"],
        "writable": False,
        "memory": "256",
    }


def test_out_of_memory_in_lambda_then_the_function_goes_on(engine: Any, docker_emu: Any) -> None:
    client = lambda_client(docker_emu())
    code = "def handler(event, context):\n    if event.get('hog'):\n        hog = bytearray(400 * 1024 * 1024)\n    return 'fine'\n"
    create(client, "hog", {"app.py": code}, MemorySize=128)
    reply = client.invoke(FunctionName="hog", Payload=json.dumps({"hog": True}))
    assert reply["StatusCode"] == 200
    assert reply["FunctionError"] == "Unhandled"
    body = json.loads(reply["Payload"].read())
    assert body["errorType"] == "Runtime.OutOfMemory"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    again = client.invoke(FunctionName="hog", Payload=b"{}")
    assert json.loads(again["Payload"].read()) == "fine"


def test_out_of_memory_in_openwhisk(engine: Any, docker_emu: Any) -> None:
    emu = docker_emu()
    with emu.openwhisk() as ow:
        put_action(ow, "hog", HOG, limits={"memory": 128})
        reply = invoke(ow, "hog")
        assert reply.status_code == 502, reply.text
        response = reply.json()["response"]
        assert response["status"] == "action developer error"
        assert response["result"] == {"error": "The action exhausted its memory and was aborted."}
        put_action(ow, "fine", "def main(args):\n    return {'ok': True}\n", limits={"memory": 128})
        assert invoke(ow, "fine", {}, "blocking=true&result=true").json() == {"ok": True}


def test_a_container_killed_from_outside_is_replaced(engine: Any, docker_emu: Any) -> None:
    emu = docker_emu()
    with emu.openwhisk() as ow:
        put_action(ow, "victim", "def main(args):\n    return {'ok': True}\n")
        assert invoke(ow, "victim", {}, "blocking=true&result=true").json() == {"ok": True}
        container = _function_container(engine, emu.state_dir, "guest-victim")
        container.kill()
        container.wait(timeout=10)
        reply = invoke(ow, "victim")
        assert reply.status_code == 200, reply.text
        record = reply.json()
        assert record["response"]["result"] == {"ok": True}
        assert any(a["key"] == "initTime" for a in record["annotations"])  # a new instance: a cold start


def test_leftovers_of_a_crashed_run_are_removed_at_start(
    engine: Any, docker_emu: Any, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    crashed = docker_emu(state_dir=state)
    with crashed.openwhisk() as ow:
        put_action(ow, "left", "def main(args):\n    return {}\n")
        assert invoke(ow, "left").status_code == 200
    crashed.stop(signal.SIGKILL)
    left = {c.id for c in containers_of(engine, state)}
    assert left  # the stem cell and the action's instance outlived the gateway
    docker_emu(state_dir=state)
    assert not left & {c.id for c in containers_of(engine, state)}


def test_nothing_is_left_after_stop(engine: Any, docker_emu: Any) -> None:
    emu = docker_emu()
    with emu.openwhisk() as ow:
        put_action(ow, "py", "def main(args):\n    return {}\n")
        put_action(ow, "js", "function main(args) { return {} }", kind="nodejs:20")
        assert invoke(ow, "py").status_code == 200
        assert invoke(ow, "js").status_code == 200
    assert containers_of(engine, emu.state_dir)
    assert emu.stop() == 0
    assert containers_of(engine, emu.state_dir) == []
    assert not (emu.state_dir / "containers").exists()


def test_a_missing_image_is_named_with_how_to_provide_it(
    engine: Any, docker_emu: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("EMU_IMAGE_PYTHON", "emu-missing/python:0")
    emu = docker_emu()
    with emu.openwhisk() as ow:
        put_action(ow, "nope", "def main(args):\n    return {}\n")
        reply = invoke(ow, "nope")
        assert reply.status_code == 500, reply.text  # the platform failed, not the action
        assert reply.json()["response"]["status"] == "whisk internal error"
        logs = ow.get(f"/api/v1/namespaces/_/activations/{reply.json()['activationId']}/logs").json()["logs"]
    text = "\n".join(logs)
    assert "the image 'emu-missing/python:0' is not on the Docker engine and pulling it failed" in text
    assert "docker pull emu-missing/python:0" in text


def test_auto_takes_the_engine_that_answers(
    engine: Any, images: dict[str, str], emu_factory: Any, tmp_path: Path
) -> None:
    emu = emu_factory(None, "--no-reload", "--backend", "auto", state_dir=tmp_path / "auto")
    assert "backend: docker" in emu.console()
    emu.stop()
    no_engine = f"unix://{tmp_path}/no-engine.sock"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", no_engine)
        emu = emu_factory(None, "--no-reload", "--backend", "auto", state_dir=tmp_path / "fallback")
    assert "backend: process" in emu.console()
