"""The controller: entities in the store, and activations run through the invoker.

The HTTP fronts (REST API, web actions) parse requests and shape answers; everything they share
about what an action is and how it runs lives here.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from emulator.events import Events, Invocation
from emulator.invoker import Invoker, now_ms
from emulator.model import EncodedJson, FunctionSpec
from emulator.pool import Throttled
from emulator.store import Entity, Store
from emulator.tasks import BackgroundTasks
from providers.openwhisk import activations, entities, kinds
from providers.openwhisk.auth import key_for
from providers.openwhisk.errors import (
    ALREADY_EXISTS,
    NOT_FOUND,
    RESERVED_PARAMS,
    WRONG_COLLECTION,
    OpenWhiskError,
    transaction_id,
)
from providers.openwhisk.http import JsonObject

PROVIDER = "openwhisk"
# How long a blocking invoke waits before answering 202 with the activation id.
MAX_BLOCKING_WAIT_S = 60.0
# How deep sequences may nest when run: a cycle that reached the store still ends.
MAX_SEQUENCE_DEPTH = entities.MAX_SEQUENCE_LENGTH
SEQUENCE_SELF_REFERENCE = "Sequence may not refer to itself."
SEQUENCE_FAILED = "Sequence failed."
SEQUENCE_TOO_LONG = "Too many actions in the sequence."
log = logging.getLogger("emu.openwhisk")


def _string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def parse_component(component: str, namespace: str) -> tuple[str, str]:
    """`/ns/pkg/name`, `/_/name`, `pkg/name` or `name` -> (namespace, path)."""
    if component.startswith("/"):
        parts = component[1:].split("/", 1)
        if len(parts) != 2:
            raise OpenWhiskError(400, "Sequence component does not exist.")
        owner, path = parts
        return (namespace if owner == "_" else owner), path
    return namespace, component


def _qualify(component: str, namespace: str) -> str:
    owner, path = parse_component(component, namespace)
    return f"/{owner}/{path}"


def _qualified_components(body: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The PUT body with sequence components as OpenWhisk stores them: `/ns/[pkg/]name`, `_` resolved."""
    exec_ = body.get("exec")
    if not isinstance(exec_, dict) or not isinstance(exec_.get("components"), list):
        return body
    components = [_qualify(c, namespace) if isinstance(c, str) else c for c in exec_["components"]]
    return {**body, "exec": {**exec_, "components": components}}


@dataclass(frozen=True)
class _Call:
    """One activation about to run: what every kind of action needs to run it."""

    namespace: str
    path: str
    action: dict[str, Any]
    params: dict[str, Any]  # package, action and invoke parameters, merged
    activation_id: str
    received: int
    cause: str | None  # the enclosing sequence's activation id
    depth: int  # how many sequences enclose this activation


def _in_collection(entity: Entity | None, collection: str) -> Entity:
    """`entity`, or OpenWhisk's 404 when there is none and 409 when it is of another collection."""
    if entity is None:
        raise OpenWhiskError(404, NOT_FOUND)
    if entity.collection != collection:
        raise OpenWhiskError(409, WRONG_COLLECTION)
    return entity


def _check_final(action: dict[str, Any], payload: dict[str, Any]) -> None:
    """An action annotated `final` refuses invoke parameters that override its own."""
    defined = {p["key"] for p in action["parameters"] if not p.get("init")}
    if entities.annotation(action, "final") and defined & payload.keys():
        raise OpenWhiskError(400, RESERVED_PARAMS)


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a redeploy changes anything but the version and the update time."""
    ignored = ("version", "updated")
    return {k: v for k, v in old.items() if k not in ignored} == {
        k: v for k, v in new.items() if k not in ignored
    }


class Controller:
    def __init__(self, store: Store, invoker: Invoker, events: Events | None = None) -> None:
        self.store = store
        self.invoker = invoker
        self.events = events or Events()
        self._background = BackgroundTasks()

    # -- entities ------------------------------------------------------------------------------

    def entity(self, namespace: str, path: str) -> Entity | None:
        return self.store.get_entity(PROVIDER, namespace, path)

    def action(self, namespace: str, path: str) -> dict[str, Any]:
        """The action at `path`, following a package binding; 404 when there is none."""
        package, name = entities.split_path(path)
        entity = self.entity(namespace, path)
        if entity is None and package is not None:
            bound = self.entity(namespace, package)
            binding = bound.doc.get("binding") if bound and bound.collection == "packages" else None
            if binding and binding.get("name"):
                owner = binding.get("namespace") or namespace
                entity = self.store.get_entity(PROVIDER, owner, f"{binding['name']}/{name}")
        return _in_collection(entity, "actions").doc

    def put_action(
        self,
        namespace: str,
        path: str,
        body: dict[str, Any],
        *,
        overwrite: bool,
        source: str | None = None,
        keep_unchanged: bool = False,
    ) -> dict[str, Any]:
        """Create or update an action. With `keep_unchanged`, an identical redeploy is a no-op."""
        package, name = entities.split_path(path)
        existing = self._existing(namespace, path, "actions", overwrite)
        if package is not None:
            owner = self.entity(namespace, package)
            if owner is None or owner.collection != "packages":
                raise OpenWhiskError(404, NOT_FOUND)
            if owner.doc.get("binding"):
                raise OpenWhiskError(400, "Cannot create an action in a package binding.")
        label = f"{namespace}/{package}" if package else namespace
        action = entities.build_action(
            label, name, _qualified_components(body, namespace), existing, blackbox=self.runs_images
        )
        if keep_unchanged and existing is not None and _same(existing, action):
            return existing
        if action["exec"]["kind"] == "sequence":
            self._check_components(namespace, path, action["exec"]["components"])
        self.store.put_entity(PROVIDER, namespace, path, "actions", action, source)
        return action

    def _check_components(self, namespace: str, path: str, components: list[str]) -> None:
        for component in components:
            owner, component_path = parse_component(component, namespace)
            if owner == namespace and component_path == path:
                raise OpenWhiskError(400, SEQUENCE_SELF_REFERENCE)
            entity = self.store.get_entity(PROVIDER, owner, component_path)
            if entity is None or entity.collection != "actions":
                raise OpenWhiskError(400, "Sequence component does not exist.")
            if self._reaches(entity.doc, owner, (namespace, path), set()):
                raise OpenWhiskError(400, SEQUENCE_SELF_REFERENCE)

    def _reaches(
        self, action: dict[str, Any], owner: str, target: tuple[str, str], seen: set[tuple[str, str]]
    ) -> bool:
        """Whether the sequence `action` (in `owner`) runs `target`, through nested sequences too."""
        if action["exec"]["kind"] != "sequence":
            return False
        for component in action["exec"]["components"]:
            key = parse_component(component, owner)
            if key == target:
                return True
            if key in seen:
                continue  # a cycle among other sequences: walked once is enough
            seen.add(key)
            entity = self.store.get_entity(PROVIDER, *key)
            if (
                entity is not None
                and entity.collection == "actions"
                and self._reaches(entity.doc, key[0], target, seen)
            ):
                return True
        return False

    def _existing(self, namespace: str, path: str, collection: str, overwrite: bool) -> dict[str, Any] | None:
        entity = self.entity(namespace, path)
        if entity is None:
            return None
        if entity.collection != collection:
            raise OpenWhiskError(409, WRONG_COLLECTION)
        if not overwrite:
            raise OpenWhiskError(409, ALREADY_EXISTS)
        return entity.doc

    def delete_action(self, namespace: str, path: str) -> dict[str, Any]:
        entities.split_path(path)
        entity = _in_collection(self.entity(namespace, path), "actions")
        self.store.delete_entity(PROVIDER, namespace, path)
        self.invoker.pool.retire(self._key(namespace, path))
        return entity.doc

    def list_actions(self, namespace: str, package: str | None = None) -> list[dict[str, Any]]:
        items = self.store.list_entities(PROVIDER, namespace, "actions")
        if package is not None:
            items = [item for item in items if item.path.startswith(package + "/")]
        return [item.doc for item in items]

    def put_package(
        self,
        namespace: str,
        name: str,
        body: dict[str, Any],
        *,
        overwrite: bool,
        source: str | None = None,
        keep_unchanged: bool = False,
    ) -> dict[str, Any]:
        entities.check_name(name)
        existing = self._existing(namespace, name, "packages", overwrite)
        package = entities.build_package(namespace, name, body, existing)
        if keep_unchanged and existing is not None and _same(existing, package):
            return existing
        binding = package["binding"]
        if binding:
            target = self.store.get_entity(
                PROVIDER, binding.get("namespace") or namespace, binding.get("name", "")
            )
            if target is None or target.collection != "packages":
                raise OpenWhiskError(400, "Binding references a package that does not exist.")
            if target.doc.get("binding"):
                raise OpenWhiskError(400, "Cannot bind to another package binding.")
        self.store.put_entity(PROVIDER, namespace, name, "packages", package, source)
        return package

    def package(self, namespace: str, name: str) -> dict[str, Any]:
        entities.check_name(name)
        entity = _in_collection(self.entity(namespace, name), "packages")
        view = dict(entity.doc)
        source = entity.doc.get("binding") or {}
        owner, contents = (
            (source.get("namespace") or namespace, source["name"])
            if source.get("name")
            else (namespace, name)
        )
        view["actions"] = [
            {"name": action["name"], "version": action["version"], "annotations": action["annotations"]}
            for action in self.list_actions(owner, contents)
        ]
        view["feeds"] = []
        return view

    def delete_package(self, namespace: str, name: str, *, force: bool) -> dict[str, Any]:
        package = self.package(namespace, name)
        contents = self.list_actions(namespace, name)
        if contents and not force:
            raise OpenWhiskError(
                409,
                f"Package not empty (contains {len(contents)} entities). "
                "Set force param or delete package contents.",
            )
        for action in contents:
            self.delete_action(namespace, f"{name}/{action['name']}")
        self.store.delete_entity(PROVIDER, namespace, name)
        package.pop("actions", None)
        package.pop("feeds", None)
        return package

    def list_packages(self, namespace: str) -> list[dict[str, Any]]:
        return [item.doc for item in self.store.list_entities(PROVIDER, namespace, "packages")]

    # -- invocation ----------------------------------------------------------------------------

    async def invoke(
        self, namespace: str, path: str, payload: dict[str, Any], *, blocking: bool, wait_s: float
    ) -> tuple[str, dict[str, Any] | None]:
        """Start an activation. Blocking calls wait up to `wait_s` for its record.

        Non-blocking calls are written to the store before they are acknowledged, so a
        restarted gateway runs them if this one could not.
        """
        # 404 and 400 before anything is accepted: a refused call must not be answered 202.
        _check_final(self.action(namespace, path), payload)
        activation_id = activations.new_activation_id()
        received = now_ms()
        if not blocking:
            request = {"namespace": namespace, "path": path, "payload": payload, "received": received}
            self.store.add_pending(activation_id, PROVIDER, request)
            self._background.spawn(self._run_accepted(activation_id, request))
            return activation_id, None
        task = asyncio.ensure_future(
            self.activate(namespace, path, payload, activation_id, received, keep=False)
        )
        # asyncio.wait neither cancels the activation when the wait ends (or the caller goes)
        # nor costs the extra tasks of wait_for(shield(...)).
        try:
            done, _ = await asyncio.wait((task,), timeout=wait_s)
        except asyncio.CancelledError:
            # The HTTP server cancels a call still running past the shutdown grace period. It is
            # answered as a call past its wait is: accepted, and pending, so the next start runs
            # it if this one cannot finish it.
            done = set()
        if done:
            # Kept here rather than in the task: the write and the console line are then queued
            # behind this answer, not ahead of it.
            record = task.result()
            self._keep(namespace, path, record, payload)
            return activation_id, record
        # Past the wait the call is accepted: make sure it finishes even across a restart.
        request = {"namespace": namespace, "path": path, "payload": payload, "received": received}
        self.store.add_pending(activation_id, PROVIDER, request)
        self._background.keep(task)
        task.add_done_callback(lambda _: self._keep_finished(namespace, path, task, payload, pending=True))
        return activation_id, None

    def resume_pending(self) -> int:
        """Run the accepted invocations an earlier gateway did not finish."""
        count = 0
        for activation_id, request in self.store.pending(PROVIDER):
            if self.store.get_activation(PROVIDER, activation_id) is not None:
                self.store.remove_pending(activation_id)
                continue
            self._background.spawn(self._run_accepted(activation_id, request))
            count += 1
        return count

    async def _run_accepted(self, activation_id: str, request: dict[str, Any]) -> None:
        # Cancellation (the gateway stopping) leaves the pending row for the next gateway; any
        # other failure must not, or the call would fail again on every restart.
        try:
            await self._activate_accepted(activation_id, request)
        except OpenWhiskError as error:
            log.warning("accepted activation %s could not run: %s", activation_id, error.message)
            self._record_failure(activation_id, request, error.message)
        except Exception:
            log.exception("accepted activation %s failed", activation_id)
            self._record_failure(activation_id, request, "The activation could not be run.")
        self.store.remove_pending(activation_id)

    async def _activate_accepted(self, activation_id: str, request: dict[str, Any]) -> None:
        delay = 0.05
        while True:
            try:
                await self.activate(
                    request["namespace"],
                    request["path"],
                    request["payload"],
                    activation_id,
                    request["received"],
                )
                return
            except Throttled:
                # An accepted call is never dropped: it waits for room.
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _record_failure(self, activation_id: str, request: dict[str, Any], message: str) -> None:
        """A whisk internal error record, so that whoever polls the accepted id gets an answer."""
        if self.store.get_activation(PROVIDER, activation_id) is not None:
            return
        namespace, path = str(request.get("namespace", "")), str(request.get("path", ""))
        end = now_ms()
        start = request.get("received") if isinstance(request.get("received"), int) else end
        record = {
            "namespace": namespace,
            "name": path.rsplit("/", 1)[-1],
            "subject": namespace,
            "activationId": activation_id,
            "start": start,
            "end": end,
            "duration": end - start,
            "statusCode": activations.INTERNAL_ERROR,
            "response": activations.response_of(activations.INTERNAL_ERROR, {"error": message}),
            "logs": [],
            "annotations": [{"key": "path", "value": f"{namespace}/{path}"}],
            "version": "0.0.0",
            "publish": False,
        }
        self.store.put_activation(activation_id, PROVIDER, namespace, path, start, record)

    def _keep_finished(
        self,
        namespace: str,
        path: str,
        task: asyncio.Task[dict[str, Any]],
        payload: dict[str, Any],
        *,
        pending: bool = False,
    ) -> None:
        """Keep the record of an activation that outlived its caller's wait."""
        if task.cancelled() or task.exception() is not None:
            return
        record = task.result()
        self._keep(namespace, path, record, payload)
        if pending:
            self.store.remove_pending(record["activationId"])

    async def close(self) -> None:
        await self._background.close()

    async def activate(
        self,
        namespace: str,
        path: str,
        payload: dict[str, Any],
        activation_id: str | None = None,
        received: int | None = None,
        *,
        cause: str | None = None,
        depth: int = 0,
        keep: bool = True,
    ) -> dict[str, Any]:
        """Run the action at `path` once and return its record, stored unless `keep` is False
        (the caller then keeps it with `_keep`)."""
        action = self.action(namespace, path)
        activation_id = activation_id or activations.new_activation_id()
        received = received or now_ms()
        call = _Call(
            namespace,
            path,
            action,
            self._merged_parameters(namespace, path, action, payload),
            activation_id,
            received,
            cause,
            depth,
        )
        record = await (
            self._run_sequence(call) if action["exec"]["kind"] == "sequence" else self._run_action(call)
        )
        if keep:
            self._keep(namespace, path, record, payload)
        return record

    def _keep(self, namespace: str, path: str, record: dict[str, Any], payload: Any) -> None:
        """Store a finished activation and tell the console and the dashboard."""
        self.store.put_activation(record["activationId"], PROVIDER, namespace, path, record["start"], record)
        self.events.publish(lambda: _invocation(record, payload))

    def _merged_parameters(
        self, namespace: str, path: str, action: dict[str, Any], payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Package, then binding, then action parameters, then the invoke payload."""
        package, _ = entities.split_path(path)
        merged: dict[str, Any] = {}
        if package is not None:
            entity = self.entity(namespace, package)
            if entity is not None:
                binding = entity.doc.get("binding") or {}
                if binding.get("name"):
                    target = self.store.get_entity(
                        PROVIDER, binding.get("namespace") or namespace, binding["name"]
                    )
                    if target is not None:
                        merged.update({p["key"]: p["value"] for p in target.doc.get("parameters", [])})
                merged.update({p["key"]: p["value"] for p in entity.doc.get("parameters", [])})
        _check_final(action, payload)
        if action["exec"]["kind"] != "sequence":
            merged.update({p["key"]: p["value"] for p in action["parameters"] if not p.get("init")})
        if not merged:
            return payload  # nothing to merge: as it came, with its bytes when a client sent it
        merged.update(payload)
        return merged

    @property
    def runs_images(self) -> bool:
        """Whether blackbox (Docker image) actions can run: only on the docker backend."""
        return getattr(self.invoker.pool.backend, "name", "") == "docker"

    def _key(self, namespace: str, path: str) -> str:
        return f"{PROVIDER}:{namespace}/{path}"

    def spec(self, namespace: str, path: str, action: dict[str, Any]) -> FunctionSpec:
        exec_ = action["exec"]
        init_env = {p["key"]: _string(p["value"]) for p in action["parameters"] if p.get("init")}
        return FunctionSpec(
            key=self._key(namespace, path),
            revision=f"{action['version']}@{action['updated']}",
            family=kinds.runtime_family(exec_),
            init_value=_init_value(action["name"], exec_, init_env),
            timeout_s=action["limits"]["timeout"] / 1000,
            max_instances=action["limits"].get("instances"),
            log_limit_bytes=action["limits"].get("logs", 10) * 1024 * 1024,  # limits.logs is in MB
            memory_mb=action["limits"]["memory"],
        )

    async def _run_action(self, call: _Call) -> dict[str, Any]:
        namespace, path, action, activation_id = call.namespace, call.path, call.action, call.activation_id
        spec = self.spec(namespace, path, action)
        tid = transaction_id()
        deadline = str(now_ms() + action["limits"]["timeout"])
        qualified = f"/{namespace}/{path}"
        context = {
            "namespace": namespace,
            "action_name": qualified,
            "action_version": action["version"],
            "activation_id": activation_id,
            "transaction_id": tid,
            "deadline": deadline,
        }
        api_key = key_for(namespace) if entities.annotation(action, "provide-api-key", True) else None
        if api_key:
            context["api_key"] = api_key
        init_env = {f"__OW_{key.upper()}": value for key, value in context.items()}
        value = EncodedJson(call.params.raw) if isinstance(call.params, JsonObject) else call.params
        outcome = await self.invoker.invoke(spec, {"value": value, **context}, init_env, call.received)
        return activations.build_record(
            activation_id=activation_id,
            namespace=namespace,
            name=action["name"],
            path=f"{namespace}/{path}",
            action=action,
            outcome=outcome,
            cause=call.cause,
        )

    async def _run_sequence(self, call: _Call) -> dict[str, Any]:
        namespace, path, action, activation_id = call.namespace, call.path, call.action, call.activation_id
        params, received, cause = call.params, call.received, call.cause
        start = now_ms()
        component_ids: list[str] = []
        response = activations.response_of(activations.SUCCESS, params)
        components = action["exec"]["components"]
        if call.depth >= MAX_SEQUENCE_DEPTH:
            # Only a cycle nests this deep, one that got into the store past `_check_components`.
            response = activations.response_of(activations.APPLICATION_ERROR, {"error": SEQUENCE_TOO_LONG})
            components = []
        max_memory = 0
        current: Any = params
        for component in components:
            owner, component_path = parse_component(component, namespace)
            try:
                record = await self.activate(
                    owner, component_path, current, cause=activation_id, depth=call.depth + 1
                )
            except OpenWhiskError:
                response = activations.response_of(
                    activations.DEVELOPER_ERROR, {"error": "Sequence component does not exist."}
                )
                break
            if isinstance(record["response"]["result"], list):
                # OpenWhisk reads each result as the next input object: an array fails the sequence.
                response = activations.response_of(activations.INTERNAL_ERROR, {"error": SEQUENCE_FAILED})
                break
            component_ids.append(record["activationId"])
            response = record["response"]
            max_memory = max(
                max_memory,
                next((a["value"]["memory"] for a in record["annotations"] if a["key"] == "limits"), 0),
            )
            if record["statusCode"] != activations.SUCCESS:
                break
            current = response["result"]
        end = now_ms()
        annotations: list[dict[str, Any]] = [
            {"key": "topmost", "value": cause is None},
            {"key": "path", "value": f"{namespace}/{path}"},
            {"key": "kind", "value": "sequence"},
            {"key": "waitTime", "value": start - received},
            {
                "key": "limits",
                "value": {**action["limits"], "memory": max_memory or action["limits"]["memory"]},
            },
        ]
        return activations.new_record(
            namespace=namespace,
            name=action["name"],
            activation_id=activation_id,
            start=start,
            end=end,
            response=response,
            logs=component_ids,
            annotations=annotations,
            version=action["version"],
            cause=cause,
        )


def _invocation(record: dict[str, Any], payload: Any = None) -> Invocation:
    """An activation record in the terms the console and the dashboard share."""
    annotations = {a["key"]: a["value"] for a in record.get("annotations", [])}
    response = record["response"]
    return Invocation(
        provider=PROVIDER,
        function="/" + annotations.get("path", record["name"]),
        id=record["activationId"],
        status=response["status"],
        start_ms=record["start"],
        duration_ms=record["duration"],
        cold="initTime" in annotations,
        wait_ms=annotations.get("waitTime"),
        init_ms=annotations.get("initTime"),
        request=payload,
        response=response.get("result"),
        logs=list(record.get("logs", [])),
    )


def _init_value(name: str, exec_: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """The /init value; a blackbox action without code gets none (`WhiskAction.containerInitializer`)."""
    value: dict[str, Any] = {
        "name": name,
        "main": exec_.get("main", "main"),
        "code": exec_.get("code", ""),
        "binary": exec_.get("binary", False),
        "env": env,
    }
    if exec_["kind"] == "blackbox" and not exec_.get("code"):
        del value["code"]
    return value
