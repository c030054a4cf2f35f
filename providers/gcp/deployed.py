"""What is deployed from emu.yaml: each function and service with its current revision.

A revision changes whenever the entry in emu.yaml or a file in the source folder does; a new
revision is served by new instances (the old ones finish their requests and stop), and its
`K_REVISION` is `NAME-0000N-xyz`, as Cloud Run names revisions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

from emulator.backends.base import ServerSpec
from emulator.discovery import folder_fingerprint
from emulator.pool import ServerWorkload
from providers.gcp.manifest import CloudFunction, CloudRunService


def declaration_digest(declared: CloudFunction | CloudRunService) -> str:
    fields = {key: str(value) for key, value in dataclasses.asdict(declared).items()}
    text = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    return hashlib.sha256(f"{text}\n{folder_fingerprint(declared.source)}".encode()).hexdigest()


def revision_name(name: str, generation: int, digest: str) -> str:
    """`hello-00003-kav`: the service, the generation, three letters, as Cloud Run names them."""
    letters = "".join(chr(ord("a") + int(digest[i : i + 2], 16) % 26) for i in range(0, 6, 2))
    return f"{name.lower().replace('_', '-')}-{generation:05d}-{letters}"


@dataclass
class DeployedFunction:
    declared: CloudFunction
    digest: str
    generation: int
    workload: ServerWorkload | None = None  # built on first use: it needs the installed dependencies
    problem: str | None = None  # why it cannot run (no Functions Framework), said on each call
    ready: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def key(self) -> str:
        return f"gcp:function:{self.declared.name}"

    @property
    def revision(self) -> str:
        return revision_name(self.declared.name, self.generation, self.digest)

    def doc(self) -> dict[str, Any]:
        declared = self.declared
        return {
            "name": declared.name,
            "runtime": declared.runtime,
            "entryPoint": declared.entry_point,
            "source": str(declared.source),
            "signatureType": declared.signature_type,
            "environment": declared.environment,
            "timeout": declared.timeout_s,
            "maxInstances": declared.max_instances,
            "concurrency": declared.concurrency,
            "revision": self.revision,
            "digest": self.digest,
            "generation": self.generation,
        }


@dataclass
class DeployedService:
    declared: CloudRunService
    digest: str
    generation: int
    port: int = 0  # the listener serving its URL, kept across reloads and restarts when free

    @property
    def key(self) -> str:
        return f"gcp:service:{self.declared.name}"

    @property
    def revision(self) -> str:
        return revision_name(self.declared.name, self.generation, self.digest)

    def workload(self, max_queued: int) -> ServerWorkload:
        declared = self.declared
        env = {
            **declared.environment,
            "K_SERVICE": declared.name,
            "K_REVISION": self.revision,
            "K_CONFIGURATION": declared.name,
        }
        spec = ServerSpec(
            key=f"service '{declared.name}'",
            command=list(declared.command) if declared.command else None,
            image=declared.image,
            workdir=declared.source,
            env=env,
            port=declared.port,
            ready_timeout_s=declared.startup_timeout_s,
        )
        return ServerWorkload(
            key=self.key,
            revision=self.revision,
            spec=spec,
            concurrency=declared.concurrency,
            max_instances=declared.max_instances,
            max_queued=max_queued,
        )

    def doc(self) -> dict[str, Any]:
        declared = self.declared
        return {
            "name": declared.name,
            "image": declared.image,
            "command": list(declared.command) if declared.command else None,
            "source": str(declared.source),
            "port": declared.port,
            "environment": declared.environment,
            "concurrency": declared.concurrency,
            "maxInstances": declared.max_instances,
            "timeout": declared.timeout_s,
            "startupTimeout": declared.startup_timeout_s,
            "revision": self.revision,
            "digest": self.digest,
            "generation": self.generation,
            "listenPort": self.port,
        }
