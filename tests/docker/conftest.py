"""A Docker engine for the container tests: skipped without one, unless EMU_REQUIRE_DOCKER=1.

Images: EMU_IMAGE_PYTHON / EMU_IMAGE_NODEJS when set; otherwise the images
scripts/offline-images.sh tags, when they are there; otherwise emu's defaults (pulled).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from tests.conftest import RunningEmu, start_emu

OFFLINE_IMAGES = {"EMU_IMAGE_PYTHON": "emu-local/python:3.11", "EMU_IMAGE_NODEJS": "emu-local/nodejs:18"}


@pytest.fixture(scope="session")
def engine() -> Iterator[Any]:
    """A docker SDK client for the engine emu will use."""
    from emulator.backends.docker import DockerUnavailable, connect

    try:
        client = connect(timeout=30)
    except DockerUnavailable as error:
        if os.environ.get("EMU_REQUIRE_DOCKER") == "1":
            pytest.fail(f"EMU_REQUIRE_DOCKER=1 but {error}")
        pytest.skip(f"the docker backend tests need a Docker engine: {error}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def images(engine: Any) -> Iterator[dict[str, str]]:
    """The EMU_IMAGE_* variables every gateway of these tests gets (set in this process's environment)."""
    chosen: dict[str, str] = {}
    for variable, offline in OFFLINE_IMAGES.items():
        if os.environ.get(variable):
            chosen[variable] = os.environ[variable]
            continue
        try:
            engine.images.get(offline)
            chosen[variable] = offline
        except Exception:  # not built here: emu's default image, pulled on first use
            pass
    with pytest.MonkeyPatch.context() as patch:
        for variable, image in chosen.items():
            patch.setenv(variable, image)
        yield chosen


@pytest.fixture
def docker_emu(images: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """Start gateways on the docker backend; every one is stopped at the end."""
    started: list[RunningEmu] = []

    def factory(project: Path | None = None, *extra: str, state_dir: Path | None = None) -> RunningEmu:
        running = start_emu(
            project, state_dir or tmp_path / "state", "--no-reload", "--backend", "docker", *extra
        )
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()


def containers_of(engine: Any, state_dir: Path) -> list[Any]:
    """The containers emu started for the gateway(s) with this state dir."""
    found = []
    for sparse in engine.containers.list(
        all=True, sparse=True, filters={"label": ["emu", f"emu.state={state_dir.resolve()}"]}
    ):
        with contextlib.suppress(docker.errors.NotFound):  # removed since it was listed
            found.append(engine.containers.get(sparse.id))
    return found


IMAGES_DIR = Path(__file__).resolve().parent / "images"
TEST_IMAGES = {
    "lambda": "emu-test/lambda-image:latest",
    "blackbox": "emu-test/blackbox:latest",
    "no-python": "emu-test/no-python:latest",
}


@pytest.fixture(scope="session")
def test_images(
    engine: Any, images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Images of the tests' own, built FROM the python runtime image (no registry needed):
    a Lambda container image, a blackbox action image and an image without python3."""
    base = images.get("EMU_IMAGE_PYTHON") or "python:3.12-slim"
    engine.images.build(
        path=str(IMAGES_DIR / "lambda"), tag=TEST_IMAGES["lambda"], buildargs={"BASE": base}, rm=True
    )
    engine.images.build(
        path=str(IMAGES_DIR / "blackbox"), tag=TEST_IMAGES["blackbox"], buildargs={"BASE": base}, rm=True
    )
    folder = tmp_path_factory.mktemp("no-python")
    (folder / "Dockerfile").write_text(
        f"FROM {TEST_IMAGES['lambda']}\nRUN rm -f /usr/bin/python3* /usr/local/bin/python3*\n"
    )
    engine.images.build(path=str(folder), tag=TEST_IMAGES["no-python"], rm=True)
    yield TEST_IMAGES
    for tag in reversed(TEST_IMAGES.values()):
        with contextlib.suppress(docker.errors.DockerException):
            engine.images.remove(tag, force=True)
