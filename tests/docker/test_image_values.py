"""How a Lambda container image's ENTRYPOINT, CMD and WORKDIR become the bootstrap, and how the
families that name a function's own image read back (no engine needed)."""

from __future__ import annotations

from pathlib import Path

from emulator.backends.docker import bootstrap_value
from emulator.backends.docker_sources import (
    ImageSource,
    blackbox_image,
    image_source,
    is_own_image,
    lambda_build,
    lambda_image,
)

IMAGE = {"Entrypoint": ["/lambda-entrypoint.sh"], "Cmd": ["app.handler"], "WorkingDir": "/var/task"}


def test_the_image_config_is_the_bootstrap() -> None:
    value = bootstrap_value({"name": "f", "adapter": "lambda-custom", "env": {}}, IMAGE)
    assert value == {
        "name": "f",
        "adapter": "lambda-custom",
        "env": {},
        "path": "/var/task",
        "bootstrap": ["/lambda-entrypoint.sh", "app.handler"],
    }


def test_image_config_overrides_each_part() -> None:
    value = bootstrap_value({"image_config": {"Command": ["app.other"]}}, IMAGE)
    assert (value["bootstrap"], value["path"]) == (["/lambda-entrypoint.sh", "app.other"], "/var/task")
    value = bootstrap_value({"image_config": {"EntryPoint": ["/bin/run"], "WorkingDirectory": "/srv"}}, IMAGE)
    assert (value["bootstrap"], value["path"]) == (["/bin/run", "app.handler"], "/srv")
    assert "image_config" not in value
    # An image without WORKDIR runs in /, as Docker does.
    assert bootstrap_value({}, {"Cmd": ["/bootstrap"]})["path"] == "/"


def test_families_of_own_images() -> None:
    assert image_source(lambda_image("me/fn:1")) == ImageSource("lambda", reference="me/fn:1")
    assert image_source(blackbox_image("me/box:2")) == ImageSource("blackbox", reference="me/box:2")
    built = lambda_build(Path("/projects/fn"), "Dockerfile.lambda", "abc")
    assert image_source(built) == ImageSource(
        "lambda", context=Path("/projects/fn"), dockerfile="Dockerfile.lambda", digest="abc"
    )
    assert image_source("python") is None
    assert all(is_own_image(family) for family in (built, lambda_image("a"), blackbox_image("b")))
    assert not is_own_image("nodejs")
