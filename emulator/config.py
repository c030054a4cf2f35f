"""One settings object for the whole gateway, filled from `emu up` flags and EMU_* variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

BACKENDS = ("auto", "process", "docker")
# The docker backend's image per runtime family: the public slim images, unless EMU_IMAGE_<FAMILY> names another.
DEFAULT_IMAGES = {"python": "python:3.12-slim", "nodejs": "node:20-slim"}


def _images() -> dict[str, str]:
    return {
        family: os.environ.get(f"EMU_IMAGE_{family.upper()}") or image
        for family, image in DEFAULT_IMAGES.items()
    }


@dataclass
class Settings:
    project: Path | None = None
    host: str = "127.0.0.1"
    openwhisk_port: int = 3233
    lambda_port: int = 3001
    apigateway_port: int = 3000
    azure_port: int = 7071
    gcp_port: int = 8080
    admin_port: int = 3100
    backend: str = "auto"
    state_dir: Path = field(default_factory=lambda: Path(".emu"))
    reload: bool = True
    # Where requirements.txt / package.json installs are cached; None: EMU_DEPS_CACHE or ~/.cache/emu/deps.
    deps_cache: Path | None = None
    # Docker backend: the image per runtime family, the memory (MB) of an instance whose function
    # sets none (and of stem cells until /init), and a network to reach instances on by address
    # instead of through ports published on 127.0.0.1 (when emu itself runs in a container).
    images: dict[str, str] = field(default_factory=_images)
    docker_memory_mb: int = 256
    docker_network: str | None = field(default_factory=lambda: os.environ.get("EMU_DOCKER_NETWORK") or None)
    # Warm instances idle longer than this are stopped (OpenWhisk keeps them 10 minutes).
    idle_timeout_s: float = 600.0
    # Uninitialised "stem cell" instances kept ready per runtime family.
    prewarm_per_family: int = 1
    # Instances one function may run at once; calls beyond wait in a queue of `max_queued`.
    max_instances_per_function: int = 8
    max_queued_per_function: int = 64
    # What the console prints: "text" for people, "json" (one object per line) for machines.
    log_format: str = "text"
    # Azure: check function keys as `func start --enableAuth` does (Core Tools checks none).
    azure_enable_auth: bool = False

    def ports(self) -> dict[str, int]:
        return {
            "openwhisk": self.openwhisk_port,
            "lambda": self.lambda_port,
            "apigateway": self.apigateway_port,
            "azure": self.azure_port,
            "gcp": self.gcp_port,
            "admin": self.admin_port,
        }

    def base_url(self, provider: str) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.ports()[provider]}"
