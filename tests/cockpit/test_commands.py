"""`emu ls`, `emu invoke` and `emu logs` against a running gateway, through click's runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

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
