"""AWS Lambda's Python calling convention for the runtime proxy (``adapter: "lambda"``).

The proxy imports this file only when ``/init`` asks for it. It does in-process what
awslambdaric (the runtime of AWS's Python images) does around the user's code: load
``path/to/module.function``, call it with the event and a ``LambdaContext``, marshal the
result, and report errors with awslambdaric's JSON bodies, log lines and init-error texts.

Standard library only, like the proxy. Replies are ``(status, body, headers)`` tuples.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable

Headers = tuple[tuple[str, str], ...]
Reply = tuple[int, bytes, Headers]
UNHANDLED: Headers = (("X-Emu-Function-Error", "Unhandled"),)
ERROR_LOG_IDENT = "\u00a0"  # awslambdaric indents traceback lines with NO-BREAK SPACEs
UNHANDLED_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the runtime "
    "version in the INIT_START log entry. If this error correlates with a change in the runtime version, "
    "you may be able to mitigate this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)
# awslambdaric stops escaping non-ASCII characters from the python3.12 runtime on.
UNESCAPED_RUNTIMES = {f"AWS_Lambda_python3.{minor}" for minor in range(12, 16)}


class Fault(Exception):
    """An error awslambdaric reports with its own type (``Runtime.*``) and message."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


class RequestIdFilter(logging.Filter):
    """Stamps every log record with the current request id, as LambdaLoggerFilter does."""

    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = RequestIdFilter.request_id
        return True


class LambdaLoggerHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        sys.stdout.write(self.format(record))


def source_file(handler: str) -> tuple[str, int]:
    """Where plain (unzipped) code is saved: the handler's module file."""
    return handler.rsplit(".", 1)[0] + ".py", 0o644


def start(message: dict, folder: str) -> tuple[Reply, LambdaFunction | None]:
    """Load the handler from ``folder``; the 502 reply carries the Lambda init error."""
    enter_code_folder(folder)
    setup_logging()
    handler_name = str(message.get("main") or "")
    try:
        handler = load_handler(handler_name)
    except Fault as fault:
        return init_failure(make_error(fault.message, fault.error_type, fault.trace)), None
    except SystemExit as ex:
        return exit_failure(ex), None
    except Exception as ex:
        return init_failure(make_error(str(ex), type(ex).__name__, user_frames(ex))), None
    return (200, b'{"ok":true}', ()), LambdaFunction(handler)


def enter_code_folder(folder: str) -> None:
    """As in Lambda: the code folder is the working directory and first on ``sys.path``."""
    proxy_dir = os.path.dirname(os.path.abspath(__file__))
    if proxy_dir in sys.path:  # the proxy's own modules must not shadow or leak into user code
        sys.path.remove(proxy_dir)
    sys.path.insert(0, folder)
    os.chdir(folder)


def setup_logging() -> None:
    """The root logger writes ``[LEVEL]\\t<time>Z\\t<request id>\\t<message>`` to stdout."""
    logging.Formatter.converter = time.gmtime
    handler = LambdaLoggerHandler()
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger()
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if isinstance(logging.getLevelName(level), int):  # a known level name
        logger.setLevel(level)
    logger.addHandler(handler)


def load_handler(handler: str) -> Callable[[object, LambdaContext], object]:
    """awslambdaric's ``_get_handler``: same checks, same messages."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as ex:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {ex}") from None
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise Fault(
                "Runtime.BuiltInModuleConflict",
                f"Cannot use built-in module {module_name} as a handler module",
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as ex:
        raise Fault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {ex}") from None
    except SyntaxError as ex:
        trace = [f'  File "{ex.filename}" Line {ex.lineno}\n    {ex.text}']
        raise Fault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {ex}", trace
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise Fault(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None


class LambdaFunction:
    """The loaded handler; ``run`` serves one ``/run`` call."""

    def __init__(self, handler: Callable[[object, LambdaContext], object]) -> None:
        self.handler = handler

    def run(self, body: dict) -> Reply:
        request_id = str(body.get("activation_id") or "")
        details = body.get("lambda")
        details = details if isinstance(details, dict) else {}
        RequestIdFilter.request_id = request_id
        set_trace_id(details.get("trace_id"))
        context = LambdaContext(
            request_id,
            as_dict(details.get("client_context")),
            as_dict(details.get("identity")),
            int(body.get("deadline") or 0),
            details.get("invoked_function_arn"),
            details.get("tenant_id"),
        )
        # Only Exception: sys.exit() and KeyboardInterrupt end the process, as in Lambda.
        try:
            result = self.handler(body.get("value"), context)
        except Exception as ex:
            return function_error(make_error(str(ex), type(ex).__name__, user_frames(ex), request_id))
        try:
            return 200, marshal(result), ()
        except Exception as ex:
            message = f"Unable to marshal response: {ex}"
            return function_error(make_error(message, "Runtime.MarshalError", None, request_id))

    def close(self) -> None:
        return None


def set_trace_id(trace_id: object) -> None:
    if isinstance(trace_id, str) and trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)


def as_dict(value: object) -> dict | None:
    return dict(value) if isinstance(value, dict) else None


def marshal(result: object) -> bytes:
    """awslambdaric's marshaller: bytes pass through; JSON as simplejson writes it (NaN allowed)."""
    if isinstance(result, bytes):
        return result
    return to_json(result).encode("utf-8")


def to_json(value: object) -> str:
    ascii_only = os.environ.get("AWS_EXECUTION_ENV") not in UNESCAPED_RUNTIMES
    return json.dumps(value, ensure_ascii=ascii_only, default=encode_decimal)


def encode_decimal(value: object) -> object:
    """simplejson writes Decimals (DynamoDB numbers) as numbers; the closest stdlib json can do."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def make_error(message: str, error_type: str, trace: list[str] | None, request_id: str = "") -> dict:
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id,
        "stackTrace": trace or [],
    }


def user_frames(ex: BaseException) -> list[str]:
    """The traceback from the first frame outside this file, formatted like awslambdaric's."""
    frames = traceback.extract_tb(ex.__traceback__)
    for index, frame in enumerate(frames):
        if frame.filename != __file__:
            return traceback.format_list(frames[index:])
    return []


def function_error(error: dict) -> Reply:
    log_error(error)
    return 200, to_json(error).encode("utf-8"), UNHANDLED


def init_failure(error: dict) -> Reply:
    sys.stderr.write(f"[WARNING]\t{log_time()}\t\t{UNHANDLED_WARNING}\n")
    log_error(error)
    return 502, to_json(error).encode("utf-8"), ()


def exit_failure(ex: SystemExit) -> Reply:
    """The module called sys.exit() while loading: Lambda sees the runtime process exit."""
    code = ex.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    status = code or 0
    reason = (
        f"Runtime exited with error: exit status {status}"
        if status
        else "Runtime exited without providing a reason"
    )
    return 502, to_json({"errorType": "Runtime.ExitError", "errorMessage": reason}).encode("utf-8"), ()


def log_error(error: dict) -> None:
    """awslambdaric's text error log, one line per line here (it joins them with \\r)."""
    description = "[ERROR]"
    if error["errorType"]:
        description += f" {error['errorType']}"
    if error["errorMessage"]:
        description += f"{':' if error['errorType'] else ''} {error['errorMessage']}"
    lines = [description, "Traceback (most recent call last):"]
    for element in error["stackTrace"]:
        if element:
            lines.extend(indent(line) for line in element.splitlines())
        else:
            lines.append("")
    sys.stderr.write("\n".join(lines) + "\n")


def indent(line: str) -> str:
    stripped = line.lstrip(" ")
    return ERROR_LOG_IDENT * (len(line) - len(stripped)) + stripped


def log_time() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def describe_slots(obj: object) -> str:
    fields = ",".join(f"{name}={getattr(obj, name)}" for name in obj.__slots__)
    return f"{type(obj).__name__}([{fields}])"


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity: dict | None) -> None:
        identity = identity or {}
        self.cognito_identity_id = identity.get("cognitoIdentityId")
        self.cognito_identity_pool_id = identity.get("cognitoIdentityPoolId")

    __repr__ = describe_slots


class Client:
    # In awslambdaric's order, which the repr follows.
    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")  # noqa: RUF023

    def __init__(self, client: dict) -> None:
        for name in self.__slots__:
            setattr(self, name, client.get(name))

    __repr__ = describe_slots


class ClientContext:
    __slots__ = ("custom", "env", "client")  # noqa: RUF023

    def __init__(self, context: dict) -> None:
        client = context.get("client")
        self.custom = context.get("custom")
        self.env = context.get("env")
        self.client = Client(client) if isinstance(client, dict) else None

    __repr__ = describe_slots


class LambdaContext:
    """The handler's ``context``: awslambdaric's LambdaContext, attribute for attribute."""

    def __init__(
        self,
        invoke_id: str,
        client_context: dict | None,
        cognito_identity: dict | None,
        epoch_deadline_time_in_ms: int,
        invoked_function_arn: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.aws_request_id = invoke_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self._w3c_fields = pop_w3c(client_context)
        self.client_context = ClientContext(client_context) if client_context is not None else None
        self.identity = CognitoIdentity(cognito_identity)
        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._epoch_deadline_time_in_ms - int(time.time() * 1000), 0)

    def w3c(self) -> dict[str, str]:
        return dict(self._w3c_fields)

    def log(self, msg: object) -> None:
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        names = ("aws_request_id", "log_group_name", "log_stream_name", "function_name")
        names += ("memory_limit_in_mb", "function_version", "invoked_function_arn", "client_context")
        names += ("identity", "tenant_id")
        fields = ",".join(f"{name}={getattr(self, name)}" for name in names)
        return f"{type(self).__name__}([{fields}])"


def pop_w3c(client_context: dict | None) -> dict[str, str]:
    """W3C trace fields travel in the client context; awslambdaric moves them to ``w3c()``."""
    raw = client_context.pop("w3c", None) if client_context is not None else None
    if not isinstance(raw, dict):
        return {}
    return {
        key: raw[key] for key in ("traceparent", "tracestate", "baggage") if isinstance(raw.get(key), str)
    }
