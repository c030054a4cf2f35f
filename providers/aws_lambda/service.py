"""Lambda's control plane and invocations: functions in the store, calls through the invoker."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from emulator.backends.docker_sources import lambda_image
from emulator.cockpit.http_view import MAX_BODY, body_view, json_view
from emulator.deps import DependencyCache
from emulator.events import Events, Invocation
from emulator.ids import random_hex, random_uuid
from emulator.invoker import Invoker, now_ms
from emulator.logs import timestamp
from emulator.model import EncodedJson, FunctionSpec, Outcome
from emulator.pool import Throttled
from emulator.store import Store
from emulator.tasks import BackgroundTasks
from providers.aws_lambda.code import CodeStore
from providers.aws_lambda.errors import LambdaError, invalid_parameter, not_found
from providers.aws_lambda.functions import LambdaFunction, build_config, check_tags, code_digest
from providers.aws_lambda.names import LATEST, REGION, function_arn

PROVIDER = "lambda"
MAX_RESPONSE_BYTES = 6_291_556
TAIL_BYTES = 4096
# The account's concurrency, of which Lambda keeps 100 unreserved.
ACCOUNT_CONCURRENCY = 1000
MIN_UNRESERVED = 100
log = logging.getLogger("emu.lambda")


def image_digest(image_uri: str) -> str:
    """CodeSha256 of an image function: Lambda gives the image's digest; emu, which resolves the
    image only when it starts it, the digest of its reference."""
    return hashlib.sha256(image_uri.encode()).hexdigest()


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass
class InvokeResult:
    request_id: str
    payload: bytes
    function_error: str | None
    log: str  # START ... REPORT, as CloudWatch and X-Amz-Log-Result show it
    timed_out: bool = False


class LambdaService:
    def __init__(
        self,
        store: Store,
        invoker: Invoker,
        code_root: Path,
        events: Events | None = None,
        deps: DependencyCache | None = None,
    ) -> None:
        self.store = store
        self.invoker = invoker
        self.code = CodeStore(code_root)
        self.events = events or Events()
        self.deps = deps
        self._background = BackgroundTasks()
        self._specs: dict[str, tuple[dict[str, Any], FunctionSpec]] = {}  # by name: (entity doc, spec)

    # -- functions -----------------------------------------------------------------------------

    def find(self, name: str) -> LambdaFunction | None:
        entity = self.store.get_entity(PROVIDER, REGION, name)
        return LambdaFunction.from_doc(entity.doc) if entity else None

    def get(self, name: str, *, invoke: bool = False) -> LambdaFunction:
        function = self.find(name)
        if function is None:
            raise not_found(function_arn(name, LATEST if invoke else None))
        return function

    def all(self) -> list[LambdaFunction]:
        functions = [LambdaFunction.from_doc(e.doc) for e in self.store.list_entities(PROVIDER, REGION)]
        return sorted(functions, key=lambda function: function.name)

    def source_of(self, name: str) -> str | None:
        entity = self.store.get_entity(PROVIDER, REGION, name)
        return entity.source if entity else None

    def save(self, function: LambdaFunction, source: str | None = None, *, retire: bool = True) -> None:
        """Store the function; unless told otherwise its idle instances go, to pick up the change."""
        self.store.put_entity(PROVIDER, REGION, function.name, "functions", function.to_doc(), source)
        if retire:
            self.invoker.pool.retire(function.spec().key)

    async def create(self, body: dict[str, Any], zip_bytes: bytes) -> LambdaFunction:
        name = body["FunctionName"]
        self._check_new(name)
        # Checked before unpacking, so a refused request leaves no folder behind.
        config = build_config(name, body, code_sha=code_digest(zip_bytes), code_size=len(zip_bytes))
        tags = check_tags(body.get("Tags"))
        folder, _ = await asyncio.to_thread(self.code.unpack, name, zip_bytes)
        self._check_new(name)  # another create may have finished while this one unpacked
        function = LambdaFunction(config, str(folder), tags=tags)
        self.save(function)
        return function

    @property
    def runs_images(self) -> bool:
        """Whether this gateway can run container images: only the docker backend can."""
        return getattr(self.invoker.pool.backend, "name", "") == "docker"

    def create_image(self, body: dict[str, Any], image_uri: str) -> LambdaFunction:
        """A PackageType Image function: the image is fetched (pulled) on its first cold start."""
        name = body["FunctionName"]
        self._check_new(name)
        config = build_config(name, body, code_sha=image_digest(image_uri), code_size=0)
        tags = check_tags(body.get("Tags"))
        function = LambdaFunction(config, "", tags=tags, image=lambda_image(image_uri), image_uri=image_uri)
        self.save(function)
        return function

    def update_image(self, name: str, image_uri: str) -> LambdaFunction:
        function = self.get(name)
        if not function.is_image:
            raise invalid_parameter(
                "Please don't provide ImageUri when updating a function with packageType Zip."
            )
        function.config = build_config(
            name, {}, code_sha=image_digest(image_uri), code_size=0, existing=function.config
        )
        function.image, function.image_uri = lambda_image(image_uri), image_uri
        self.save(function, self.source_of(name))
        return function

    def _check_new(self, name: str) -> None:
        if self.find(name) is not None:
            raise LambdaError(409, "ResourceConflictException", f"Function already exist: {name}")

    async def update_code(self, name: str, zip_bytes: bytes) -> LambdaFunction:
        if self.get(name).is_image:
            raise invalid_parameter(
                "Please provide ImageUri when updating a function with packageType Image."
            )
        folder, digest = await asyncio.to_thread(self.code.unpack, name, zip_bytes)
        function = self.get(name)  # as it is now, after the unpacking
        previous = Path(function.code_dir)
        function.config = build_config(
            name, {}, code_sha=digest, code_size=len(zip_bytes), existing=function.config
        )
        function.code_dir = str(folder)
        self.save(function, self.source_of(name))
        # Instances on the previous code may still be finishing a call; older code has none left.
        self.code.prune(name, {folder, previous})
        return function

    def update_configuration(self, name: str, body: dict[str, Any]) -> LambdaFunction:
        function = self.get(name)
        config = function.config
        function.config = build_config(
            name, body, code_sha=config["CodeSha256"], code_size=config["CodeSize"], existing=config
        )
        self.save(function, self.source_of(name))
        return function

    def set_concurrency(self, name: str, reserved: int | None) -> LambdaFunction:
        function = self.get(name)
        self.check_reserved(name, reserved)
        function.reserved_concurrency = reserved
        self.save(function, self.source_of(name))
        return function

    def check_reserved(self, name: str, reserved: int | None) -> None:
        """Reservations across functions must leave the account's minimum unreserved."""
        if reserved is None:
            return
        others = sum(function.reserved_concurrency or 0 for function in self.all() if function.name != name)
        if others + reserved > ACCOUNT_CONCURRENCY - MIN_UNRESERVED:
            raise invalid_parameter(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
            )

    def delete(self, name: str) -> None:
        function = self.get(name)
        self.store.delete_entity(PROVIDER, REGION, name)
        self.invoker.pool.retire(function.spec().key)
        self.code.remove(name)

    # -- invocation ----------------------------------------------------------------------------

    async def invoke(
        self,
        function: LambdaFunction,
        event: Any,
        *,
        request_id: str | None = None,
        client_context: Any = None,
        invoked_arn: str | None = None,
        received: int | None = None,
        raw_event: bytes | None = None,
    ) -> InvokeResult:
        """Run `function` once with `event`. `raw_event` is the JSON it was read from, when a
        client sent it: it goes to the instance as it came, with no second encoding."""
        request_id = request_id or random_uuid()
        received = received or now_ms()
        if function.reserved_concurrency == 0:
            raise _throttled(reserved=True)
        spec = await self._spec(function)
        payload = {
            "value": EncodedJson(raw_event) if raw_event and raw_event.strip() else event,
            "activation_id": request_id,
            "deadline": str(now_ms() + int(spec.timeout_s * 1000)),
            "lambda": {
                "invoked_function_arn": invoked_arn or function.config["FunctionArn"],
                "client_context": client_context,
                "identity": None,
                "trace_id": _trace_id(),
            },
        }
        try:
            outcome = await self.invoker.invoke(spec, payload, {}, received)
        except Throttled:
            raise _throttled(reserved=function.reserved_concurrency is not None) from None
        if outcome.phase == "start":
            raise LambdaError(
                500,
                "ServiceException",
                f"emu could not start the function: {' '.join(line.text for line in outcome.logs)}",
            )
        body, error = _result(outcome, function, request_id)
        result = InvokeResult(
            request_id, body, error, _log_text(outcome, function, request_id), outcome.timed_out
        )
        # Kept on the loop's next turn: the answer goes out first, and reads come after it.
        loop = asyncio.get_running_loop()
        loop.call_soon(self._keep, function.name, request_id, outcome, result, event, raw_event)
        return result

    def _keep(
        self,
        name: str,
        request_id: str,
        outcome: Outcome,
        result: InvokeResult,
        event: Any,
        raw_event: bytes | None,
    ) -> None:
        """Store the invocation's record, with its event and result as the cockpit shows them."""
        duration = outcome.end_ms - outcome.start_ms
        if raw_event is None:
            request = json_view(event)
        else:  # its size is known: no encoding to measure it
            request = event if len(raw_event) <= MAX_BODY else body_view(raw_event, "application/json")
        response = body_view(result.payload, "application/json")
        record = {
            "requestId": request_id,
            "functionName": name,
            "start": outcome.start_ms,
            "end": outcome.end_ms,
            "duration": duration,
            "functionError": result.function_error,
            "log": result.log,
            "request": request,
            "response": response,
        }
        self.store.put_activation(request_id, PROVIDER, REGION, name, outcome.start_ms, record)
        self.events.publish(
            Invocation(
                provider=PROVIDER,
                function=name,
                id=request_id,
                status="success" if result.function_error is None else "error",
                start_ms=outcome.start_ms,
                duration_ms=duration,
                cold=outcome.cold,
                wait_ms=outcome.wait_ms,
                init_ms=outcome.init_ms,
                request=request,
                response=response,
                logs=result.log.splitlines(),
            )
        )

    async def _spec(self, function: LambdaFunction) -> FunctionSpec:
        """The function's spec, worked out once per stored revision of the function.

        Every change to a function stores a new entity document, so the document in hand says
        whether the spec made from it still holds; a warm call then costs a dictionary lookup.
        """
        entity = self.store.get_entity(PROVIDER, REGION, function.name)
        cached = self._specs.get(function.name)
        if entity is not None and cached is not None and cached[0] is entity.doc:
            return cached[1]
        spec = await self._build_spec(function)
        if entity is not None:
            self._specs[function.name] = (entity.doc, spec)
        return spec

    async def _build_spec(self, function: LambdaFunction) -> FunctionSpec:
        """A SAM function's requirements.txt / package.json installed first.

        As `sam build` does for a template's functions; an uploaded zip carries its own, as in Lambda.
        """
        spec = function.spec()
        if self.deps is None or spec.family not in ("python", "nodejs") or not self.source_of(function.name):
            return spec
        folders = await self.deps.ensure(Path(function.code_dir), spec.family)
        if not folders:
            return spec
        return replace(spec, init_value={**spec.init_value, "dependencies": [str(f) for f in folders]})

    def accept_event(self, function: LambdaFunction, event: Any) -> str:
        """Queue an `Event` invocation: stored before it is acknowledged, run in the background."""
        request_id = random_uuid()
        request = {"function": function.name, "event": event, "received": now_ms()}
        self.store.add_pending(request_id, PROVIDER, request)
        self._background.spawn(self._run_event(request_id, request))
        return request_id

    def resume_pending(self) -> int:
        count = 0
        for request_id, request in self.store.pending(PROVIDER):
            self._background.spawn(self._run_event(request_id, request))
            count += 1
        return count

    async def _run_event(self, request_id: str, request: dict[str, Any]) -> None:
        try:
            await self._deliver(request_id, request)
        except Exception:
            # Dropped, not kept: it would fail the same way on every restart. (A cancelled task,
            # at shutdown, keeps its row so the next start resumes it.)
            log.exception("event %s for %s failed", request_id, request.get("function"))
        self.store.remove_pending(request_id)

    async def _deliver(self, request_id: str, request: dict[str, Any]) -> None:
        delay = 0.05
        while True:
            function = self.find(request["function"])
            if function is None:
                break
            try:
                await self.invoke(
                    function, request["event"], request_id=request_id, received=request["received"]
                )
                break
            except LambdaError as error:
                if error.code != "TooManyRequestsException":
                    log.warning("event %s for %s failed: %s", request_id, function.name, error.message)
                    break
                # Lambda keeps throttled events and retries them: nothing accepted is dropped.
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def close(self) -> None:
        await self._background.close()


def _throttled(*, reserved: bool) -> LambdaError:
    reason = (
        "ReservedFunctionConcurrentInvocationLimitExceeded"
        if reserved
        else "ConcurrentInvocationLimitExceeded"
    )
    return LambdaError(429, "TooManyRequestsException", "Rate Exceeded.", Reason=reason)


def _trace_id() -> str:
    return f"Root=1-{now_ms() // 1000:08x}-{random_hex(24)};Parent={random_hex(16)};Sampled=0"


def _result(outcome: Outcome, function: LambdaFunction, request_id: str) -> tuple[bytes, str | None]:
    """(payload, X-Amz-Function-Error) the way Lambda answers each way a call can end."""
    if outcome.timed_out:
        seconds = f"{function.config['Timeout']:.2f}"
        message = f"RequestId: {request_id} Error: Task timed out after {seconds} seconds"
        return _json_bytes({"errorType": "Sandbox.Timedout", "errorMessage": message}), "Unhandled"
    if outcome.out_of_memory:
        message = f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
        return _json_bytes({"errorType": "Runtime.OutOfMemory", "errorMessage": message}), "Unhandled"
    if outcome.error is not None:
        return _json_bytes(_exit_error(outcome.exit_code, request_id)), "Unhandled"
    if outcome.status != 200:
        body = _json_or_none(outcome.raw)
        if isinstance(body, dict) and "errorType" in body:
            return outcome.raw, "Unhandled"
        text = outcome.raw.decode(errors="replace")
        return _json_bytes({"errorType": "Runtime.Unknown", "errorMessage": text}), "Unhandled"
    if outcome.function_error:
        return outcome.raw, outcome.function_error
    if len(outcome.raw) > MAX_RESPONSE_BYTES:
        message = f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
        return _json_bytes(
            {"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"}
        ), "Unhandled"
    return outcome.raw, None


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        return None


def _exit_error(code: int | None, request_id: str) -> dict[str, str]:
    if code is None or code == 0:
        reason = "Runtime exited without providing a reason"
    elif code < 0:
        reason = f"Runtime exited with error: signal: {_signal_name(-code)}"
    else:
        reason = f"Runtime exited with error: exit status {code}"
    return {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: {reason}"}


def _signal_name(number: int) -> str:
    names = {9: "killed", 15: "terminated", 11: "segmentation fault", 6: "aborted"}
    return names.get(number, f"signal {number}")


def _log_text(outcome: Outcome, function: LambdaFunction, request_id: str) -> str:
    lines = [f"START RequestId: {request_id} Version: {LATEST}"]
    lines += [line.text for line in outcome.logs]
    if outcome.timed_out:
        seconds = f"{function.config['Timeout']:.2f}"
        lines.append(f"{timestamp()} {request_id} Task timed out after {seconds} seconds")
    lines.append(f"END RequestId: {request_id}")
    duration = max(outcome.end_ms - outcome.start_ms, 0)
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {max(1, math.ceil(duration))} ms\tMemory Size: {function.config['MemorySize']} MB\t"
    )
    if outcome.peak_memory_mb is not None:
        report += f"Max Memory Used: {outcome.peak_memory_mb} MB\t"
    if outcome.cold and outcome.init_ms is not None:
        report += f"Init Duration: {outcome.init_ms:.2f} ms\t"
    lines.append(report)
    return "\n".join(lines) + "\n"


def log_tail(text: str) -> str:
    """The last 4 KB of an invocation's log, as X-Amz-Log-Result carries it (before base64)."""
    data = text.encode()
    return data[-TAIL_BYTES:].decode(errors="ignore")
