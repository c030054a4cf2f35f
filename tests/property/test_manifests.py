"""Project manifests: any YAML a user could save loads, or fails with the loader's own error.

A manifest error becomes a console warning; any other exception would stop `emu up` or a reload.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from providers.aws_lambda.apigateway.routes import RouteTable
from providers.aws_lambda.sam import SamError, load_apis, load_template
from providers.openwhisk.manifest import (
    ACTION_KEYS,
    LIMIT_NAMES,
    PACKAGE_KEYS,
    PROJECT_KEYS,
    SEQUENCE_KEYS,
    TOP_KEYS,
    ManifestError,
    load_manifest,
)

SAM_WORDS = [
    "AWSTemplateFormatVersion", "Transform", "Globals", "Function", "Parameters", "Conditions", "Mappings",
    "Resources", "Type", "Properties", "Condition", "Default", "Runtime", "Handler", "CodeUri", "InlineCode",
    "Code", "ZipFile", "ImageUri", "PackageType", "Timeout", "MemorySize", "Environment", "Variables",
    "Events", "Path", "Method", "RestApiId", "ApiId", "StageName", "Cors", "CorsConfiguration",
    "FunctionUrlConfig", "AuthType", "ReservedConcurrentExecutions", "Architectures", "Layers",
    "FunctionName", "Description", "Api", "HttpApi", "AWS::Serverless::Function", "AWS::Lambda::Function",
    "AWS::Serverless::Api", "AWS::Serverless::HttpApi", "Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join",
    "Fn::If", "Fn::Select", "Fn::Split", "Fn::FindInMap", "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or",
    "Fn::GetAZs", "Fn::Base64", "Fn::ImportValue", "AWS::Region", "AWS::NoValue", "AWS::StackName",
    "python3.12", "nodejs20.x", "provided.al2023", "app.handler", "src", "F", "A", "X", "Zip", "Image",
    "${AWS::Region}", "${F.Arn}", "${X}", "/users/{id}", "{proxy+}", "x86_64", "arm64", "CommaDelimitedList",
]  # fmt: skip
OW_WORDS = sorted(
    TOP_KEYS | PROJECT_KEYS | PACKAGE_KEYS | ACTION_KEYS | SEQUENCE_KEYS | set(LIMIT_NAMES)
    | {"default", "demo", "hello", "hello.py", "echo.js", "python:3.11", "nodejs:20", "main", "raw",
       "yes", "no", "true", "hello, demo/hello", "a/b", "..", "$FOO", "${BAR}", "type", "value",
       "string", "integer", "json", "boolean", "float"}
)  # fmt: skip

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=12),
)  # fmt: skip


def documents(words: list[str]) -> st.SearchStrategy[object]:
    """Nested mappings and lists whose keys and values lean towards the format's own words."""
    leaves = st.one_of(st.sampled_from(words), scalars)
    keys = st.one_of(st.sampled_from(words), st.text(max_size=6), st.integers(0, 3))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
        max_leaves=30,
    )


def shaped(keys: list[str], values: st.SearchStrategy[object]) -> st.SearchStrategy[dict[str, object]]:
    """A mapping of the format's own keys (and now and then another), so loading gets past its first check."""
    return st.dictionaries(
        st.one_of(st.sampled_from(keys), st.sampled_from(keys), st.text(max_size=4)), values, max_size=6
    )


ow_values = documents(OW_WORDS)
ow_entities = st.dictionaries(st.sampled_from(["hello", "echo", "s", "a b", "é", ""]), st.one_of(
    shaped(sorted(ACTION_KEYS), ow_values), shaped(sorted(SEQUENCE_KEYS), ow_values), ow_values
), max_size=3)  # fmt: skip
ow_package = st.one_of(
    shaped(sorted(PACKAGE_KEYS), ow_values),
    st.fixed_dictionaries(
        {}, optional={"actions": ow_entities, "sequences": ow_entities, "inputs": ow_values}
    ),
)
ow_documents = st.one_of(
    st.fixed_dictionaries(
        {
            "packages": st.dictionaries(
                st.sampled_from(["default", "demo", "x y", "1"]), ow_package, max_size=3
            )
        }
    ),
    st.fixed_dictionaries(
        {"package": st.one_of(ow_package, ow_package.map(lambda p: {**p, "name": "demo"}))}
    ),
    st.fixed_dictionaries({"project": shaped(sorted(PROJECT_KEYS), ow_values)}),
    st.dictionaries(st.sampled_from(sorted(TOP_KEYS)), ow_values, max_size=2),
)
sam_values = documents(SAM_WORDS)
SAM_PROPERTIES = [word for word in SAM_WORDS if word[0].isupper() and "::" not in word]
sam_resource = st.fixed_dictionaries(
    {"Type": st.sampled_from(["AWS::Serverless::Function", "AWS::Lambda::Function", "AWS::Serverless::Api",
                              "AWS::Serverless::HttpApi", "AWS::S3::Bucket"])},
    optional={
        "Properties": st.one_of(
            shaped(SAM_PROPERTIES, sam_values),
            st.fixed_dictionaries({"Runtime": st.just("python3.12"), "Handler": st.just("app.handler"),
                                   "CodeUri": st.just("src")}, optional={"Events": sam_values, "Timeout": sam_values}),
        ),
        "Condition": sam_values,
    },
)  # fmt: skip
sam_documents = st.fixed_dictionaries(
    {"Resources": st.dictionaries(st.sampled_from(["F", "G", "A", "X"]), sam_resource, max_size=3)},
    optional={
        "Globals": st.one_of(st.fixed_dictionaries({"Function": shaped(SAM_PROPERTIES, sam_values)}), sam_values),
        "Parameters": st.dictionaries(st.sampled_from(["X", "P"]), shaped(["Type", "Default"], sam_values), max_size=2),
        "Conditions": st.dictionaries(st.sampled_from(["C", "D"]), sam_values, max_size=2),
        "Mappings": sam_values,
    },
)  # fmt: skip


# YAML that a dump of plain values never produces: tags (the short forms of intrinsics), anchors,
# and text that is not YAML at all.
raw_yaml = st.lists(
    st.sampled_from(
        [
            "Resources:\n",
            "  F:\n",
            "    Type: AWS::Serverless::Function\n",
            "    Properties:\n",
            "      Handler: !Ref X\n",
            "      CodeUri: !Sub '${AWS::Region}'\n",
            "      Runtime: !If [C, a, b]\n",
            "      Timeout: !GetAtt F.Arn\n",
            "      Events: !Select [9, []]\n",
            "Conditions:\n  C: !Equals [1]\n",
            "packages:\n",
            "  demo:\n",
            "    actions:\n",
            "      hello:\n",
            "        function: hello.py\n",
            "        limits: {timeout: x}\n",
            "    sequences: {s: {actions: 'hello, s'}}\n",
            "a: &a [*a]\n",
            "!!python/object:os.system {}\n",
            "- [\n",
            "\t",
            "'",
            ": :\n",
            "\x00",
            "\ufeff",
            "%YAML 9\n",
            "!Unknown x\n",
            "key: !Ref\n",
            "? [a]\n: b\n",
        ]
    ),
    max_size=12,
).map("".join)


@pytest.fixture(scope="module")
def project() -> Iterator[Path]:
    """A folder with code files a manifest can point at; each example rewrites the manifest in it."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "hello.py").write_text("def main(args):\n    return args\n")
        (root / "echo.js").write_text("function main(p) { return p }\n")
        (root / "src").mkdir()
        (root / "src" / "app.py").write_text("def handler(e, c):\n    return e\n")
        yield root


def load_openwhisk(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(ManifestError):
        load_manifest(path)


def load_sam(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        functions = load_template(path)
        RouteTable.from_sam(functions, load_apis(path))
    except SamError:
        pass


@given(ow_documents)
def test_any_manifest_document(project: Path, document: object) -> None:
    load_openwhisk(project / "manifest.yaml", yaml.safe_dump(document))


@given(st.one_of(raw_yaml, st.text(max_size=200)))
@example("packages: " + "[" * 5000)  # nested deeper than the parser's stack
@example("packages:\n  p:\n    inputs:\n      j: {type: json, value: '" + "[" * 5000 + "'}\n")
def test_any_manifest_text(project: Path, text: str) -> None:
    load_openwhisk(project / "manifest.yaml", text)


@given(sam_documents)
def test_any_sam_document(project: Path, document: object) -> None:
    load_sam(project / "template.yaml", yaml.safe_dump(document))


@given(st.one_of(raw_yaml, st.text(max_size=200)))
@example("Resources: " + "[" * 5000)
def test_any_sam_text(project: Path, text: str) -> None:
    load_sam(project / "template.yaml", text)
