import base64
import importlib.util
import json
import os
import py_compile
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from providers.aws_lambda.sam import SamError, SamFunction, find_templates, load_template

SAMPLE = Path(__file__).parents[2] / "sample_functions" / "aws"


def template(
    tmp_path: Path, text: str, folders: tuple[str, ...] = ("src",), name: str = "template.yaml"
) -> Path:
    for folder in folders:
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def load_one(tmp_path: Path, text: str, folders: tuple[str, ...] = ("src",)) -> SamFunction:
    (function,) = load_template(template(tmp_path, text, folders))
    return function


def one_function(tmp_path: Path, properties: str, head: str = "") -> SamFunction:
    """A template with `head` (Parameters, Globals...) and the function `Fn` with extra properties."""
    body = textwrap.indent(textwrap.dedent(properties), " " * 6)
    text = (
        textwrap.dedent(head)
        + "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        + "      CodeUri: src/\n      Handler: app.handler\n      Runtime: python3.12\n"
        + body
    )
    return load_one(tmp_path, text)


def env_of(tmp_path: Path, variables: str, head: str = "") -> dict[str, str]:
    variables = textwrap.indent(textwrap.dedent(variables), " " * 4)
    return one_function(tmp_path, "Environment:\n  Variables:\n" + variables, head).environment


def error_of(tmp_path: Path, text: str, folders: tuple[str, ...] = ("src",)) -> str:
    with pytest.raises(SamError) as caught:
        load_template(template(tmp_path, text, folders))
    return str(caught.value)


# -- the sample project --------------------------------------------------------------------


def test_sample_functions():
    functions = {function.name: function for function in load_template(SAMPLE / "template.yaml")}
    assert list(functions) == [
        "HelloPythonFunction",
        "HelloNodeFunction",
        "CustomRuntimeFunction",
        "HttpApiFunction",
    ]
    python, node, custom, _ = functions.values()
    assert (python.runtime, python.handler, python.code_dir) == (
        "python3.12",
        "app.lambda_handler",
        SAMPLE.resolve() / "hello_python",
    )
    assert (node.runtime, node.handler, node.code_dir) == (
        "nodejs20.x",
        "app.handler",
        SAMPLE.resolve() / "hello_node",
    )
    assert (custom.runtime, custom.handler, custom.code_dir) == (
        "provided.al2023",
        "function.handler",
        SAMPLE.resolve() / "custom_runtime",
    )
    for function in functions.values():
        assert (function.timeout, function.memory_size) == (10, 256)
        assert function.environment["GREETING"] == "Hello"
        assert function.environment["STAGE"] == "dev"
        assert function.architectures == ("x86_64",)
        assert function.package_type == "Zip"
        assert function.template == (SAMPLE / "template.yaml").resolve()
    # AWS::StackName is the project folder's name.
    assert python.environment["SERVICE_NAME"] == "aws-hello-dev"
    assert python.events == {"HelloApi": {"Type": "Api", "Properties": {"Path": "/hello", "Method": "get"}}}
    assert node.function_url == {"AuthType": "NONE"}
    assert python.function_url is None
    assert custom.description.startswith("A Python script")


def test_sample_python_handler(monkeypatch):
    monkeypatch.setenv("GREETING", "Hi")
    monkeypatch.setenv("STAGE", "dev")
    spec = importlib.util.spec_from_file_location("sample_hello_python", SAMPLE / "hello_python" / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    result = app.lambda_handler({"name": "Ann"}, None)
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"message": "Hi, Ann!", "stage": "dev"}
    through_api = app.lambda_handler({"queryStringParameters": {"name": "Bo"}}, None)
    assert json.loads(through_api["body"])["message"] == "Hi, Bo!"
    assert json.loads(app.lambda_handler({}, None)["body"])["message"] == "Hi, World!"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_sample_node_handler():
    script = "require('./app.js').handler({name: 'Ann'}).then(r => console.log(JSON.stringify(r)))"
    env = {**os.environ, "GREETING": "Hey", "STAGE": "dev"}
    run = subprocess.run(
        ["node", "-e", script], cwd=SAMPLE / "hello_node", env=env, capture_output=True, text=True
    )
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"message": "Hey, Ann!", "stage": "dev"}


def test_sample_bootstrap_is_an_executable_python_script(tmp_path):
    bootstrap = SAMPLE / "custom_runtime" / "bootstrap"
    assert os.access(bootstrap, os.X_OK)
    assert bootstrap.read_text().startswith("#!/usr/bin/env python3\n")
    py_compile.compile(str(bootstrap), cfile=str(tmp_path / "bootstrap.pyc"), doraise=True)


# -- finding templates ---------------------------------------------------------------------


def test_find_templates_skips_build_and_dependency_folders(tmp_path):
    for name in [
        "template.yaml",
        "b/template.yml",
        "a/template.json",
        "a/deep/template.yaml",
        ".aws-sam/build/template.yaml",
        "node_modules/x/template.yaml",
        ".venv/template.yaml",
        "__pycache__/template.yaml",
        ".hidden/template.yaml",
        "other.yaml",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("Resources: {}\n")
    assert find_templates(tmp_path) == [
        tmp_path / "a/deep/template.yaml",
        tmp_path / "a/template.json",
        tmp_path / "b/template.yml",
        tmp_path / "template.yaml",
    ]


def test_find_templates_skips_files_that_are_not_cloudformation(tmp_path):
    (tmp_path / "template.json").write_text('{"name": "a project template of another tool"}')
    assert find_templates(tmp_path) == []


# -- properties and defaults ---------------------------------------------------------------


def test_defaults(tmp_path):
    function = one_function(tmp_path, "")
    assert function == SamFunction(
        name="Fn",
        runtime="python3.12",
        handler="app.handler",
        code_dir=tmp_path.resolve() / "src",
        timeout=3,
        memory_size=128,
        environment={},
        reserved_concurrency=None,
        description="",
        architectures=("x86_64",),
        package_type="Zip",
        image_uri=None,
        layers=(),
        events={},
        function_url=None,
        template=(tmp_path / "template.yaml").resolve(),
    )


def test_all_properties(tmp_path):
    function = one_function(
        tmp_path,
        """
        FunctionName: hello-fn
        Timeout: "30"
        MemorySize: 1024
        ReservedConcurrentExecutions: 2
        Description: says hello
        Architectures: [arm64]
        Layers: [arn:aws:lambda:us-east-1:000000000000:layer:deps:1]
        Environment:
          Variables: {COUNT: 3, DEBUG: true, RATIO: 0.5, EMPTY: null}
        """,
    )
    assert (function.timeout, function.memory_size, function.reserved_concurrency) == (30, 1024, 2)
    assert function.function_name == "hello-fn"
    assert function.description == "says hello"
    assert function.architectures == ("arm64",)
    assert function.layers == ("arn:aws:lambda:us-east-1:000000000000:layer:deps:1",)
    # Values become text the way `sam local` writes them.
    assert function.environment == {"COUNT": "3", "DEBUG": "true", "RATIO": "0.5", "EMPTY": ""}


def test_code_uri_defaults_to_the_template_folder_and_may_be_a_zip(tmp_path):
    (tmp_path / "code.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    text = """
    Resources:
      Here:
        Type: AWS::Serverless::Function
        Properties: {Handler: app.handler, Runtime: python3.12}
      Zipped:
        Type: AWS::Serverless::Function
        Properties: {Handler: app.handler, Runtime: python3.12, CodeUri: code.zip}
    """
    here, zipped = load_template(template(tmp_path, text))
    assert here.code_dir == tmp_path.resolve()
    assert zipped.code_dir == tmp_path.resolve() / "code.zip"


def test_provided_runtime_needs_no_handler(tmp_path):
    function = load_one(
        tmp_path,
        """
        Resources:
          Custom:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src, Runtime: provided.al2023}
        """,
    )
    assert (function.runtime, function.handler) == ("provided.al2023", None)


def test_other_resources_and_top_level_keys_are_ignored(tmp_path):
    text = """
    AWSTemplateFormatVersion: 2010-09-09
    Transform: AWS::Serverless-2016-10-31
    Metadata: {AWS::ServerlessRepo::Application: {Name: x}}
    Rules: {}
    Outputs: {Arn: {Value: !GetAtt Fn.Arn}}
    Resources:
      Table:
        Type: AWS::DynamoDB::Table
        Properties: {TableName: !ImportValue nope}
      Fn:
        Type: AWS::Serverless::Function
        Metadata: {BuildMethod: makefile}
        Properties: {CodeUri: src, Handler: app.handler, Runtime: python3.12}
    """
    assert [function.name for function in load_template(template(tmp_path, text))] == ["Fn"]


def test_json_template(tmp_path):
    document = {
        "Parameters": {"Stage": {"Type": "String", "Default": "prod"}},
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "src",
                    "Handler": "app.handler",
                    "Runtime": "nodejs20.x",
                    "Environment": {"Variables": {"STAGE": {"Fn::Sub": "${Stage}-${AWS::Region}"}}},
                },
            }
        },
    }
    (function,) = load_template(template(tmp_path, json.dumps(document), name="template.json"))
    assert function.environment == {"STAGE": "prod-us-east-1"}


def test_false_condition_leaves_the_function_out(tmp_path):
    text = """
    Parameters: {Stage: {Type: String, Default: dev}}
    Conditions: {IsProd: !Equals [!Ref Stage, prod]}
    Resources:
      ProdOnly:
        Type: AWS::Serverless::Function
        Condition: IsProd
        Properties: {CodeUri: src, Handler: app.handler, Runtime: python3.12}
      Always:
        Type: AWS::Serverless::Function
        Properties: {CodeUri: src, Handler: app.handler, Runtime: python3.12}
    """
    assert [function.name for function in load_template(template(tmp_path, text))] == ["Always"]


# -- Globals -------------------------------------------------------------------------------


def test_globals_merge(tmp_path):
    text = """
    Globals:
      Function:
        Runtime: python3.12
        Handler: app.handler
        CodeUri: src/
        Timeout: 10
        MemorySize: 512
        Layers: [arn:global]
        Environment:
          Variables: {TABLE: global-table, SHARED: from-globals}
    Resources:
      Overrides:
        Type: AWS::Serverless::Function
        Properties:
          Timeout: 20
          Layers: [arn:local]
          Environment:
            Variables: {SHARED: from-function, OWN: mine}
      Inherits:
        Type: AWS::Serverless::Function
      Plain:
        Type: AWS::Lambda::Function
        Properties: {Code: src, Handler: app.handler, Runtime: python3.12}
    """
    overrides, inherits, plain = load_template(template(tmp_path, text))
    # Scalars: the function's own value wins; maps merge key by key; lists append.
    assert (overrides.timeout, overrides.memory_size) == (20, 512)
    assert overrides.environment == {"TABLE": "global-table", "SHARED": "from-function", "OWN": "mine"}
    assert overrides.layers == ("arn:global", "arn:local")
    assert (inherits.runtime, inherits.handler, inherits.code_dir) == (
        "python3.12",
        "app.handler",
        tmp_path.resolve() / "src",
    )
    assert inherits.environment == {"TABLE": "global-table", "SHARED": "from-globals"}
    # Globals apply to AWS::Serverless::Function only.
    assert (plain.timeout, plain.memory_size, plain.environment, plain.layers) == (3, 128, {}, ())


def test_an_intrinsic_replaces_a_global_map_whole(tmp_path):
    head = """
    Conditions: {Never: !Equals [a, b]}
    Globals:
      Function:
        Environment: {Variables: {FROM_GLOBALS: "yes"}}
    """
    function = one_function(
        tmp_path, "Environment: !If [Never, {Variables: {A: a}}, {Variables: {B: b}}]", head
    )
    assert function.environment == {"B": "b"}


def test_an_error_in_a_global_property_says_so(tmp_path):
    text = """
    Globals: {Function: {CodeUri: missing/, Runtime: python3.12, Handler: app.handler}}
    Resources:
      Fn: {Type: AWS::Serverless::Function}
    """
    message = error_of(tmp_path, text)
    assert "Resources.Fn.Properties.CodeUri (from Globals.Function): folder not found: missing/" in message


# -- intrinsic functions -------------------------------------------------------------------

HEAD = """
Parameters:
  Stage: {Type: String, Default: dev}
  Size: {Type: Number, Default: 512}
  Names: {Type: CommaDelimitedList, Default: "alpha, beta,gamma"}
Mappings:
  StageConfig:
    dev: {Table: dev-table, Level: debug}
    prod: {Table: prod-table, Level: info}
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
  IsProd: !Equals [prod, !Ref Stage]
  NotProd: !Not [!Condition IsProd]
  DevAndNotProd: !And [!Condition IsDev, !Condition NotProd]
  ProdOrDev: !Or [!Condition IsProd, !Equals [!Ref Stage, dev]]
  LongForm: {"Fn::Equals": [{"Ref": "AWS::Region"}, us-east-1]}
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("!Ref Stage", "dev"),
        ("!Ref Size", "512"),
        ("!Ref AWS::Region", "us-east-1"),
        ("!Ref AWS::AccountId", "000000000000"),
        ("!Ref AWS::Partition", "aws"),
        ("!Ref AWS::URLSuffix", "amazonaws.com"),
        ("!Sub 'table-${Stage}-${AWS::Region}'", "table-dev-us-east-1"),
        ("!Sub ['${Name}/${Stage}', {Name: !Ref AWS::AccountId}]", "000000000000/dev"),
        ("!Sub 'literal ${!Stage} and ${Stage}'", "literal ${Stage} and dev"),
        ("!Sub 'arn:${AWS::Partition}:s3:::bucket-${AWS::AccountId}'", "arn:aws:s3:::bucket-000000000000"),
        ("!Join ['-', [a, !Ref Stage, 3]]", "a-dev-3"),
        ("!Join [',', !Ref Names]", "alpha,beta,gamma"),
        ("!Select [1, !Ref Names]", "beta"),
        ("!Select ['2', [x, y, z]]", "z"),
        ("!Select [0, !Split ['/', 'first/second']]", "first"),
        ("!Join ['+', !Split [',', 'a,b,c']]", "a+b+c"),
        ("!FindInMap [StageConfig, !Ref Stage, Table]", "dev-table"),
        ("!FindInMap [StageConfig, prod, Level]", "info"),
        ("!FindInMap [StageConfig, test, Level, {DefaultValue: warn}]", "warn"),
        ("!If [IsDev, on-dev, on-prod]", "on-dev"),
        ("!If [IsProd, on-prod, !If [NotProd, not-prod, never]]", "not-prod"),
        ("!If [DevAndNotProd, both, neither]", "both"),
        ("!If [ProdOrDev, either, neither]", "either"),
        ("!If [LongForm, long, short]", "long"),
        ("!Base64 {'Fn::Sub': '${Stage}!'}", base64.b64encode(b"dev!").decode()),
        ("!Select [0, !GetAZs '']", "us-east-1a"),
        ("{'Fn::Join': ['', [{'Ref': 'Stage'}, {'Fn::Sub': '-${AWS::Region}'}]]}", "dev-us-east-1"),
        ("{'Fn::Select': [1, {'Fn::Split': ['.', 'a.b.c']}]}", "b"),
        ("{'Fn::If': [IsProd, x, {'Fn::Base64': abc}]}", "YWJj"),
    ],
)
def test_intrinsic_resolution(tmp_path, value, expected):
    assert env_of(tmp_path, f"VALUE: {value}", HEAD) == {"VALUE": expected}


def test_stack_name_is_the_folder_name(tmp_path):
    project = tmp_path / "my-app"
    project.mkdir()
    assert env_of(project, "NAME: !Sub '${AWS::StackName}-fn'") == {"NAME": "my-app-fn"}


def test_no_value_removes_the_key(tmp_path):
    variables = """
    KEPT: !If [IsDev, kept, !Ref AWS::NoValue]
    GONE: !If [IsProd, there, !Ref AWS::NoValue]
    """
    assert env_of(tmp_path, variables, HEAD) == {"KEPT": "kept"}
    properties = """
    Timeout: !If [IsProd, 30, !Ref AWS::NoValue]
    Description: !If [IsProd, prod, !Ref AWS::NoValue]
    Layers: [arn:kept, !If [IsProd, arn:gone, !Ref AWS::NoValue]]
    """
    function = one_function(tmp_path, properties, HEAD)
    assert (function.timeout, function.description, function.layers) == (3, "", ("arn:kept",))


def test_needed_properties_take_intrinsics(tmp_path):
    text = """
    Parameters:
      Stage: {Type: String, Default: dev}
      Seconds: {Type: Number, Default: 42}
      Size: {Type: Number, Default: "512"}
    Mappings:
      Limits: {dev: {Concurrency: 5}}
    Conditions:
      IsDev: !Equals [!Ref Stage, dev]
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: !Sub "${Stage}-code/"
          Handler: !Join [".", [app, handler]]
          Runtime: !If [IsDev, python3.12, nodejs20.x]
          Timeout: !Ref Seconds
          MemorySize: !Ref Size
          ReservedConcurrentExecutions: !FindInMap [Limits, !Ref Stage, Concurrency]
    """
    function = load_one(tmp_path, text, folders=("dev-code",))
    assert function.code_dir == tmp_path.resolve() / "dev-code"
    assert (function.handler, function.runtime) == ("app.handler", "python3.12")
    assert (function.timeout, function.memory_size, function.reserved_concurrency) == (42, 512, 5)


def test_unresolvable_environment_values_follow_sam_local(tmp_path):
    head = """
    Parameters: {NoDefault: {Type: String}}
    Resources:
      Table: {Type: AWS::DynamoDB::Table}
      Other:
        Type: AWS::Lambda::Function
        Properties: {Code: src, Handler: app.handler, Runtime: python3.12}
    """
    text = (
        textwrap.dedent(head)
        + """
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Handler: app.handler
      Runtime: python3.12
      Layers: [!Ref SharedLayer, !ImportValue other-stack-layer, arn:plain]
      Environment:
        Variables:
          TABLE_NAME: !Ref Table
          TABLE_ARN: !GetAtt Table.Arn
          TABLE_IN_SUB: !Sub "name=${Table} arn=${Table.Arn}"
          OTHER_ARN: !GetAtt Other.Arn
          OTHER_IN_SUB: !Sub "${Other.Arn}:live"
          IMPORTED: !ImportValue shared-bucket
          NO_DEFAULT: !Ref NoDefault
          UNKNOWN: !Ref NotDeclaredAnywhere
          PLAIN: plain
  SharedLayer: {Type: AWS::Serverless::LayerVersion}
"""
    )
    (_, function) = load_template(template(tmp_path, text))
    arn = "arn:aws:lambda:us-east-1:000000000000:function:Other"
    assert function.environment == {
        # sam local: a Ref to a resource is its logical id...
        "TABLE_NAME": "Table",
        # ...and whatever it cannot evaluate is blank.
        "TABLE_ARN": "",
        "TABLE_IN_SUB": "",
        # A function's ARN is known locally: emu serves it under its logical id.
        "OTHER_ARN": arn,
        "OTHER_IN_SUB": f"{arn}:live",
        "IMPORTED": "",
        "NO_DEFAULT": "",
        "UNKNOWN": "",
        "PLAIN": "plain",
    }
    assert function.layers == ("SharedLayer", "arn:plain")


def test_events_are_resolved_where_possible(tmp_path):
    text = """
    Parameters: {Stage: {Type: String, Default: dev}}
    Resources:
      Api: {Type: AWS::Serverless::Api, Properties: {StageName: !Ref Stage}}
      Stream: {Type: AWS::Kinesis::Stream}
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: src
          Handler: app.handler
          Runtime: python3.12
          FunctionUrlConfig: {AuthType: NONE, Cors: {AllowOrigins: [!Sub "https://${Stage}.example.com"]}}
          Events:
            Get:
              Type: Api
              Properties: {RestApiId: !Ref Api, Path: !Sub "/${Stage}/hello", Method: get}
            Records:
              Type: Kinesis
              Properties: {Stream: !GetAtt Stream.Arn, StartingPosition: LATEST}
    """
    (function,) = load_template(template(tmp_path, text))
    assert function.events == {
        "Get": {"Type": "Api", "Properties": {"RestApiId": "Api", "Path": "/dev/hello", "Method": "get"}},
        "Records": {
            "Type": "Kinesis",
            "Properties": {"Stream": {"Fn::GetAtt": ["Stream", "Arn"]}, "StartingPosition": "LATEST"},
        },
    }
    assert function.function_url == {
        "AuthType": "NONE",
        "Cors": {"AllowOrigins": ["https://dev.example.com"]},
    }


# -- AWS::Lambda::Function and images ------------------------------------------------------


def test_plain_lambda_function(tmp_path):
    text = """
    Resources:
      Plain:
        Type: AWS::Lambda::Function
        Properties:
          FunctionName: !Sub "${AWS::StackName}-plain"
          Code: src/
          Handler: index.handler
          Runtime: nodejs20.x
          Role: !GetAtt PlainRole.Arn
          Timeout: 60
          MemorySize: 2048
          ReservedConcurrentExecutions: 0
          Environment: {Variables: {MODE: plain}}
      PlainRole: {Type: AWS::IAM::Role}
    """
    project = tmp_path / "stack"
    project.mkdir()
    function = load_one(project, text)
    assert function.name == "Plain"
    assert function.function_name == "stack-plain"
    assert (function.runtime, function.handler, function.code_dir) == (
        "nodejs20.x",
        "index.handler",
        project.resolve() / "src",
    )
    assert (function.timeout, function.memory_size, function.reserved_concurrency) == (60, 2048, 0)
    assert function.environment == {"MODE": "plain"}
    assert (function.events, function.function_url) == ({}, None)


def test_image_functions(tmp_path):
    text = """
    Resources:
      Serverless:
        Type: AWS::Serverless::Function
        Properties:
          PackageType: Image
          ImageUri: !Sub "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/hello:latest"
          Timeout: 15
        Metadata: {DockerContext: ./image, Dockerfile: Dockerfile}
      Plain:
        Type: AWS::Lambda::Function
        Properties:
          PackageType: Image
          Code: {ImageUri: public.ecr.aws/x/y:1}
    """
    serverless, plain = load_template(template(tmp_path, text, folders=("image",)))
    assert (serverless.package_type, serverless.runtime, serverless.handler) == ("Image", None, None)
    assert serverless.image_uri == "000000000000.dkr.ecr.us-east-1.amazonaws.com/hello:latest"
    assert serverless.code_dir == tmp_path.resolve() / "image"
    assert serverless.timeout == 15
    assert (plain.package_type, plain.image_uri, plain.runtime, plain.code_dir) == (
        "Image",
        "public.ecr.aws/x/y:1",
        None,
        tmp_path.resolve(),
    )


# -- errors --------------------------------------------------------------------------------


def function_error(tmp_path: Path, properties: str, head: str = "") -> str:
    with pytest.raises(SamError) as caught:
        one_function(tmp_path, properties, head)
    return str(caught.value)


def test_missing_code_folder(tmp_path):
    text = """
    Resources:
      HelloFunction:
        Type: AWS::Serverless::Function
        Properties: {CodeUri: hello_world/, Handler: app.handler, Runtime: python3.12}
    """
    message = error_of(tmp_path, text)
    assert (
        message
        == f"{tmp_path.resolve() / 'template.yaml'}: Resources.HelloFunction.Properties.CodeUri: folder not found: hello_world/"
    )


def test_code_uri_must_be_a_folder_or_zip(tmp_path):
    (tmp_path / "app.py").write_text("")
    text = """
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties: {CodeUri: app.py, Handler: app.handler, Runtime: python3.12}
    """
    assert "Properties.CodeUri: not a folder or a .zip file: app.py" in error_of(tmp_path, text)


@pytest.mark.parametrize(
    ("prop", "value", "intrinsic"),
    [
        ("Handler", "!GetAtt MyTable.Arn", "!GetAtt MyTable.Arn"),
        ("Handler", "!Sub '${MyTable.StreamArn}.handler'", "!GetAtt MyTable.StreamArn"),
        ("Runtime", "!ImportValue shared-runtime", "!ImportValue shared-runtime"),
        ("Timeout", "!Ref MyTable", "!Ref MyTable"),
        ("MemorySize", "!Ref NoDefault", "!Ref NoDefault (parameter NoDefault has no Default)"),
        ("CodeUri", "!Join ['', [!GetAtt MyTable.Name, /src]]", "!GetAtt MyTable.Name"),
        ("Handler", "!Transform {Name: X}", "!Transform"),
    ],
)
def test_unresolvable_needed_property(tmp_path, prop, value, intrinsic):
    text = f"""
    Parameters: {{NoDefault: {{Type: String}}}}
    Resources:
      MyTable: {{Type: AWS::DynamoDB::Table}}
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: src
          Handler: app.handler
          Runtime: python3.12
          {prop}: {value}
    """
    message = error_of(tmp_path, text)
    assert (
        f"template.yaml: Resources.Fn.Properties.{prop}: cannot be resolved locally: {intrinsic}" in message
    )


@pytest.mark.parametrize(
    "code_uri",
    [
        "s3://my-bucket/code.zip",
        "{Bucket: my-bucket, Key: code.zip}",
        "!Sub 's3://bucket-${AWS::AccountId}/code.zip'",
    ],
)
def test_s3_code_uri(tmp_path, code_uri):
    text = f"""
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties: {{CodeUri: {code_uri}, Handler: app.handler, Runtime: python3.12}}
    """
    message = error_of(tmp_path, text)
    assert "Resources.Fn.Properties.CodeUri: code in S3 is not supported locally" in message


@pytest.mark.parametrize(
    ("code", "where", "message"),
    [
        ("{ZipFile: 'def handler(e, c): pass'}", "Code.ZipFile", "inline code is not supported locally"),
        ("{S3Bucket: b, S3Key: k.zip}", "Code", "code in S3 is not supported locally"),
        ("{ImageUri: repo/image:1}", "PackageType", "must be Image for a Code.ImageUri"),
    ],
)
def test_unsupported_lambda_function_code(tmp_path, code, where, message):
    text = f"""
    Resources:
      Plain:
        Type: AWS::Lambda::Function
        Properties: {{Code: {code}, Handler: index.handler, Runtime: python3.12}}
    """
    assert f"Resources.Plain.Properties.{where}: {message}" in error_of(tmp_path, text)


def test_inline_code(tmp_path):
    message = function_error(tmp_path, "InlineCode: 'def handler(e, c): pass'")
    assert "Resources.Fn.Properties.InlineCode: inline code is not supported locally" in message


def test_malformed_yaml(tmp_path):
    message = error_of(tmp_path, "Resources:\n  Fn: [unclosed\n")
    assert message.startswith(f"{tmp_path.resolve() / 'template.yaml'}: invalid YAML:")


def test_malformed_json(tmp_path):
    path = tmp_path / "template.json"
    path.write_text('{"Resources": ')
    with pytest.raises(SamError, match=r"template\.json: invalid JSON"):
        load_template(path)


@pytest.mark.parametrize(
    "text", ["AWSTemplateFormatVersion: '2010-09-09'\n", "Resources:\n", "Resources: []\n"]
)
def test_missing_resources(tmp_path, text):
    assert "template.yaml: no Resources section" in error_of(tmp_path, text)


def test_top_level_must_be_a_mapping(tmp_path):
    assert "the top level must be a mapping" in error_of(tmp_path, "- just a list\n")


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ("Timeout: 901", "Properties.Timeout: must be between 1 and 900, got 901"),
        ("MemorySize: 64", "Properties.MemorySize: must be between 128 and 10240, got 64"),
        ("Timeout: soon", "Properties.Timeout: expected an integer, got 'soon'"),
        ("ReservedConcurrentExecutions: -1", "Properties.ReservedConcurrentExecutions: must be at least 0"),
        ("Architectures: [x86_64, arm64]", "Properties.Architectures: expected [x86_64] or [arm64]"),
        ("PackageType: Jar", "Properties.PackageType: expected Zip or Image, got 'Jar'"),
        ("Environment: [A]", "Properties.Environment: expected a mapping"),
        ("Runtime: [python3.12]", "Properties.Runtime: expected a string"),
    ],
)
def test_invalid_properties(tmp_path, properties, message):
    assert message in function_error(tmp_path, properties)


def test_missing_runtime_and_handler(tmp_path):
    base = "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src\n"
    assert "Properties.Runtime: Runtime is required" in error_of(tmp_path, base + "      Handler: app.h\n")
    assert "Properties.Handler: Handler is required" in error_of(
        tmp_path, base + "      Runtime: python3.12\n"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!Select [5, [a, b]]", '!Select [5, ["a", "b"]]: index 5 is out of range'),
        ("!FindInMap [Nope, a, b]", "Mappings has no Nope there"),
        ("!If [Undeclared, a, b]", "condition Undeclared is not declared in Conditions"),
        ("!Join [',', notalist]", "the second item must be a list"),
    ],
)
def test_malformed_intrinsics(tmp_path, value, message):
    assert message in function_error(tmp_path, f"Environment: {{Variables: {{X: {value}}}}}")


def test_unknown_resource_entry_shape(tmp_path):
    assert "Resources.Fn: expected a mapping with Type and Properties" in error_of(
        tmp_path, "Resources:\n  Fn: 3\n"
    )
