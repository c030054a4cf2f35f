"""OpenWhisk blackbox (Docker image) actions on the docker backend: the image is the action
container and speaks the action interface itself (`/init`, `/run` on port 8080)."""

from __future__ import annotations

from typing import Any

from tests.conftest import invoke, poll_activation
from tests.docker.conftest import containers_of

ADD = "def main(args):\n    return {'sum': args.get('a', 0) + args.get('b', 0)}\n"


def _put_blackbox(ow: Any, name: str, **exec_: Any) -> Any:
    return ow.put(f"/api/v1/namespaces/_/actions/{name}", json={"exec": {"kind": "blackbox", **exec_}})


def test_a_blackbox_image_runs_as_the_action_container(
    engine: Any, docker_emu: Any, test_images: dict[str, str]
) -> None:
    emu = docker_emu()
    with emu.openwhisk() as ow:
        created = _put_blackbox(ow, "echo", image=test_images["blackbox"])
        assert created.status_code == 200, created.text
        assert created.json()["exec"] == {
            "kind": "blackbox",
            "image": test_images["blackbox"],
            "binary": False,
        }

        reply = invoke(ow, "echo", {"x": 1}, "blocking=true")
        assert reply.status_code == 200, reply.text
        activation = reply.json()
        assert activation["response"]["result"]["echo"] == {"x": 1}
        assert activation["response"]["result"]["api_host"].startswith("http://")
        logs = poll_activation(ow, activation["activationId"])["logs"]
        assert any(line.endswith("stdout: running in the blackbox") for line in logs), logs
        (container,) = [c for c in containers_of(engine, emu.state_dir) if "echo" in c.name]
        assert container.image.tags == [test_images["blackbox"]]
        # Warm: the same container answers the next call.
        again = invoke(ow, "echo", {"x": 2}, "blocking=true&result=true")
        assert again.json()["echo"] == {"x": 2}
        assert [c.id for c in containers_of(engine, emu.state_dir) if "echo" in c.name] == [container.id]

        # With code: /init hands it to the image, as the dockerskeleton contract has it.
        assert _put_blackbox(ow, "add", image=test_images["blackbox"], code=ADD).status_code == 200
        assert invoke(ow, "add", {"a": 2, "b": 3}, "blocking=true&result=true").json() == {"sum": 5}


def test_a_blackbox_image_that_cannot_be_pulled(docker_emu: Any, images: dict[str, str]) -> None:
    emu = docker_emu()  # its registry is a closed port here: the pull fails without leaving the machine
    with emu.openwhisk() as ow:
        assert _put_blackbox(ow, "ghost", image="127.0.0.1:1/emu-test/no-such-image:0").status_code == 200
        reply = invoke(ow, "ghost", {}, "blocking=true")
        assert reply.status_code == 500, reply.text
        assert reply.json()["response"]["status"] == "whisk internal error"
        logs = poll_activation(ow, reply.json()["activationId"])["logs"]
        assert "the image '127.0.0.1:1/emu-test/no-such-image:0' is not on the Docker engine" in " ".join(
            logs
        ), logs


def test_the_process_backend_refuses_blackbox_actions(emu_factory: Any) -> None:
    emu = emu_factory(None, "--backend", "process")
    with emu.openwhisk() as ow:
        reply = _put_blackbox(ow, "box", image="me/image:1")
    assert reply.status_code == 400
    assert "need the docker backend" in reply.json()["error"]
