"""Lambda functions: the FunctionConfiguration AWS returns, its validation, and what runs it."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from emulator.backends.docker_sources import image_source
from emulator.model import FunctionSpec
from providers.aws_lambda.errors import invalid_parameter, validation
from providers.aws_lambda.names import ACCOUNT, LATEST, NAME_PATTERN, REGION, function_arn

# runtime -> (emu runtime family, proxy adapter). Custom runtimes run their `bootstrap` under the
# Python proxy, which serves them the Runtime API.
RUNTIMES: dict[str, tuple[str, str]] = {
    **{f"python3.{minor}": ("python", "lambda") for minor in range(9, 15)},
    **{f"nodejs{major}.x": ("nodejs", "lambda") for major in (18, 20, 22, 24)},
    **{name: ("python", "lambda-custom") for name in ("provided", "provided.al2", "provided.al2023")},
}
# A container image function runs its ENTRYPOINT + CMD behind the Runtime API (docker backend only).
IMAGE_ADAPTER = "lambda-custom"
IMAGE_CONFIG_KEYS = {"EntryPoint": 1500, "Command": 1500, "WorkingDirectory": 1000}  # the model's max lengths
DEFAULT_TIMEOUT_S = 3
DEFAULT_MEMORY_MB = 128
MAX_TIMEOUT_S = 900
MEMORY_RANGE = (128, 10240)
ENV_NAME = re.compile(r"\A[a-zA-Z]([a-zA-Z0-9_])+\Z")
RESERVED_ENV = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}  # fmt: skip
MAX_ENV_BYTES = 4096
# Constraints of the service model's CreateFunction members.
ARCHITECTURES = ("x86_64", "arm64")
MAX_HANDLER = 128
MAX_DESCRIPTION = 256
HANDLER_PATTERN = re.compile(r"\A[^\s]+\Z")
ROLE_PATTERN = re.compile(r"\Aarn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+\Z")
# Fields ListFunctions leaves out of each FunctionConfiguration (the service model).
NOT_LISTED = (
    "State", "StateReason", "StateReasonCode", "LastUpdateStatus", "LastUpdateStatusReason",
    "LastUpdateStatusReasonCode", "RuntimeVersionConfig",
)  # fmt: skip


def last_modified() -> str:
    """`2020-04-10T19:06:32.563+0000`, Lambda's LastModified format."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


@dataclass
class LambdaFunction:
    config: dict[str, Any]
    code_dir: str  # the folder the handler is loaded from
    reserved_concurrency: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # FunctionUrlConfig as the API shows it, plus "Port": where emu serves the URL.
    url_config: dict[str, Any] | None = None
    # PackageType Image: the runtime family naming its image (`docker_sources`), and the ImageUri shown.
    image: str | None = None
    image_uri: str | None = None

    @property
    def name(self) -> str:
        return self.config["FunctionName"]

    def to_doc(self) -> dict[str, Any]:
        return {
            "Configuration": self.config,
            "CodeDir": self.code_dir,
            "ReservedConcurrentExecutions": self.reserved_concurrency,
            "Tags": self.tags,
            "UrlConfig": self.url_config,
            "Image": self.image,
            "ImageUri": self.image_uri,
            "updated": 0,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> LambdaFunction:
        return cls(
            doc["Configuration"],
            doc["CodeDir"],
            doc.get("ReservedConcurrentExecutions"),
            doc.get("Tags", {}),
            doc.get("UrlConfig"),
            doc.get("Image"),
            doc.get("ImageUri"),
        )

    @property
    def is_image(self) -> bool:
        return self.config.get("PackageType") == "Image"

    @property
    def runtime_label(self) -> str:
        """The Runtime, or `image` for a container image function (which has none)."""
        return self.config.get("Runtime") or "image"

    @property
    def family(self) -> str:
        if self.is_image and self.image:
            return self.image
        return RUNTIMES[self.config["Runtime"]][0]

    def listed(self) -> dict[str, Any]:
        return {key: value for key, value in self.config.items() if key not in NOT_LISTED}

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets for the runtime, then the function's own."""
        config = self.config
        name = config["FunctionName"]
        env = {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": LATEST,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config["MemorySize"]),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            # The execution role's credentials: local stand-ins, so SDKs in the function can sign.
            "AWS_ACCESS_KEY_ID": "emu",
            "AWS_SECRET_ACCESS_KEY": "emu",
            "AWS_SESSION_TOKEN": "emu",
            "LAMBDA_TASK_ROOT": self.code_dir,
            "LAMBDA_RUNTIME_DIR": self.code_dir,
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
        }
        if self.is_image:  # where Lambda's images keep the function and the runtime
            env.update(LAMBDA_TASK_ROOT="/var/task", LAMBDA_RUNTIME_DIR="/var/runtime")
        else:
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{config['Runtime']}"
        if config.get("Handler"):
            env["_HANDLER"] = config["Handler"]
        env.update(config.get("Environment", {}).get("Variables", {}))
        return env

    def spec(self) -> FunctionSpec:
        if self.is_image:
            family, adapter = self.family, IMAGE_ADAPTER
            # No folder: the docker backend makes the image's ENTRYPOINT + CMD the bootstrap.
            init_value: dict[str, Any] = {
                "name": self.name,
                "main": "",
                "adapter": adapter,
                "image_config": self.config.get("ImageConfigResponse", {}).get("ImageConfig", {}),
                "env": self.environment(),
            }
        else:
            family, adapter = RUNTIMES[self.config["Runtime"]]
            init_value = {
                "name": self.name,
                "main": self.config.get("Handler") or "",
                "adapter": adapter,
                "path": self.code_dir,
                "env": self.environment(),
            }
        return FunctionSpec(
            key=f"lambda:{self.name}",
            revision=self.config["RevisionId"],
            family=family,
            init_value=init_value,
            timeout_s=float(self.config["Timeout"]),
            max_instances=self.reserved_concurrency,
            # Lambda does not queue synchronous calls past a function's reserved concurrency.
            max_queued=0 if self.reserved_concurrency is not None else None,
            report_memory=True,
            memory_mb=self.config["MemorySize"],
            instance_env=log_stream_env,
            parse_result=False,  # the answer is passed on as it came; _result reads it only on errors
        )


def log_stream_env() -> dict[str, str]:
    """A new execution environment's log stream, named as Lambda names them."""
    stream = datetime.now(timezone.utc).strftime("%Y/%m/%d") + f"/[{LATEST}]{uuid.uuid4().hex}"
    return {"AWS_LAMBDA_LOG_STREAM_NAME": stream}


def code_digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def build_config(
    name: str, body: dict[str, Any], *, code_sha: str, code_size: int, existing: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A FunctionConfiguration from a CreateFunction or UpdateFunctionConfiguration body."""
    base = existing or {}
    package_type = body.get("PackageType", base.get("PackageType", "Zip"))
    image = package_type == "Image"
    runtime = body.get("Runtime", base.get("Runtime"))
    handler = body.get("Handler", base.get("Handler"))
    if image:
        if runtime is not None or handler is not None:
            raise invalid_parameter(
                "Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image."
            )
    else:
        check_runtime(runtime)
        check_handler(handler)
        if not handler and not str(runtime).startswith("provided"):
            raise invalid_parameter("Handler is required for the Zip package type with a managed runtime.")
    timeout = _integer(body, "Timeout", base.get("Timeout", DEFAULT_TIMEOUT_S), 1, MAX_TIMEOUT_S, "timeout")
    memory = _integer(
        body, "MemorySize", base.get("MemorySize", DEFAULT_MEMORY_MB), *MEMORY_RANGE, "memorySize"
    )
    environment = body.get("Environment", base.get("Environment", {"Variables": {}}))
    check_environment(environment)
    config: dict[str, Any] = {
        "FunctionName": name,
        "FunctionArn": function_arn(name),
        "Runtime": runtime,
        "Role": check_role(body.get("Role", base.get("Role", f"arn:aws:iam::{ACCOUNT}:role/emu"))),
        "Handler": handler,
        "CodeSize": code_size,
        "Description": check_description(body.get("Description", base.get("Description", ""))),
        "Timeout": timeout,
        "MemorySize": memory,
        "LastModified": last_modified(),
        "CodeSha256": code_sha,
        "Version": LATEST,
        "Environment": {"Variables": dict(environment.get("Variables") or {})},
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": str(uuid.uuid4()),
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": package_type,
        "Architectures": check_architectures(
            body.get("Architectures", base.get("Architectures", ["x86_64"]))
        ),
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"},
    }
    if not handler:
        config.pop("Handler")
    if image:
        config.pop("Runtime")
        image_config = body.get("ImageConfig", base.get("ImageConfigResponse", {}).get("ImageConfig"))
        if image_config:
            config["ImageConfigResponse"] = {"ImageConfig": check_image_config(image_config)}
    return config


def check_package_type(package_type: Any) -> str:
    if package_type not in ("Zip", "Image"):
        raise validation(package_type, "packageType", "Member must satisfy enum value set: [Zip, Image]")
    return package_type


def check_image_config(image_config: Any) -> dict[str, Any]:
    """ImageConfig: EntryPoint and Command lists of strings, WorkingDirectory a string."""
    if not isinstance(image_config, dict):
        raise invalid_parameter("ImageConfig must be an object.")
    checked: dict[str, Any] = {}
    for key, value in image_config.items():
        if key not in IMAGE_CONFIG_KEYS:
            raise invalid_parameter(f"Unknown ImageConfig field {key}.")
        limit = IMAGE_CONFIG_KEYS[key]
        member = "imageConfig." + key[0].lower() + key[1:]
        if key == "WorkingDirectory":
            if not isinstance(value, str) or len(value) > limit:
                raise validation(value, member, f"Member must have length less than or equal to {limit}")
        elif not isinstance(value, list) or not all(isinstance(part, str) for part in value):
            raise validation(value, member, "Member must be a list of strings")
        elif len(value) > limit:
            raise validation(value, member, f"Member must have length less than or equal to {limit}")
        checked[key] = value
    return checked


def image_label(family: str) -> str:
    """What a function's image family shows as its ImageUri: the reference, or the built folder."""
    source = image_source(family)
    if source is None:
        return family
    return source.reference or str(source.context)


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise validation(
            name, "functionName", "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+"
        )
    return name


def check_runtime(runtime: Any) -> None:
    if isinstance(runtime, str) and runtime in RUNTIMES:
        return
    if runtime is None:
        raise invalid_parameter("Runtime is required for the Zip package type.")
    supported = ", ".join(RUNTIMES)
    raise invalid_parameter(
        f"The runtime parameter of {runtime} is not supported by emu. Supported: {supported}."
    )


def check_handler(handler: Any) -> None:
    if handler is None:
        return
    if not isinstance(handler, str) or not HANDLER_PATTERN.match(handler):
        raise validation(handler, "handler", "Member must satisfy regular expression pattern: [^\\s]+")
    if len(handler) > MAX_HANDLER:
        raise validation(handler, "handler", f"Member must have length less than or equal to {MAX_HANDLER}")


def check_role(role: Any) -> str:
    if not isinstance(role, str) or not ROLE_PATTERN.match(role):
        raise validation(
            role,
            "role",
            "Member must satisfy regular expression pattern: "
            "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
        )
    return role


def check_description(description: Any) -> str:
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise validation(
            description, "description", f"Member must have length less than or equal to {MAX_DESCRIPTION}"
        )
    return description


def check_architectures(architectures: Any) -> list[str]:
    """A list of exactly one supported architecture."""
    if not isinstance(architectures, list) or not architectures:
        raise validation(architectures, "architectures", "Member must have length greater than or equal to 1")
    if len(architectures) > 1:
        raise validation(architectures, "architectures", "Member must have length less than or equal to 1")
    if architectures[0] not in ARCHITECTURES:
        raise validation(
            architectures,
            "architectures",
            f"Member must satisfy constraint: [Member must satisfy enum value set: [{', '.join(ARCHITECTURES)}]]",
        )
    return architectures


def check_tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(isinstance(value, str) for value in tags.values()):
        raise validation(tags, "tags", "Member must be a map of strings to strings")
    return tags


def check_environment(environment: Any) -> None:
    if not isinstance(environment, dict) or not isinstance(environment.get("Variables", {}), dict):
        raise invalid_parameter("Environment must be an object with a Variables map.")
    variables: dict[str, Any] = environment.get("Variables") or {}
    for key, value in variables.items():
        if not ENV_NAME.match(key):
            raise validation(
                key,
                "environment.variables",
                "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+",
            )
        if not isinstance(value, str):
            raise invalid_parameter(f"Environment variable {key} must be a string.")
    reserved = sorted(key for key in variables if key in RESERVED_ENV or key.startswith("AWS_LAMBDA_"))
    if reserved:
        raise invalid_parameter(
            "Lambda was unable to configure your environment variables because the environment variables you "
            "have provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {', '.join(reserved)}"
        )
    measured = "".join(f"{key}{value}" for key, value in variables.items())
    if len(measured.encode()) > MAX_ENV_BYTES:
        raise invalid_parameter(
            "Lambda was unable to configure your environment variables because the environment variables you "
            f"have provided exceeded the 4KB limit. String measured: {measured[:1000]}"
        )


def _integer(body: dict[str, Any], key: str, default: int, low: int, high: int, member: str) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise validation(value, member, "Member must be an integer")
    if value < low:
        raise validation(value, member, f"Member must have value greater than or equal to {low}")
    if value > high:
        raise validation(value, member, f"Member must have value less than or equal to {high}")
    return value


def folder_digest(folder: Path) -> tuple[str, int]:
    """(CodeSha256, CodeSize) for code used in place: a digest of its files' names, sizes and times.

    Cheap enough to take on every reload, and it changes whenever a file does, which is what
    tells the pool to start instances on the new code.
    """
    digest = hashlib.sha256()
    size = 0
    for path in sorted(folder.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        stat = path.stat()
        size += stat.st_size
        digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return base64.b64encode(digest.digest()).decode(), size
