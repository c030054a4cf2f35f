"""`emu ls`, `emu invoke` and `emu logs` against a running gateway, through click's runner."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from emulator.cli import main
from tests.cockpit.conftest import LAMBDA_NAME, OW_NAME, run_cli
from tests.conftest import RunningEmu, put_action


def test_ls_lists_every_function_with_its_url_and_instances(cockpit_emu: RunningEmu) -> None:
    result = run_cli(cockpit_emu, "ls")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["PROVIDER", "NAME", "RUNTIME", "INSTANCES", "URL"]
    ow = next(line for line in lines if OW_NAME in line).split()
    assert ow[0] == "openwhisk" and ow[2] == "python:3.11" and ow[3].isdigit()
    assert ow[4] == f"{cockpit_emu.urls['openwhisk']}/api/v1/namespaces/guest/actions/greet"
    assert any(line.startswith("lambda ") and LAMBDA_NAME in line for line in lines)


def test_ls_json(cockpit_emu: RunningEmu) -> None:
    result = run_cli(cockpit_emu, "ls", "--json")
    assert result.exit_code == 0, result.output
    listing = {(item["provider"], item["name"]): item for item in json.loads(result.output)}
    greet = listing[("openwhisk", OW_NAME)]
    assert greet["runtime"] == "python:3.11" and greet["invocable"] is True
    assert isinstance(greet["instances"], int)
    assert listing[("lambda", LAMBDA_NAME)]["runtime"] == "python3.12"
    assert listing[("apigateway", "GET /greeter")]["url"] == cockpit_emu.urls["apigateway"] + "/greeter"


def test_invoke_prints_the_result_then_the_status_and_logs(cockpit_emu: RunningEmu) -> None:
    result = run_cli(cockpit_emu, "invoke", "openwhisk/greet", "--data", '{"name": "Ada"}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"greeting": "Hello, Ada!"}
    status, *logs = result.stderr.splitlines()
    assert f"openwhisk {OW_NAME} success" in status
    assert logs == ["  greet | greet: greeting Ada"]


def test_invoke_a_lambda_function_from_a_data_file(cockpit_emu: RunningEmu, tmp_path: Path) -> None:
    payload = tmp_path / "event.json"
    payload.write_text('{"name": "Bo"}')
    result = run_cli(cockpit_emu, "invoke", f"lambda/{LAMBDA_NAME}", "--data-file", str(payload))
    assert result.exit_code == 0, result.output
    assert json.loads(json.loads(result.stdout)["body"]) == {"message": "Hello, Bo!"}
    assert f"lambda {LAMBDA_NAME} success" in result.stderr
    assert f"{LAMBDA_NAME} | greeter: greeting Bo" in result.stderr


def test_invoke_by_a_name_only_one_cloud_has_and_from_stdin(cockpit_emu: RunningEmu) -> None:
    result = run_cli(cockpit_emu, "invoke", "greet", "--data-file", "-", input='{"name": "Cy"}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"greeting": "Hello, Cy!"}


def test_a_failed_function_exits_1_after_printing_its_error(cockpit_emu: RunningEmu) -> None:
    code = "def main(args):\n    print('about to fail')\n    raise ValueError('boom')\n"
    with cockpit_emu.openwhisk() as client:
        put_action(client, "fails", code)
    result = run_cli(cockpit_emu, "invoke", "openwhisk/fails")
    assert result.exit_code == 1, result.output
    assert "boom" in json.loads(result.stdout)["error"]
    assert "openwhisk /guest/fails application error" in result.stderr
    assert "  fails | about to fail" in result.stderr


def test_a_payload_the_cloud_refuses_is_its_error(cockpit_emu: RunningEmu) -> None:
    # OpenWhisk parameters must be an object: the gateway answers 400 before running anything.
    result = run_cli(cockpit_emu, "invoke", "openwhisk/greet", "--data", "[1, 2]")
    assert result.exit_code == 1
    assert "parameters must be a JSON object" in result.output


def test_invoke_errors_a_user_can_fix(cockpit_emu: RunningEmu) -> None:
    unknown = run_cli(cockpit_emu, "invoke", "openwhisk/nope")
    assert unknown.exit_code == 1
    assert "Error: no function nope on openwhisk" in unknown.output
    not_json = run_cli(cockpit_emu, "invoke", "greet", "--data", "{nope")
    assert not_json.exit_code == 2
    assert "not JSON" in not_json.output
    both = run_cli(cockpit_emu, "invoke", "greet", "--data", "{}", "--data-file", "-", input="{}")
    assert both.exit_code == 2


def test_logs_prints_past_invocations_with_their_output(cockpit_emu: RunningEmu) -> None:
    assert run_cli(cockpit_emu, "invoke", "greet", "--data", '{"name": "Dee"}').exit_code == 0
    result = run_cli(cockpit_emu, "logs", "greet")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  greet | greet: greeting Dee" in lines
    assert all(LAMBDA_NAME not in line for line in lines)
    # Oldest first, as a log reads: the last invocation is at the bottom.
    assert lines[-1] == "  greet | greet: greeting Dee"
    assert f"openwhisk {OW_NAME} success" in lines[-2]


def test_logs_follow_prints_new_invocations_as_they_happen(cockpit_emu: RunningEmu) -> None:
    command = [sys.executable, "-m", "emulator", "logs", "-f", "-n", "1", LAMBDA_NAME]
    env = {**os.environ, "EMU_ADMIN_URL": cockpit_emu.urls["admin"], "PYTHONUNBUFFERED": "1"}
    follower = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    try:
        assert follower.stdout is not None
        # Whether the follower connects before or after this call, it prints it once: from the
        # live stream, or from the one past invocation it reads after connecting.
        assert run_cli(cockpit_emu, "invoke", LAMBDA_NAME, "--data", '{"name": "Eve"}').exit_code == 0
        deadline = time.monotonic() + 15
        seen = []
        while "greeter: greeting Eve" not in "".join(seen):
            assert time.monotonic() < deadline, seen
            seen.append(follower.stdout.readline())
        assert any(f"lambda {LAMBDA_NAME} success" in line for line in seen)
    finally:
        follower.terminate()
        follower.wait(10)


def test_commands_find_the_gateway_through_its_state_dir(
    cockpit_emu: RunningEmu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["ls", "--json", "--state-dir", str(cockpit_emu.state_dir)])
    assert result.exit_code == 0, result.output
    assert any(item["name"] == OW_NAME for item in json.loads(result.output))
    # ./.emu/gateway.json is the default, as `emu up .` writes it.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMU_STATE_DIR", raising=False)
    monkeypatch.delenv("EMU_ADMIN_URL", raising=False)
    (tmp_path / ".emu").mkdir()
    (tmp_path / ".emu" / "gateway.json").write_text((cockpit_emu.state_dir / "gateway.json").read_text())
    result = runner.invoke(main, ["ls"])
    assert result.exit_code == 0, result.output
    assert OW_NAME in result.output


def test_a_stopped_gateway_is_reported_not_waited_for(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (state / "gateway.json").write_text(json.dumps({"pid": int(dead.stdout), "urls": {"admin": "http://x"}}))
    result = CliRunner().invoke(main, ["ls", "--state-dir", str(state)])
    assert result.exit_code == 1
    assert f"the emu that used {state} has stopped" in result.output
    nobody = CliRunner().invoke(main, ["ls", "--admin-url", "http://127.0.0.1:9"])
    assert nobody.exit_code == 1
    assert "no emu answers at http://127.0.0.1:9" in nobody.output


# -- Azure Functions, Cloud Functions and Cloud Run ----------------------------------------------


def invoke_json(running: RunningEmu, *args: str) -> tuple[dict[str, object], str]:
    result = run_cli(running, "invoke", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def test_invoke_an_azure_http_function_with_a_json_post(clouds_emu: RunningEmu) -> None:
    response, stderr = invoke_json(clouds_emu, "azure/HttpExample", "--data", '{"name": "Ada"}')
    assert response["status"] == 200
    assert response["body"] == "Hello, Ada. This HTTP triggered function executed successfully."
    assert response["headers"]["x-function-name"] == "HttpExample"  # type: ignore[index]
    assert "azure HttpExample success" in stderr
    assert "  HttpExample | Python HTTP trigger function processed a request." in stderr


def test_invoke_an_azure_timer_function(clouds_emu: RunningEmu) -> None:
    response, stderr = invoke_json(clouds_emu, "Cleanup")
    assert response is None
    assert "azure Cleanup success" in stderr
    assert "  Cleanup | Python timer trigger function ran at " in stderr


def test_invoke_a_google_http_function(clouds_emu: RunningEmu) -> None:
    response, stderr = invoke_json(clouds_emu, "gcp/hello_http", "--data", '{"name": "Grace"}')
    assert (response["status"], response["body"]) == (200, "Hello, Grace!")
    assert "gcp hello_http success" in stderr


def test_invoke_a_cloudevent_function_with_a_structured_event(clouds_emu: RunningEmu) -> None:
    response, stderr = invoke_json(clouds_emu, "on_event", "--data", '{"n": 1}')
    assert response["status"] == 200
    assert "gcp on_event success" in stderr
    assert re.search(r"on_event \| Received emu\.invoke from emu \(id [0-9a-f-]{36}\): \{'n': 1\}", stderr)


def test_invoke_a_cloud_run_service_with_a_json_post_to_its_root(clouds_emu: RunningEmu) -> None:
    response, stderr = invoke_json(clouds_emu, "cloudrun/hello-run", "--data", '{"a": [1, 2]}')
    # The sample service echoes a POST's body with its content type.
    assert (response["status"], response["body"]) == (200, {"a": [1, 2]})
    assert "cloudrun hello-run success" in stderr
    assert '"POST / HTTP/1.1" 200' in stderr


def test_logs_show_azure_and_google_invocations(clouds_emu: RunningEmu) -> None:
    assert run_cli(clouds_emu, "invoke", "HttpExample", "--data", '{"name": "Bo"}').exit_code == 0
    assert run_cli(clouds_emu, "invoke", "hello-run", "--data", '"ping"').exit_code == 0
    azure = run_cli(clouds_emu, "logs", "HttpExample")
    assert azure.exit_code == 0, azure.output
    assert "azure HttpExample success" in azure.output
    assert "  HttpExample | Python HTTP trigger function processed a request." in azure.output
    assert "Cleanup" not in azure.output
    service = run_cli(clouds_emu, "logs", "cloudrun/hello-run")
    assert "cloudrun hello-run success" in service.output
    assert "gcp " not in service.output
    newest_first = httpx.get(f"{clouds_emu.urls['admin']}/_emu/invocations").json()
    stored = {(item["provider"], item["function"]): item for item in reversed(newest_first)}
    http = stored[("azure", "HttpExample")]
    assert http["request"]["method"] == "POST" and http["request"]["body"] == {"name": "Bo"}
    assert http["response"]["status"] == 200 and isinstance(http["duration"], int)
    echo = stored[("cloudrun", "hello-run")]
    assert echo["request"] == {"method": "POST", "path": "/", "body": "ping"}
    assert echo["response"]["body"] == "ping" and echo["status"] == "success"


def test_warm_azure_and_google_functions_count_their_instances(clouds_emu: RunningEmu) -> None:
    assert run_cli(clouds_emu, "invoke", "HttpExample").exit_code == 0
    assert run_cli(clouds_emu, "invoke", "hello_http").exit_code == 0
    listing = json.loads(run_cli(clouds_emu, "ls", "--json").output)
    found = {(item["provider"], item["name"]): item for item in listing}
    # One worker serves the whole Azure app: its functions share its instances.
    for key in [("azure", "HttpExample"), ("azure", "Cleanup"), ("gcp", "hello_http")]:
        assert found[key]["invocable"] is True and found[key]["instances"] >= 1, found[key]
    assert found[("cloudrun", "hello-run")]["invocable"] is True


def test_invoke_errors_of_azure_and_google(clouds_emu: RunningEmu) -> None:
    result = run_cli(clouds_emu, "invoke", "cloudrun/HttpExample")
    assert result.exit_code == 1
    assert "Error: no function HttpExample on cloudrun" in result.output
