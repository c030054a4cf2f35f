"""Read AWS SAM `template.yaml` projects into the functions emu's Lambda front serves.

The format is AWS SAM's (a CloudFormation template with `Transform: AWS::Serverless-2016-10-31`):
`AWS::Serverless::Function` resources, with `Globals.Function` merged in, and plain
`AWS::Lambda::Function` resources. Intrinsic functions are evaluated as far as the template alone
allows: parameters (their `Default`), pseudo parameters, `Mappings` and `Conditions`. What only a
deployed stack knows (another resource's attributes, exports) cannot be evaluated: a property emu
needs to run the function then fails to load, and an environment variable gets what `sam local`
gives it (see `_Intrinsics`). Other resource types and unknown top-level sections are ignored.

Like `sam local` run without a build, emu serves the source folders the template names, even when
a function has `Metadata: BuildMethod` or `.aws-sam/build` exists: edits show up without a rebuild.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import yaml

from emulator.discovery import find_files

TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
FUNCTION_TYPES = {SERVERLESS_FUNCTION, LAMBDA_FUNCTION}
API_TYPES = {"AWS::Serverless::Api": "Api", "AWS::Serverless::HttpApi": "HttpApi"}

REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
AVAILABILITY_ZONES = [f"{REGION}{zone}" for zone in "abcdef"]
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY_SIZE = 128
TIMEOUT_RANGE = (1, 900)
MEMORY_RANGE = (128, 10240)
ARCHITECTURES = ("x86_64", "arm64")
PACKAGE_TYPES = ("Zip", "Image")
PARAMETER_LIST_TYPES = ("CommaDelimitedList", "List<")

# The YAML short forms: `!GetAtt A.B` is {"Fn::GetAtt": ["A", "B"]}, `!Ref X` is {"Ref": "X"}.
SHORT_FORMS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "Sub", "GetAtt", "Join", "If", "Select", "Split", "FindInMap", "ImportValue", "GetAZs",
            "Base64", "Equals", "Not", "And", "Or", "Cidr", "Transform", "Length", "ToJsonString",
        )
    },
}  # fmt: skip
SUB_REFERENCE = re.compile(r"\$\{([^}]*)\}")


class _TemplateYAML(yaml.SafeLoader):
    """Loads CloudFormation's short-form tags as their long forms, and keeps dates as text."""

    yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _short_form(function: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if function == "Fn::GetAtt":
                # The attribute part may itself contain dots (`Db.Endpoint.Address`).
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {function: value}

    return construct


for _tag, _function in SHORT_FORMS.items():
    _TemplateYAML.add_constructor(f"!{_tag}", _short_form(_function))


@dataclass(frozen=True)
class SamFunction:
    name: str  # the logical id: emu names functions like `sam local start-lambda` does
    runtime: str | None  # None for PackageType Image
    handler: str | None  # None for Image, and optional for provided.* runtimes
    code_dir: Path  # absolute folder of CodeUri, or the path of a CodeUri .zip file
    timeout: int
    memory_size: int
    environment: dict[str, str]
    reserved_concurrency: int | None
    description: str
    architectures: tuple[str, ...]
    package_type: str  # "Zip" or "Image"
    image_uri: str | None
    layers: tuple[str, ...]
    events: dict[str, Any]  # the raw Events mapping, intrinsics resolved where possible
    function_url: dict[str, Any] | None  # FunctionUrlConfig, raw
    template: Path
    function_name: str | None = None  # the FunctionName property, which `sam local` also accepts
    # PackageType Image: Metadata.Dockerfile (relative to code_dir, the DockerContext) to build the
    # image from, Metadata.DockerTag, and the ImageConfig property (EntryPoint, Command, WorkingDirectory).
    dockerfile: str | None = None
    docker_tag: str = "latest"
    image_config: dict[str, Any] | None = None


class SamError(Exception):
    """A template that cannot be loaded; the message names the file, the resource and the property."""


def find_templates(root: Path) -> list[Path]:
    """Every CloudFormation template below `root`: files named like SAM's that declare resources."""
    return [path for path in find_files(root, TEMPLATE_NAMES) if _looks_like_cloudformation(path)]


def _looks_like_cloudformation(path: Path) -> bool:
    # Other tools use the name template.json too; only a file that speaks of Resources is one of ours.
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    return "Resources" in text or "AWSTemplateFormatVersion" in text


def load_template(path: Path) -> list[SamFunction]:
    """The template's functions in the order it declares them."""
    return _Loader(path).load()


@dataclass(frozen=True)
class SamApi:
    """An `AWS::Serverless::Api` (REST) or `AWS::Serverless::HttpApi` resource."""

    name: str  # the logical id, which events name in RestApiId / ApiId
    kind: str  # "Api" or "HttpApi", as the event types that attach to it
    stage_name: str | None
    cors: Any  # Api: Cors (a quoted origin or a mapping); HttpApi: CorsConfiguration (true or a mapping)
    template: Path


def load_apis(path: Path) -> list[SamApi]:
    """The template's explicit APIs; events without RestApiId/ApiId use SAM's implicit ones."""
    return _Loader(path).apis()


# -- intrinsic functions ----------------------------------------------------------------------


class _Unresolvable(Exception):
    """An intrinsic only a deployed stack can evaluate; the message is the intrinsic, e.g. `!Ref Table`."""


class _Malformed(Exception):
    """An intrinsic CloudFormation itself would reject."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()  # what `!Ref AWS::NoValue` gives: the enclosing key or list item disappears


def _intrinsic_name(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
            return key
    return None


def _describe(function: str, argument: Any) -> str:
    """An intrinsic in its short form, for messages: `!GetAtt Table.Arn`, `!Join ["-", [...]]`."""
    short = "!" + function.removeprefix("Fn::")
    if function == "Fn::GetAtt" and isinstance(argument, list):
        return f"{short} {'.'.join(str(part) for part in argument)}"
    text = argument if isinstance(argument, str) else json.dumps(argument, default=str)
    return f"{short} {text[:100]}{'...' if len(text) > 100 else ''}"


def _text(value: Any, context: str) -> str:
    """A scalar as CloudFormation turns it into text inside `!Sub`, `!Join` and the like."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise _Malformed(f"{context}: expected a string, got {json.dumps(value, default=str)[:100]}")


class _Intrinsics:
    """Evaluates intrinsic functions against the template's Parameters, Mappings and Conditions.

    With `resource_refs`, a reference to another resource becomes what `sam local` makes of it:
    `!Ref Resource` is the logical id (which is also the name emu serves a function under), and
    `!GetAtt Function.Arn` is that function's local ARN. `sam local` turns every other `.Arn` into a
    Lambda-shaped ARN too; that misleads more than it helps, so here it stays unresolvable.
    """

    def __init__(self, document: dict[str, Any], stack_name: str, *, resource_refs: bool) -> None:
        self.parameters = _section(document, "Parameters")
        self.mappings = _section(document, "Mappings")
        self.conditions = _section(document, "Conditions")
        self.resources = _section(document, "Resources")
        self.resource_refs = resource_refs
        self.pseudo: dict[str, Any] = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        self.functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref_function,
            "Fn::GetAtt": self._get_att_function,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::FindInMap": self._find_in_map,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": self._not,
            "Fn::And": self._and,
            "Fn::Or": self._or,
            "Fn::Base64": self._base64,
            "Fn::GetAZs": self._get_azs,
        }
        self._evaluated: dict[str, bool] = {}
        self._evaluating: set[str] = set()

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic evaluated; raises _Unresolvable or _Malformed."""
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not NO_VALUE]
        function = _intrinsic_name(value)
        if function is None:
            if not isinstance(value, dict):
                return value
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        evaluate = self.functions.get(function)
        if evaluate is None:
            raise _Unresolvable(_describe(function, value[function]))
        return evaluate(value[function])

    def resolve_where_possible(self, value: Any) -> Any:
        """Like `resolve`, but an intrinsic that cannot be evaluated stays as written."""
        if isinstance(value, list):
            items = (self.resolve_where_possible(item) for item in value)
            return [item for item in items if item is not NO_VALUE]
        if isinstance(value, dict) and _intrinsic_name(value) is None:
            resolved = {key: self.resolve_where_possible(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        try:
            return self.resolve(value)
        except _Unresolvable:
            return value

    def condition(self, name: Any) -> bool:
        if not isinstance(name, str) or name not in self.conditions:
            raise _Malformed(f"condition {name} is not declared in Conditions")
        if name not in self._evaluated:
            if name in self._evaluating:
                raise _Malformed(f"condition {name} refers to itself")
            self._evaluating.add(name)
            try:
                self._evaluated[name] = self._truth(self.conditions[name], f"condition {name}")
            finally:
                self._evaluating.discard(name)
        return self._evaluated[name]

    # -- references ----------------------------------------------------------------------------

    def _ref_function(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise _Malformed(f"{_describe('Ref', name)}: expected a name")
        return self._ref(name)

    def _ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self._parameter(name)
        if name in self.resources:
            if self.resource_refs:
                return name
            raise _Unresolvable(f"!Ref {name}")
        raise _Unresolvable(f"!Ref {name} (no parameter or resource {name} in the template)")

    def _parameter(self, name: str) -> Any:
        declared = self.parameters[name]
        default = declared.get("Default") if isinstance(declared, dict) else None
        if default is None:
            raise _Unresolvable(f"!Ref {name} (parameter {name} has no Default)")
        kind = str(declared.get("Type", "String"))
        if kind.startswith(PARAMETER_LIST_TYPES) and isinstance(default, str):
            return [item.strip() for item in default.split(",")]
        return default

    def _get_att_function(self, argument: Any) -> Any:
        parts = argument.split(".", 1) if isinstance(argument, str) else argument
        if not isinstance(parts, list) or len(parts) != 2 or not isinstance(parts[0], str):
            raise _Malformed(f"{_describe('Fn::GetAtt', argument)}: expected [Resource, Attribute]")
        return self._get_att(parts[0], _text(self.resolve(parts[1]), "!GetAtt"))

    def _get_att(self, resource: str, attribute: str) -> Any:
        declared = self.resources.get(resource)
        is_function = isinstance(declared, dict) and declared.get("Type") in FUNCTION_TYPES
        if self.resource_refs and is_function and attribute == "Arn":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{resource}"
        raise _Unresolvable(f"!GetAtt {resource}.{attribute}")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            template, variables = argument[0], self.resolve(argument[1])
        else:
            template, variables = argument, {}
        if not isinstance(template, str):
            raise _Malformed(
                f"{_describe('Fn::Sub', argument)}: expected a string or [string, {{variables}}]"
            )

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # `${!Literal}` is the escape for a literal `${Literal}`
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                value = self._get_att(*name.split(".", 1))
            else:
                value = self._ref(name)
            return _text(value, f"${{{name}}} in !Sub")

        return SUB_REFERENCE.sub(substitute, template)

    # -- lists and text ------------------------------------------------------------------------

    def _arguments(self, function: str, argument: Any, count: int) -> list[Any]:
        if not isinstance(argument, list) or len(argument) != count:
            raise _Malformed(f"{_describe(function, argument)}: expected a list of {count}")
        return argument

    def _join(self, argument: Any) -> str:
        delimiter, items = self._arguments("Fn::Join", argument, 2)
        items = self.resolve(items)
        if not isinstance(items, list):
            raise _Malformed(f"{_describe('Fn::Join', argument)}: the second item must be a list")
        return _text(self.resolve(delimiter), "!Join").join(_text(item, "!Join") for item in items)

    def _select(self, argument: Any) -> Any:
        index, items = (self.resolve(part) for part in self._arguments("Fn::Select", argument, 2))
        text = _text(index, "!Select")
        if not isinstance(items, list):
            raise _Malformed(f"{_describe('Fn::Select', argument)}: the second item must be a list")
        if not text.isdigit() or int(text) >= len(items):
            raise _Malformed(f"{_describe('Fn::Select', argument)}: index {text} is out of range")
        return items[int(text)]

    def _split(self, argument: Any) -> list[str]:
        delimiter, source = (self.resolve(part) for part in self._arguments("Fn::Split", argument, 2))
        return _text(source, "!Split").split(_text(delimiter, "!Split"))

    def _find_in_map(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) not in (3, 4):
            raise _Malformed(f"{_describe('Fn::FindInMap', argument)}: expected [Map, TopKey, SecondKey]")
        keys = [_text(self.resolve(key), "!FindInMap") for key in argument[:3]]
        level: Any = self.mappings
        for key in keys:
            if not isinstance(level, dict) or key not in level:
                # The language extensions' optional fourth item: {DefaultValue: ...}.
                if len(argument) == 4 and isinstance(argument[3], dict) and "DefaultValue" in argument[3]:
                    return self.resolve(argument[3]["DefaultValue"])
                raise _Malformed(f"{_describe('Fn::FindInMap', keys)}: Mappings has no {key} there")
            level = level[key]
        return level

    def _base64(self, argument: Any) -> str:
        return base64.b64encode(_text(self.resolve(argument), "!Base64").encode()).decode("ascii")

    def _get_azs(self, argument: Any) -> list[str]:
        region = self.resolve(argument)
        if region in ("", REGION):
            return list(AVAILABILITY_ZONES)
        raise _Unresolvable(_describe("Fn::GetAZs", region))

    # -- conditions ----------------------------------------------------------------------------

    def _truth(self, value: Any, context: str) -> bool:
        """A condition: a named one (`!Condition X`) or an Equals/Not/And/Or expression."""
        if isinstance(value, dict) and list(value) == ["Condition"]:
            return self.condition(value["Condition"])
        result = self.resolve(value)
        if not isinstance(result, bool):
            raise _Malformed(f"{context}: expected a condition, got {json.dumps(result, default=str)[:100]}")
        return result

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = self._arguments("Fn::If", argument, 3)
        # Only the chosen branch is evaluated, so the other may refer to anything.
        return self.resolve(when_true if self.condition(name) else when_false)

    def _equals(self, argument: Any) -> bool:
        first, second = (self.resolve(part) for part in self._arguments("Fn::Equals", argument, 2))
        scalars = (str, int, float, bool)
        if isinstance(first, scalars) and isinstance(second, scalars):
            return _text(first, "!Equals") == _text(second, "!Equals")
        return bool(first == second)

    def _not(self, argument: Any) -> bool:
        (condition,) = self._arguments("Fn::Not", argument, 1)
        return not self._truth(condition, "!Not")

    def _and(self, argument: Any) -> bool:
        return all(self._truth(item, "!And") for item in self._conditions("Fn::And", argument))

    def _or(self, argument: Any) -> bool:
        return any(self._truth(item, "!Or") for item in self._conditions("Fn::Or", argument))

    def _conditions(self, function: str, argument: Any) -> list[Any]:
        if not isinstance(argument, list) or not 2 <= len(argument) <= 10:
            raise _Malformed(f"{_describe(function, argument)}: expected a list of 2 to 10 conditions")
        return argument


def _section(document: dict[str, Any], name: str) -> dict[str, Any]:
    section = document.get(name)
    return section if isinstance(section, dict) else {}


# -- Globals ----------------------------------------------------------------------------------


def _merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's rules: maps merge key by key, lists append, anything else is the function's own value.

    An intrinsic is a map in YAML but a single value once evaluated, so it counts as a scalar.
    """
    global_map = isinstance(global_value, dict) and _intrinsic_name(global_value) is None
    local_map = isinstance(local_value, dict) and _intrinsic_name(local_value) is None
    if global_map and local_map:
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_globals(merged[key], value) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


@dataclass(frozen=True)
class _Properties:
    values: dict[str, Any]  # the resource's properties, Globals merged in
    prefix: str  # "Resources.X.Properties"
    from_globals: frozenset[str]  # the keys only Globals gives

    def where(self, key: str) -> str:
        where = f"{self.prefix}.{key}"
        return f"{where} (from Globals.Function)" if key in self.from_globals else where


# -- the loader -------------------------------------------------------------------------------


class _Loader:
    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.base = self.path.parent

    def fail(self, where: str, message: str) -> SamError:
        return SamError(f"{self.path}: {where}: {message}" if where else f"{self.path}: {message}")

    def load(self) -> list[SamFunction]:
        document = self._read()
        resources = document.get("Resources")
        if not isinstance(resources, dict) or not resources:
            raise self.fail("", "no Resources section: a SAM template declares its functions under Resources")
        self.exact = _Intrinsics(document, self.base.name, resource_refs=False)
        self.lenient = _Intrinsics(document, self.base.name, resource_refs=True)
        globals_ = self._globals(document)
        functions: list[SamFunction] = []
        for logical_id, resource in resources.items():
            where = f"Resources.{logical_id}"
            if not isinstance(resource, dict):
                raise self.fail(where, "expected a mapping with Type and Properties")
            kind = resource.get("Type")
            if kind not in FUNCTION_TYPES or not self._created(resource, where):
                continue
            local = self._mapping(resource.get("Properties"), f"{where}.Properties")
            if kind == SERVERLESS_FUNCTION:
                merged = _merge_globals(globals_, local)
                properties = _Properties(
                    merged, f"{where}.Properties", frozenset(globals_.keys() - local.keys())
                )
                functions.append(self._serverless_function(str(logical_id), resource, properties))
            else:
                properties = _Properties(local, f"{where}.Properties", frozenset())
                functions.append(self._lambda_function(str(logical_id), properties))
        return functions

    def apis(self) -> list[SamApi]:
        document = self._read()
        self.lenient = _Intrinsics(document, self.base.name, resource_refs=True)
        apis: list[SamApi] = []
        for logical_id, resource in _section(document, "Resources").items():
            kind = API_TYPES.get(resource.get("Type")) if isinstance(resource, dict) else None
            if kind is None:
                continue
            where = f"Resources.{logical_id}"
            props = _Properties(
                self._mapping(resource.get("Properties"), f"{where}.Properties"), where, frozenset()
            )
            cors = self._lenient(props, "Cors" if kind == "Api" else "CorsConfiguration")
            stage = self._optional_text(props, "StageName")
            apis.append(SamApi(str(logical_id), kind, stage, cors, self.path))
        return apis

    def _read(self) -> dict[str, Any]:
        try:
            with self.path.open(encoding="utf-8") as stream:
                if self.path.suffix == ".json":
                    document = json.load(stream)
                else:
                    document = yaml.load(stream, Loader=_TemplateYAML)
        except (OSError, UnicodeDecodeError) as exc:
            raise self.fail("", f"cannot read: {exc}") from exc
        except (ValueError, RecursionError, yaml.YAMLError) as exc:
            language = "JSON" if self.path.suffix == ".json" else "YAML"
            raise self.fail("", f"invalid {language}: {exc}") from exc
        if not isinstance(document, dict):
            raise self.fail("", "the top level must be a mapping with a Resources section")
        return document

    def _globals(self, document: dict[str, Any]) -> dict[str, Any]:
        globals_ = self._mapping(document.get("Globals"), "Globals")
        return self._mapping(globals_.get("Function"), "Globals.Function")

    def _mapping(self, value: Any, where: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def _created(self, resource: dict[str, Any], where: str) -> bool:
        """False when the resource's Condition is false; CloudFormation would not create it."""
        if "Condition" not in resource:
            return True
        try:
            return self.exact.condition(resource["Condition"])
        except _Unresolvable:
            return True  # a condition on a parameter without Default: assume the resource exists
        except _Malformed as exc:
            raise self.fail(f"{where}.Condition", str(exc)) from exc

    # -- the two function types ----------------------------------------------------------------

    def _serverless_function(
        self, logical_id: str, resource: dict[str, Any], props: _Properties
    ) -> SamFunction:
        package_type = self._package_type(props)
        image_uri = self._optional_text(props, "ImageUri")
        if package_type == "Image":
            code_dir = self._docker_context(resource, f"Resources.{logical_id}.Metadata.DockerContext")
        elif "InlineCode" in props.values:
            raise self.fail(
                props.where("InlineCode"),
                "inline code is not supported locally; put it in a folder named by CodeUri",
            )
        else:
            code_dir = self._code_location(props, "CodeUri")
        events = self._mapping(self._lenient(props, "Events"), props.where("Events"))
        function_url = None
        if props.values.get("FunctionUrlConfig") is not None:
            function_url = self._mapping(
                self._lenient(props, "FunctionUrlConfig"), props.where("FunctionUrlConfig")
            )
        function = self._function(logical_id, props, package_type, code_dir, image_uri, events, function_url)
        if package_type != "Image":
            return function
        metadata = resource.get("Metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        dockerfile = metadata.get("Dockerfile")
        if dockerfile is None and image_uri is None:
            raise self.fail(
                props.where("ImageUri"), "an Image function needs ImageUri or Metadata.Dockerfile"
            )
        return replace(
            function,
            dockerfile=None if dockerfile is None else str(dockerfile),
            docker_tag=str(metadata.get("DockerTag") or "latest"),
        )

    def _lambda_function(self, logical_id: str, props: _Properties) -> SamFunction:
        package_type = self._package_type(props)
        code = props.values.get("Code")
        where = props.where("Code")
        image_uri = None
        if isinstance(code, dict) and _intrinsic_name(code) is None:
            if "ZipFile" in code:
                raise self.fail(
                    f"{where}.ZipFile",
                    "inline code is not supported locally; use CodeUri or a local Code path",
                )
            if "S3Bucket" in code or "S3Key" in code:
                raise self.fail(where, "code in S3 is not supported locally; set Code to the local folder")
            if "ImageUri" not in code:
                raise self.fail(where, "expected ImageUri, or a local folder as Code")
            if package_type != "Image":
                raise self.fail(props.where("PackageType"), "must be Image for a Code.ImageUri")
            image_uri = self._optional_text(_Properties(code, where, frozenset()), "ImageUri")
            code_dir = self.base
        elif code is None:
            raise self.fail(where, "Code is required")
        else:
            code_dir = self._code_location(props, "Code")
        return self._function(logical_id, props, package_type, code_dir, image_uri, {}, None)

    def _function(
        self,
        logical_id: str,
        props: _Properties,
        package_type: str,
        code_dir: Path,
        image_uri: str | None,
        events: dict[str, Any],
        function_url: dict[str, Any] | None,
    ) -> SamFunction:
        runtime, handler = self._runtime_and_handler(props, package_type)
        timeout = self._integer(props, "Timeout", TIMEOUT_RANGE)
        memory_size = self._integer(props, "MemorySize", MEMORY_RANGE)
        image_config = None
        if package_type == "Image" and self._needed(props, "ImageConfig") is not None:
            image_config = self._mapping(self._needed(props, "ImageConfig"), props.where("ImageConfig"))
        return SamFunction(
            name=logical_id,
            runtime=runtime,
            handler=handler,
            code_dir=code_dir,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            memory_size=DEFAULT_MEMORY_SIZE if memory_size is None else memory_size,
            environment=self._environment(props),
            reserved_concurrency=self._integer(props, "ReservedConcurrentExecutions", (0, None)),
            description=_env_text(self._lenient(props, "Description")),
            architectures=self._architectures(props),
            package_type=package_type,
            image_uri=image_uri,
            layers=self._layers(props),
            events=events,
            function_url=function_url,
            template=self.path,
            function_name=self._optional_text(props, "FunctionName"),
            image_config=image_config,
        )

    # -- properties emu needs: exact values or an error ----------------------------------------

    def _needed(self, props: _Properties, key: str) -> Any:
        """The property evaluated exactly; None when absent or `AWS::NoValue`."""
        try:
            value = self.exact.resolve(props.values.get(key))
        except _Unresolvable as exc:
            raise self.fail(props.where(key), f"cannot be resolved locally: {exc}") from exc
        except _Malformed as exc:
            raise self.fail(props.where(key), str(exc)) from exc
        return None if value is NO_VALUE else value

    def _needed_text(self, props: _Properties, key: str) -> str | None:
        value = self._needed(props, key)
        if value is not None and not isinstance(value, str):
            raise self.fail(props.where(key), f"expected a string, got {value!r}")
        return value

    def _package_type(self, props: _Properties) -> str:
        package_type = self._needed_text(props, "PackageType") or "Zip"
        if package_type not in PACKAGE_TYPES:
            raise self.fail(props.where("PackageType"), f"expected Zip or Image, got '{package_type}'")
        return package_type

    def _runtime_and_handler(self, props: _Properties, package_type: str) -> tuple[str | None, str | None]:
        if package_type == "Image":
            return None, None
        runtime = self._needed_text(props, "Runtime")
        if runtime is None:
            raise self.fail(props.where("Runtime"), "Runtime is required for a Zip function")
        handler = self._needed_text(props, "Handler")
        # A custom runtime's bootstrap may ignore the handler, so the template may leave it out.
        if handler is None and not runtime.startswith("provided"):
            raise self.fail(props.where("Handler"), "Handler is required for a Zip function")
        return runtime, handler

    def _code_location(self, props: _Properties, key: str) -> Path:
        """CodeUri (or a Lambda function's Code) as a local folder or .zip; default the template folder."""
        raw = props.values.get(key)
        if isinstance(raw, dict) and _intrinsic_name(raw) is None:
            raise self.fail(
                props.where(key), "code in S3 is not supported locally; point it at the local folder"
            )
        location = self._needed(props, key)
        if location is None:
            return self.base
        if not isinstance(location, str):
            raise self.fail(props.where(key), f"expected a local folder, got {location!r}")
        if location.startswith("s3://"):
            raise self.fail(props.where(key), f"code in S3 is not supported locally: {location}")
        target = (self.base / location).resolve()
        if target.is_dir() or (target.is_file() and target.suffix.lower() == ".zip"):
            return target
        if target.exists():
            raise self.fail(props.where(key), f"not a folder or a .zip file: {location}")
        raise self.fail(props.where(key), f"folder not found: {location}")

    def _docker_context(self, resource: dict[str, Any], where: str) -> Path:
        """An Image function's build folder: Metadata.DockerContext, or the template's folder."""
        metadata = resource.get("Metadata")
        context = metadata.get("DockerContext") if isinstance(metadata, dict) else None
        if context is None:
            return self.base
        target = (self.base / str(context)).resolve()
        if not target.is_dir():
            raise self.fail(where, f"folder not found: {context}")
        return target

    def _integer(self, props: _Properties, key: str, bounds: tuple[int, int | None]) -> int | None:
        value = self._needed(props, key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(props.where(key), f"expected an integer, got {value!r}")
        low, high = bounds
        if value < low or (high is not None and value > high):
            limit = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise self.fail(props.where(key), f"must be {limit}, got {value}")
        return value

    # -- other properties: evaluated where possible --------------------------------------------

    def _lenient(self, props: _Properties, key: str) -> Any:
        """The property with what can be evaluated evaluated; None when absent or `AWS::NoValue`."""
        try:
            value = self.lenient.resolve_where_possible(props.values.get(key))
        except _Malformed as exc:
            raise self.fail(props.where(key), str(exc)) from exc
        return None if value is NO_VALUE else value

    def _optional_text(self, props: _Properties, key: str) -> str | None:
        value = self._lenient(props, key)
        return value if isinstance(value, str) else None

    def _environment(self, props: _Properties) -> dict[str, str]:
        """Environment.Variables as text, the way `sam local` passes them.

        An unresolvable value is an empty string, as `sam local` does for every intrinsic it
        cannot evaluate; the function sees the variable set, but blank.
        """
        environment = self._mapping(self._lenient(props, "Environment"), props.where("Environment"))
        variables = self._mapping(environment.get("Variables"), f"{props.where('Environment')}.Variables")
        return {str(name): _env_text(value) for name, value in variables.items()}

    def _architectures(self, props: _Properties) -> tuple[str, ...]:
        value = self._lenient(props, "Architectures")
        if value is None:
            return (ARCHITECTURES[0],)
        if not isinstance(value, list) or len(value) != 1 or value[0] not in ARCHITECTURES:
            raise self.fail(props.where("Architectures"), f"expected [x86_64] or [arm64], got {value!r}")
        return (value[0],)

    def _layers(self, props: _Properties) -> tuple[str, ...]:
        value = self._lenient(props, "Layers")
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(props.where("Layers"), f"expected a list of layer ARNs, got {value!r}")
        # A layer of another stack (`!ImportValue`) cannot be named locally; it is left out.
        return tuple(layer for layer in value if isinstance(layer, str))


def _env_text(value: Any) -> str:
    """A value as `sam local` passes it to the function: booleans lower-case, anything unresolved blank."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)
