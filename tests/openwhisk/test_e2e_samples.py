"""`emu up sample_functions/`: the admin endpoints, and the sample README's curl calls run as written."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import httpx
import pytest

from tests.conftest import GUEST_KEY, SAMPLES, RunningEmu

README = SAMPLES / "openwhisk" / "README.md"
SAMPLE_ACTIONS = {
    "/guest/demo/hello": "python:3.11",
    "/guest/demo/hello-shout": "sequence",
    "/guest/demo/page": "python:3.11",
    "/guest/demo/shout": "python:3.11",
    "/guest/demo/wordcount": "nodejs:20",
    "/guest/echo": "nodejs:20",
}


def test_health(samples_emu: RunningEmu) -> None:
    reply = httpx.get(samples_emu.urls["admin"] + "/_emu/health")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok"}


def test_functions_lists_the_sample_actions(samples_emu: RunningEmu) -> None:
    listed = httpx.get(samples_emu.urls["admin"] + "/_emu/functions").json()
    functions = [f for f in listed if f["provider"] == "openwhisk"]
    assert {f["name"]: f["runtime"] for f in functions} == SAMPLE_ACTIONS
    base = samples_emu.urls["openwhisk"]
    by_name = {f["name"]: f for f in functions}
    assert by_name["/guest/demo/hello"]["url"] == f"{base}/api/v1/namespaces/guest/actions/demo/hello"
    assert by_name["/guest/demo/page"]["url"] == f"{base}/api/v1/web/guest/demo/page"  # a web action
    assert by_name["/guest/demo/hello"]["source"] == str(SAMPLES / "openwhisk" / "hello.py")
    assert by_name["/guest/demo/hello-shout"]["source"] == str(SAMPLES / "openwhisk" / "manifest.yaml")


def test_the_listed_urls_answer(samples_emu: RunningEmu) -> None:
    functions = {f["name"]: f["url"] for f in httpx.get(samples_emu.urls["admin"] + "/_emu/functions").json()}
    user, password = GUEST_KEY.split(":")
    reply = httpx.post(
        functions["/guest/echo"] + "?blocking=true&result=true", json={"x": 1}, auth=(user, password)
    )
    assert reply.json() == {"x": 1}
    assert httpx.get(functions["/guest/demo/page"]).text == "<h1>Hello, World!</h1><p>GET /</p>"


def test_the_console_shows_the_functions_and_each_activation(samples_emu: RunningEmu) -> None:
    console = samples_emu.console()
    assert "emu is ready" in console
    for name in SAMPLE_ACTIONS:
        assert name in console
    with samples_emu.openwhisk() as ow:
        assert ow.post("/api/v1/namespaces/_/actions/demo/shout?blocking=true", json={}).status_code == 200
    deadline = time.monotonic() + 5
    while not re.search(r"openwhisk /guest/demo/shout success \d+ ms (cold|warm)", samples_emu.console()):
        assert time.monotonic() < deadline, samples_emu.console()
        time.sleep(0.02)


def readme_calls() -> list[tuple[str, str]]:
    """(command, expected output) for every `curl` in the README's shell block, in order."""
    block = re.search(r"```sh\n(.*?)```", README.read_text(), re.S)
    assert block, "the README has no ```sh block"
    lines = block.group(1).replace("\\\n", " ").splitlines()
    calls = []
    for index, line in enumerate(lines):
        if line.startswith("curl "):
            expected = lines[index + 1]
            assert expected.startswith("# "), f"no expected output after: {line}"
            calls.append((line, expected[2:]))
    return calls


def readme_variables() -> str:
    block = re.search(r"```sh\n(.*?)```", README.read_text(), re.S)
    assert block
    return "\n".join(line for line in block.group(1).splitlines() if re.match(r"\A[A-Z]+=", line))


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize(("command", "expected"), readme_calls(), ids=lambda value: value[:60])
def test_readme_curl(samples_emu: RunningEmu, command: str, expected: str) -> None:
    # The README talks to the default port; this gateway listens on an ephemeral one.
    script = (readme_variables() + "\n" + command).replace(
        "localhost:3233", samples_emu.urls["openwhisk"][7:]
    )
    completed = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == expected


def test_readme_names_its_variables_and_port() -> None:
    text = README.read_text()
    assert f"AUTH={GUEST_KEY}" in text
    assert "API=http://localhost:3233/api/v1/namespaces/_/actions" in text
    assert len(readme_calls()) == 5
