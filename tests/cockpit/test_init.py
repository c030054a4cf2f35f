"""`emu init`: a new function in its cloud's own layout, which `emu up` then serves."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from emulator.cli import main
from providers.aws_lambda.sam import load_template
from tests.cockpit.conftest import run_cli
from tests.conftest import needs_node


def init(tmp_path: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["init", *args, "--path", str(tmp_path)])
    assert result.exit_code == 0, result.output
    return result.output


def test_an_openwhisk_project_is_a_wskdeploy_manifest_and_an_action(tmp_path: Path) -> None:
    output = init(tmp_path, "openwhisk", "hello", "--runtime", "python")
    assert "Created the openwhisk function hello (python:3.11)" in output
    manifest = yaml.safe_load((tmp_path / "hello" / "manifest.yaml").read_text())
    action = manifest["packages"]["default"]["actions"]["hello"]
    assert action["function"] == "hello.py" and action["runtime"] == "python:3.11"
    assert "def main(args):" in (tmp_path / "hello" / "hello.py").read_text()


def test_a_sam_project_is_a_template_and_a_code_folder(tmp_path: Path) -> None:
    init(tmp_path, "aws", "orders-api", "--runtime", "nodejs22.x")
    [function] = load_template(tmp_path / "orders-api" / "template.yaml")
    assert function.name == "OrdersApiFunction"
    assert function.runtime == "nodejs22.x" and function.handler == "app.lambdaHandler"
    assert function.code_dir == (tmp_path / "orders-api" / "orders-api").resolve()
    assert (tmp_path / "orders-api" / "orders-api" / "app.js").is_file()


def test_an_azure_project_is_a_function_app_with_a_function_folder(tmp_path: Path) -> None:
    init(tmp_path, "azure", "HttpExample", "--runtime", "python")
    app = tmp_path / "HttpExample"
    assert json.loads((app / "host.json").read_text())["version"] == "2.0"
    settings = json.loads((app / "local.settings.json").read_text())
    assert settings["Values"]["FUNCTIONS_WORKER_RUNTIME"] == "python"
    binding = json.loads((app / "HttpExample" / "function.json").read_text())["bindings"][0]
    assert binding["type"] == "httpTrigger" and binding["direction"] == "in"
    assert "def main(req: func.HttpRequest)" in (app / "HttpExample" / "__init__.py").read_text()
    init(tmp_path, "azure", "NodeExample", "--runtime", "node")
    assert (tmp_path / "NodeExample" / "NodeExample" / "index.js").is_file()


def test_a_google_project_is_an_emu_yaml_and_a_functions_framework_source(tmp_path: Path) -> None:
    init(tmp_path, "gcp", "hello-http", "--runtime", "python")
    manifest = yaml.safe_load((tmp_path / "hello-http" / "emu.yaml").read_text())
    assert manifest["functions"] == [
        {"name": "hello-http", "runtime": "python312", "entry_point": "hello_http", "signature_type": "http"}
    ]
    assert "def hello_http(request):" in (tmp_path / "hello-http" / "main.py").read_text()
    init(tmp_path, "gcp", "hello-node", "--runtime", "nodejs20")
    assert 'functions.http("hello_node"' in (tmp_path / "hello-node" / "index.js").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["openwhisk", "x", "--runtime", "ruby"], "openwhisk has no runtime ruby"),
        (["lambda", "9lives"], "'9lives' is not a function name"),
    ],
)
def test_what_init_refuses(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["init", *args, "--path", str(tmp_path)])
    assert result.exit_code == 1
    assert message in result.output


def test_init_does_not_overwrite(tmp_path: Path) -> None:
    init(tmp_path, "openwhisk", "hello")
    result = CliRunner().invoke(main, ["init", "lambda", "hello", "--path", str(tmp_path)])
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_generated_projects_deploy_and_answer(tmp_path: Path, emu_factory: object) -> None:
    project = tmp_path / "project"
    init(project, "openwhisk", "greet")
    init(project, "lambda", "greeter")
    emu = emu_factory(project)  # type: ignore[operator]
    with emu.openwhisk() as client:
        reply = client.post(
            "/api/v1/namespaces/_/actions/greet?blocking=true&result=true", json={"name": "Ada"}
        )
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"greeting": "Hello, Ada!"}
    reply = httpx.post(
        f"{emu.urls['lambda']}/2015-03-31/functions/GreeterFunction/invocations", json={"name": "Bo"}
    )
    assert reply.status_code == 200, reply.text
    assert json.loads(reply.json()["body"]) == {"message": "Hello, Bo!"}
    # The SAM template's Api event is served too, as `sam local start-api` would.
    reply = httpx.get(f"{emu.urls['apigateway']}/greeter?name=Cy")
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"message": "Hello, Cy!"}


@needs_node
def test_generated_node_projects_deploy_and_answer(tmp_path: Path, emu_factory: object) -> None:
    project = tmp_path / "project"
    init(project, "openwhisk", "greet", "--runtime", "node")
    init(project, "lambda", "greeter", "--runtime", "nodejs20.x")
    emu = emu_factory(project)  # type: ignore[operator]
    with emu.openwhisk() as client:
        reply = client.post(
            "/api/v1/namespaces/_/actions/greet?blocking=true&result=true", json={"name": "Ada"}
        )
    assert reply.json() == {"greeting": "Hello, Ada!"}
    reply = httpx.post(
        f"{emu.urls['lambda']}/2015-03-31/functions/GreeterFunction/invocations", json={"name": "Bo"}
    )
    assert json.loads(reply.json()["body"]) == {"message": "Hello, Bo!"}


def test_generated_azure_and_google_projects_deploy_and_answer(tmp_path: Path, emu_factory: object) -> None:
    project = tmp_path / "project"
    init(project, "azure", "HelloAzure", "--runtime", "python")
    init(project, "gcp", "hello-gcp", "--runtime", "python")
    emu = emu_factory(project)  # type: ignore[operator]
    # requirements.txt (azure-functions, functions-framework) is installed before the first call.
    reply = httpx.get(f"{emu.urls['azure']}/api/HelloAzure", params={"name": "Ada"}, timeout=300)
    assert (reply.status_code, reply.text) == (200, "Hello, Ada!")
    reply = httpx.post(f"{emu.urls['azure']}/api/HelloAzure", json={"name": "Bo"}, timeout=60)
    assert (reply.status_code, reply.text) == (200, "Hello, Bo!")
    reply = httpx.get(f"{emu.urls['gcp']}/hello-gcp", params={"name": "Cy"}, timeout=300)
    assert (reply.status_code, reply.text) == (200, "Hello, Cy!")
    # and `emu invoke` runs them with a JSON POST.
    for name, greeting in [("azure/HelloAzure", "Hello, Dee!"), ("gcp/hello-gcp", "Hello, Dee!")]:
        result = run_cli(emu, "invoke", name, "--data", '{"name": "Dee"}')
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["body"] == greeting
        assert f"{name.split('/')[1]}: greeting Dee" in result.stderr


@needs_node
def test_generated_node_azure_and_google_projects_deploy_and_answer(
    tmp_path: Path, emu_factory: object
) -> None:
    project = tmp_path / "project"
    init(project, "azure", "HelloNode", "--runtime", "node")
    init(project, "gcp", "hello-node", "--runtime", "node")
    emu = emu_factory(project)  # type: ignore[operator]
    reply = httpx.get(f"{emu.urls['azure']}/api/HelloNode", params={"name": "Ada"}, timeout=300)
    assert (reply.status_code, reply.text) == (200, "Hello, Ada!")
    reply = httpx.post(f"{emu.urls['azure']}/api/HelloNode", json={"name": "Bo"}, timeout=60)
    assert (reply.status_code, reply.text) == (200, "Hello, Bo!")
    # package.json's @google-cloud/functions-framework is installed with npm first.
    reply = httpx.get(f"{emu.urls['gcp']}/hello-node", params={"name": "Cy"}, timeout=300)
    assert (reply.status_code, reply.text) == (200, "Hello, Cy!")
    reply = httpx.post(f"{emu.urls['gcp']}/hello-node", json={"name": "Dee"}, timeout=60)
    assert (reply.status_code, reply.text) == (200, "Hello, Dee!")
