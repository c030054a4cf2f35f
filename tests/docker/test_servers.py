"""DockerBackend.start_server: a workload that is its own HTTP server (the Cloud Run case)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.backends.base import InstanceStartError, ServerSpec
from emulator.backends.docker import DockerBackend
from emulator.config import Settings
from tests.docker.conftest import containers_of

SERVER = (
    "import os, http.server\n"
    "class Hello(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = ('hello from ' + os.environ['GREETER'] + ' on ' + os.environ['PORT']).encode()\n"
    "        self.send_response(200)\n"
    "        self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "http.server.HTTPServer(('0.0.0.0', int(os.environ['PORT'])), Hello).serve_forever()\n"
)


@pytest.fixture
async def backend(engine: Any, images: dict[str, str], tmp_path: Path) -> Any:
    settings = Settings(state_dir=tmp_path / "state")
    settings.state_dir.mkdir()
    backend = DockerBackend(settings, lambda text: None, engine)
    await backend.open(set())
    yield backend
    await backend.close()


def _dockerfile(folder: Path, base: str, command: str) -> Path:
    folder.mkdir()
    (folder / "server.py").write_text(SERVER)
    (folder / "Dockerfile").write_text(f"FROM {base}\nCOPY server.py /srv/server.py\nCMD {command}\n")
    return folder


async def test_a_built_server_answers_on_its_port(backend: DockerBackend, tmp_path: Path) -> None:
    base = backend.settings.images["python"]
    workdir = _dockerfile(tmp_path / "service", base, '["python3", "/srv/server.py"]')
    spec = ServerSpec(key="gcp:hello", workdir=workdir, env={"GREETER": "emu"}, port=9090)
    instance = await backend.start_server(spec)
    try:
        assert instance.url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient() as client:
            reply = await client.get(instance.url + "/")
        assert reply.text == "hello from emu on 9090"
        assert (
            containers_of(backend.client, backend.settings.state_dir)[0].labels["emu.function"] == "gcp:hello"
        )
    finally:
        await instance.stop()
        backend.client.images.remove("emu-build/gcp-hello:latest", force=True)
    assert containers_of(backend.client, backend.settings.state_dir) == []


async def test_a_server_that_never_listens_is_a_clear_error(backend: DockerBackend) -> None:
    spec = ServerSpec(
        key="gcp:deaf",
        image=backend.settings.images["python"],
        command=["python3", "-c", "print('starting', flush=True); import time; time.sleep(60)"],
        ready_timeout_s=2.0,
    )
    with pytest.raises(
        InstanceStartError, match=r"gcp:deaf: nothing answered on port 8080 .* within 2 s\nstarting"
    ):
        await backend.start_server(spec)
    assert containers_of(backend.client, backend.settings.state_dir) == []
