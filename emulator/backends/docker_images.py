"""Images for the docker backend: present already, pulled with progress, or built from a Dockerfile.

Every call here blocks on the engine; the backend runs them in a thread. Pulls and builds show as
console tasks (`emulator.progress`): a pull's bytes summed over its layers, a build's step N/M.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import docker.errors

from emulator.backends.base import InstanceStartError
from emulator.progress import Task, tasks_for

BUILD_LOG_TAIL = 2000  # characters of build output kept for an error message
STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)")


class ImageUnavailable(InstanceStartError):
    """An image is neither on the engine nor could be pulled or built."""


def ensure_image(client: docker.DockerClient, image: str, say: Callable[[str], None]) -> None:
    """Make sure `image` is on the engine, pulling it (with progress on the console) if not."""
    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError as error:
        raise ImageUnavailable(f"cannot look up the image '{image}': {error.explanation or error}") from None
    repository, tag = split_reference(image)
    with tasks_for(say)(f"Pulling {image}", unit="B") as task:
        try:
            _pull(client, repository, tag, image, task)
        except (docker.errors.APIError, docker.errors.DockerException, OSError) as error:
            raise ImageUnavailable(missing_image_message(image, str(error))) from None
        task.finish(True, f"Pulled {image}")


def missing_image_message(image: str, reason: str) -> str:
    return (
        f"the image '{image}' is not on the Docker engine and pulling it failed: {reason.strip()}. "
        f"Provide it with `docker pull {image}` (or `docker tag` an image you have to that name), "
        "or choose another with EMU_IMAGE_PYTHON / EMU_IMAGE_NODEJS; "
        "scripts/offline-images.sh builds local images without a registry."
    )


def _pull(client: docker.DockerClient, repository: str, tag: str, image: str, task: Task) -> None:
    progress = PullProgress(task)
    for event in client.api.pull(repository, tag=tag, stream=True, decode=True):
        if "error" in event:
            raise docker.errors.APIError(event["error"])
        progress.event(event)
    client.images.get(image)  # raises ImageNotFound when the stream ended without the image


class PullProgress:
    """The engine reports a pull per layer; the task shows the bytes of all layers together.

    A layer's size is known once it starts downloading, so the total grows at first, as the
    docker CLI's own display does.
    """

    DONE = ("Download complete", "Pull complete", "Already exists")

    def __init__(self, task: Task) -> None:
        self.task = task
        self.layers: dict[str, tuple[int, int]] = {}  # id -> (bytes downloaded, size); size 0 = unknown
        self.done: set[str] = set()

    def event(self, event: dict[str, Any]) -> None:
        layer, status = event.get("id"), str(event.get("status") or "")
        if not layer or status not in ("Pulling fs layer", "Downloading", *self.DONE):
            return  # "Pulling from library/python", "Waiting", "Extracting": nothing to add up
        current, size = self.layers.get(layer, (0, 0))
        detail = event.get("progressDetail") or {}
        if status == "Downloading" and detail.get("total"):
            current, size = int(detail.get("current") or 0), int(detail["total"])
        elif status in self.DONE:
            current = size
            self.done.add(layer)
        self.layers[layer] = (current, size)
        self.task.update(
            sum(c for c, _ in self.layers.values()),
            sum(s for _, s in self.layers.values()),
            f"{len(self.done)}/{len(self.layers)} layers",
        )


def split_reference(image: str) -> tuple[str, str]:
    """('repo', 'tag') of an image reference; a digest stays with the repository."""
    if "@" in image:
        return image, ""
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag, or the colon was a registry port
        return image, "latest"
    return name, tag


def build_image(
    client: docker.DockerClient,
    workdir: Path,
    key: str,
    say: Callable[[str], None],
    dockerfile: str = "Dockerfile",
) -> str:
    """Build `workdir`'s Dockerfile (or `dockerfile`, relative to it) into a local tag named after
    `key`; returns the tag."""
    if not (workdir / dockerfile).is_file():
        raise ImageUnavailable(f"{key}: no image given and no {dockerfile} in {workdir}")
    tag = "emu-build/" + re.sub(r"[^a-z0-9_.-]+", "-", key.lower()).strip("-.") + ":latest"
    with tasks_for(say)(f"Building {tag} from {workdir / dockerfile}", unit="steps") as task:
        log = ""
        try:
            # The low-level stream, not `images.build`, which returns only once the build is over.
            for event in client.api.build(
                path=str(workdir), dockerfile=dockerfile, tag=tag, rm=True, forcerm=True, decode=True
            ):
                text = str(event.get("stream") or event.get("error") or "")
                log = (log + text)[-BUILD_LOG_TAIL:]
                if "error" in event:
                    raise ImageUnavailable(
                        f"{key}: building {workdir / dockerfile} failed: {str(event['error']).strip()}\n{log}"
                    )
                step = STEP.match(text)
                if step:
                    task.update(int(step[1]), int(step[2]), step[3].strip())
            client.images.get(tag)  # raises ImageNotFound when the stream ended without the image
        except docker.errors.APIError as error:
            raise ImageUnavailable(
                f"{key}: building {workdir / dockerfile} failed: {error.explanation or error}"
            ) from None
        task.finish(True, f"Built {tag}")
    return tag
