"""Runtime families that name an image of the function's own, for the docker backend.

The pool keys stem cells and instances by a family string, so a function that brings its own
image says which image in its family (and the pool and the invoker need not know):

- `image:<reference>`: a Lambda container image. Its ENTRYPOINT + CMD is the runtime, run by the
  proxy (in `lambda-custom` mode) against a Runtime API the proxy serves inside the container.
- `image-build:<json>`: the same, from a Dockerfile the backend builds (SAM `Metadata.Dockerfile`).
- `blackbox:<reference>`: an OpenWhisk blackbox image, itself an action container (`/init`, `/run`
  on port 8080).

No docker import here: the fronts use these names on every backend.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

IMAGE = "image:"
IMAGE_BUILD = "image-build:"
BLACKBOX = "blackbox:"


@dataclass(frozen=True)
class ImageSource:
    kind: str  # "lambda" (runs behind the Runtime API) or "blackbox" (speaks /init and /run itself)
    reference: str | None = None  # an image the engine has or can pull
    context: Path | None = None  # or a folder to build ...
    dockerfile: str = "Dockerfile"  # ... with this Dockerfile (relative to the folder)
    digest: str = ""  # the folder's contents: a change makes a new family, hence a new build


def lambda_image(reference: str) -> str:
    return IMAGE + reference


def lambda_build(context: Path, dockerfile: str, digest: str) -> str:
    spec = {"context": str(context), "dockerfile": dockerfile, "digest": digest}
    return IMAGE_BUILD + json.dumps(spec, sort_keys=True, separators=(",", ":"))


def blackbox_image(reference: str) -> str:
    return BLACKBOX + reference


def is_own_image(family: str) -> bool:
    """A family of one function's image: no stem cells are kept for it, as the clouds keep none."""
    return family.startswith((IMAGE, IMAGE_BUILD, BLACKBOX))


def image_source(family: str) -> ImageSource | None:
    """What a family names, or None for a runtime family (python, nodejs)."""
    if family.startswith(IMAGE):
        return ImageSource("lambda", reference=family[len(IMAGE) :])
    if family.startswith(BLACKBOX):
        return ImageSource("blackbox", reference=family[len(BLACKBOX) :])
    if family.startswith(IMAGE_BUILD):
        spec = json.loads(family[len(IMAGE_BUILD) :])
        return ImageSource(
            "lambda", context=Path(spec["context"]), dockerfile=spec["dockerfile"], digest=spec["digest"]
        )
    return None
