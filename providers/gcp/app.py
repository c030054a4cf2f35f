"""The Google Cloud front: Cloud Functions on the gcp port, a port of its own for each Cloud Run
service, both declared in emu.yaml files.

Every function and service is a workload that is its own HTTP server (the Functions Framework, or
the service's container or command); requests are forwarded to its instances as they came.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from emulator import __version__
from emulator.deps import DependencyCache
from emulator.events import Events, Invocation
from emulator.fronts import FrontContext
from emulator.pool import ServerPool, ServerWorkload
from emulator.servers import ServerGroup
from emulator.store import Store
from emulator.tasks import BackgroundTasks
from providers.gcp.deployed import DeployedFunction, DeployedService, declaration_digest
from providers.gcp.forward import Forwarded, Forwarder
from providers.gcp.invoke import Answer, InvokeError, cloud_event, one_body
from providers.gcp.manifest import ManifestError, find_manifests, load_manifest
from providers.gcp.runtimes import FrameworkMissing, function_server
from providers.gcp.tap import Tap
from providers.gcp.web import FunctionsApp, ServiceApp

log = logging.getLogger("emu.gcp")
PROVIDER = "gcp"
CLOUD_RUN = "cloudrun"
FUNCTIONS = "functions"  # the store's namespace and collection for Cloud Functions
SERVICES = "services"


class GcpFront:
    name = PROVIDER

    def __init__(self, context: FrontContext) -> None:
        settings = context.settings
        self.settings = settings
        self.base_url = settings.base_url("gcp")
        self.host_url = settings.base_url("admin").rsplit(":", 1)[0]
        self.store: Store = context.store
        self.events: Events = context.events
        self.deps: DependencyCache = context.deps
        self.servers: ServerGroup = context.servers
        self.pool = ServerPool(context.invoker.pool.backend, settings.idle_timeout_s)
        self.forwarder = Forwarder(self.pool)
        self.tasks = BackgroundTasks()
        self.functions_by_name: dict[str, DeployedFunction] = {}
        self.services_by_name: dict[str, DeployedService] = {}
        self._started = False
        self._serving: set[int] = set()  # ports with a service listener

    # -- project discovery ---------------------------------------------------------------------

    def load_project(self, root: Path) -> list[str]:
        """Deploy every function and service of every emu.yaml under `root`; returns problems."""
        problems: list[str] = []
        functions: dict[str, DeployedFunction] = {}
        services: dict[str, DeployedService] = {}
        kept_sources: set[str] = set()  # manifests that failed: what they deployed before stays
        for path in find_manifests(root):
            try:
                manifest = load_manifest(path)
            except ManifestError as error:
                problems.append(str(error))
                kept_sources.add(str(path))
                continue
            for function in manifest.functions:
                if function.name in functions:
                    problems.append(f"{path}: a function named '{function.name}' is also in another emu.yaml")
                    continue
                functions[function.name] = self._deploy_function(function)
            for service in manifest.services:
                if service.name in services:
                    problems.append(f"{path}: a service named '{service.name}' is also in another emu.yaml")
                    continue
                services[service.name] = self._deploy_service(service)
        for name, deployed in self.functions_by_name.items():
            if name not in functions and str(deployed.declared.manifest) in kept_sources:
                functions[name] = deployed
        for name, deployed in self.services_by_name.items():
            if name not in services and str(deployed.declared.manifest) in kept_sources:
                services[name] = deployed
        self._replace(functions, services)
        return problems

    def _deploy_function(self, declared: Any) -> DeployedFunction:
        digest = declaration_digest(declared)
        existing = self.functions_by_name.get(declared.name)
        if existing is not None and existing.digest == digest:
            return existing
        generation = self._next_generation(FUNCTIONS, declared.name, existing)
        deployed = DeployedFunction(declared, digest, generation)
        self.store.put_entity(
            PROVIDER, FUNCTIONS, declared.name, FUNCTIONS, deployed.doc(), str(declared.manifest)
        )
        if self._started:
            self.tasks.spawn(self.prepare(deployed))
        return deployed

    def _deploy_service(self, declared: Any) -> DeployedService:
        digest = declaration_digest(declared)
        existing = self.services_by_name.get(declared.name)
        if existing is not None and existing.digest == digest:
            return existing
        generation = self._next_generation(SERVICES, declared.name, existing)
        deployed = DeployedService(declared, digest, generation)
        stored = self.store.get_entity(PROVIDER, SERVICES, declared.name)
        deployed.port = existing.port if existing else (stored.doc.get("listenPort", 0) if stored else 0)
        self.store.put_entity(
            PROVIDER, SERVICES, declared.name, SERVICES, deployed.doc(), str(declared.manifest)
        )
        return deployed

    def _next_generation(self, namespace: str, name: str, existing: Any) -> int:
        if existing is not None:
            return existing.generation + 1
        stored = self.store.get_entity(PROVIDER, namespace, name)
        return int(stored.doc.get("generation", 0)) + 1 if stored else 1

    def _replace(self, functions: dict[str, DeployedFunction], services: dict[str, DeployedService]) -> None:
        """Make the new set current: retire old revisions, remove what is no longer declared."""
        for name, old in self.functions_by_name.items():
            new = functions.get(name)
            if new is None:
                self.pool.retire(old.key)
                self.store.delete_entity(PROVIDER, FUNCTIONS, name)
            elif new is not old:
                self.pool.retire(old.key, new.revision)
        for name, old in self.services_by_name.items():
            new = services.get(name)
            if new is None:
                self.pool.retire(old.key)
                self.store.delete_entity(PROVIDER, SERVICES, name)
                if old.port in self._serving:
                    self._serving.discard(old.port)
                    self.tasks.spawn(self.servers.stop(old.port))
            elif new is not old:
                self.pool.retire(old.key, new.revision)
        # Entities of earlier runs that no manifest declares any more.
        for namespace, current in ((FUNCTIONS, functions), (SERVICES, services)):
            for entity in self.store.list_entities(PROVIDER, namespace):
                if entity.path not in current:
                    self.store.delete_entity(PROVIDER, namespace, entity.path)
        self.functions_by_name = functions
        self.services_by_name = services
        if self._started:
            self._open_service_ports()

    def families(self) -> set[str]:
        # Functions run under the Functions Framework, not the runtime proxy: no stem cells needed.
        return set()

    def functions(self) -> list[dict[str, Any]]:
        listing: list[dict[str, Any]] = []
        for name, function in sorted(self.functions_by_name.items()):
            listing.append(
                {
                    "provider": PROVIDER,
                    "name": name,
                    "runtime": function.declared.runtime,
                    "url": f"{self.base_url}/{name}",
                    "source": str(function.declared.manifest),
                    "signatureType": function.declared.signature_type,
                    "revision": function.revision,
                    "key": function.key,
                    "target": f"{FUNCTIONS}:{name}",
                    **self._counts(function.key),
                }
            )
        for name, service in sorted(self.services_by_name.items()):
            declared = service.declared
            listing.append(
                {
                    "provider": CLOUD_RUN,
                    "name": name,
                    "runtime": "command"
                    if declared.command
                    else ("image" if declared.image else "dockerfile"),
                    "url": f"{self.host_url}:{service.port}/" if service.port else "",
                    "source": str(declared.manifest),
                    "revision": service.revision,
                    "front": PROVIDER,
                    "key": service.key,
                    "target": f"{SERVICES}:{name}",
                    **self._counts(service.key),
                }
            )
        return listing

    def _counts(self, key: str) -> dict[str, int]:
        """Instance counts for the cockpit, from this front's own pool."""
        running, queued = self.pool.load(key)
        return {"instances": self.pool.instance_count(key), "running": running, "queued": queued}

    def apps(self) -> dict[str, Any]:
        return {"gcp": FunctionsApp(self)}

    async def start(self) -> None:
        self._started = True
        await self.forwarder.start()
        self.pool.start()
        self._open_service_ports()
        for deployed in self.functions_by_name.values():
            self.tasks.spawn(self.prepare(deployed))

    async def close(self) -> None:
        await self.tasks.close()
        await self.pool.close()
        await self.forwarder.close()

    def _open_service_ports(self) -> None:
        for name, service in self.services_by_name.items():
            if service.port in self._serving:
                continue
            wanted = service.port
            service.port = self.servers.open(ServiceApp(self, name), wanted)
            self._serving.add(service.port)
            if service.port != wanted:
                self.store.put_entity(
                    PROVIDER, SERVICES, name, SERVICES, service.doc(), str(service.declared.manifest)
                )

    # -- serving -------------------------------------------------------------------------------

    async def prepare(self, deployed: DeployedFunction) -> ServerWorkload | None:
        """The function's workload, once its dependencies are installed (once per revision)."""
        async with deployed.ready:
            if deployed.workload is not None or deployed.problem is not None:
                return deployed.workload
            declared = deployed.declared
            dependencies = await self.deps.ensure(declared.source, declared.family)
            try:
                spec = function_server(declared, deployed.revision, dependencies)
            except FrameworkMissing as error:
                deployed.problem = str(error)
                log.warning("%s", error)
                return None
            deployed.workload = ServerWorkload(
                key=deployed.key,
                revision=deployed.revision,
                spec=spec,
                concurrency=declared.concurrency,
                max_instances=declared.max_instances or self.settings.max_instances_per_function,
                max_queued=self.settings.max_queued_per_function,
            )
            return deployed.workload

    def record(
        self, provider: str, namespace: str, name: str, call: Forwarded, tap: Tap, path: str
    ) -> Invocation:
        """Store the activation and tell the console and every other listener."""
        logs = [line.text for line in call.logs]
        request, response = tap.request(path), tap.response()
        if call.error:
            response = {**(response or {"status": call.status}), "error": call.error}
        doc = {
            "id": call.id,
            "provider": provider,
            "name": name,
            "status": call.status,
            "outcome": call.outcome,
            "start": call.start_ms,
            "duration": call.duration_ms,
            "cold": call.cold,
            "waitTime": call.wait_ms,
            "request": request,
            "response": response,
            "error": call.error,
            "logs": [f"{line.stamp} {line.stream}: {line.text}" for line in call.logs],
        }
        self.store.put_activation(call.id, PROVIDER, namespace, name, call.start_ms, doc)
        invocation = Invocation(
            provider=provider,
            function=name,
            id=call.id,
            status=call.outcome,
            start_ms=call.start_ms,
            duration_ms=call.duration_ms,
            cold=call.cold,
            wait_ms=call.wait_ms,
            request=request,
            response=response,
            logs=logs,
        )
        self.events.publish(invocation)
        return invocation

    # -- emu invoke ----------------------------------------------------------------------------

    async def invoke(self, name: str, payload: Any) -> Invocation:
        """An HTTP function or a Cloud Run service gets `payload` as a JSON POST (a service at
        `/`); a CloudEvent function gets it as the `data` of a structured CloudEvent."""
        kind, _, bare = name.partition(":")
        if kind == SERVICES and bare in self.services_by_name:
            service = self.services_by_name[bare]
            app: Any = ServiceApp(self, bare)
            host, path = f"{self.host_url}:{service.port}", "/"
            content_type, body = "application/json", json.dumps(payload).encode()
        elif kind == FUNCTIONS and bare in self.functions_by_name:
            function = self.functions_by_name[bare]
            app, host, path = FunctionsApp(self), self.base_url, f"/{bare}"
            if function.declared.signature_type == "cloudevent":
                content_type, body = "application/cloudevents+json", json.dumps(cloud_event(payload)).encode()
            else:
                content_type, body = "application/json", json.dumps(payload).encode()
        else:
            raise InvokeError(404, f"no function or service {name} in the emu.yaml files")
        answer = Answer()
        headers = [
            (b"host", host.split("://", 1)[-1].encode()),
            (b"user-agent", f"emu/{__version__}".encode()),
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 0),
        }
        invocation = await app.serve(scope, one_body(body, answer.done), answer.send)
        if invocation is None:
            raise InvokeError(answer.status, answer.body.decode(errors="replace").strip())
        if invocation.status == "throttled":
            raise InvokeError(429, f"{bare} is busy: every instance is full and so is the queue")
        return invocation
