"""Images for the docker backend: present already, pulled with progress, or built from a Dockerfile.

Every call here blocks on the engine; the backend runs them in a thread.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors

from emulator.backends.base import InstanceStartError

PROGRESS_EVERY_S = 1.0


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
    say(f"Pulling {image} ...")
    try:
        _pull(client, repository, tag, image, say)
    except (docker.errors.APIError, docker.errors.DockerException, OSError) as error:
        raise ImageUnavailable(missing_image_message(image, str(error))) from None
    say(f"Pulled {image}")


def missing_image_message(image: str, reason: str) -> str:
    return (
        f"the image '{image}' is not on the Docker engine and pulling it failed: {reason.strip()}. "
        f"Provide it with `docker pull {image}` (or `docker tag` an image you have to that name), "
        "or choose another with EMU_IMAGE_PYTHON / EMU_IMAGE_NODEJS; "
        "scripts/offline-images.sh builds local images without a registry."
    )


def _pull(
    client: docker.DockerClient, repository: str, tag: str, image: str, say: Callable[[str], None]
) -> None:
    layers: dict[str, tuple[int, int]] = {}
    last = time.monotonic()
    for event in client.api.pull(repository, tag=tag, stream=True, decode=True):
        if "error" in event:
            raise docker.errors.APIError(event["error"])
        detail = event.get("progressDetail") or {}
        if event.get("status") == "Downloading" and detail.get("total"):
            layers[event.get("id", "")] = (detail.get("current", 0), detail["total"])
        if time.monotonic() - last >= PROGRESS_EVERY_S and layers:
            last = time.monotonic()
            done = sum(current for current, _ in layers.values())
            total = sum(size for _, size in layers.values())
            say(f"  {image}: {progress_bar(done, total)} {done / 1e6:.1f}/{total / 1e6:.1f} MB")
    client.images.get(image)  # raises ImageNotFound when the stream ended without the image


def progress_bar(done: int, total: int, width: int = 30) -> str:
    filled = min(width, int(width * done / total)) if total else 0
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def split_reference(image: str) -> tuple[str, str]:
    """('repo', 'tag') of an image reference; a digest stays with the repository."""
    if "@" in image:
        return image, ""
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag, or the colon was a registry port
        return image, "latest"
    return name, tag


def build_image(client: docker.DockerClient, workdir: Path, key: str, say: Callable[[str], None]) -> str:
    """Build `workdir`'s Dockerfile into a local tag named after `key`; returns the tag."""
    if not (workdir / "Dockerfile").is_file():
        raise ImageUnavailable(f"{key}: no image given and no Dockerfile in {workdir}")
    tag = "emu-build/" + re.sub(r"[^a-z0-9_.-]+", "-", key.lower()).strip("-.") + ":latest"
    say(f"Building {tag} from {workdir / 'Dockerfile'} ...")
    try:
        client.images.build(path=str(workdir), tag=tag, rm=True, forcerm=True)
    except docker.errors.BuildError as error:
        tail = "".join(str(item.get("stream") or item.get("error") or "") for item in error.build_log)[-2000:]
        raise ImageUnavailable(
            f"{key}: building {workdir / 'Dockerfile'} failed: {error.msg}\n{tail}"
        ) from None
    except docker.errors.APIError as error:
        raise ImageUnavailable(
            f"{key}: building {workdir / 'Dockerfile'} failed: {error.explanation or error}"
        ) from None
    return tag
