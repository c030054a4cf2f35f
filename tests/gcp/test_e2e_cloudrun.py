"""Cloud Run services end to end: commands that listen on $PORT, each on a URL of its own."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningEmu
from tests.gcp.conftest import gcp_emu, write

SERVER = """
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/stream":
            return self.stream()
        if url.path == "/sleep":
            time.sleep(float(query["s"][0]))
        body = self.read_body()
        names = ("K_SERVICE", "K_REVISION", "K_CONFIGURATION", "PORT")
        answer = json.dumps({
            "method": self.command,
            "path": self.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "length": len(body),
            "body": body[:100].decode(errors="replace"),
            "pid": os.getpid(),
            "env": {name: os.environ.get(name) for name in names},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Served-By", "run-echo")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def read_body(self):
        if "chunked" not in (self.headers.get("Transfer-Encoding") or ""):
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            parts.append(self.rfile.read(size))
            self.rfile.readline()
            if size == 0:
                return b"".join(parts)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n in range(3):
            line = f"part {n}\\n".encode()
            self.wfile.write(f"{len(line):x}\\r\\n".encode() + line + b"\\r\\n")
            self.wfile.flush()
            time.sleep(0.4)
        self.wfile.write(b"0\\r\\n\\r\\n")


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmu]:
    def build(project: Path) -> None:
        write(project / "echo", {"server.py": SERVER})
        write(project / "docker", {"Dockerfile": "FROM scratch\n"})
        manifest = {
            "services": [
                {
                    "name": "run-echo",
                    "source": "echo",
                    "command": "python3 server.py",
                    "concurrency": 1,
                    "max_instances": 2,
                    "timeout": 2,
                },
                {
                    "name": "run-never",
                    "command": ["python3", "-c", "import time; print('thinking'); time.sleep(60)"],
                    "startup_timeout": 1,
                },
                {
                    "name": "run-exits",
                    "command": "python3 -c 'import sys; print(\"bad config\"); sys.exit(4)'",
                },
                {"name": "run-image", "image": "example.invalid/app:latest"},
                {"name": "run-dockerfile", "source": "docker"},
            ]
        }
        write(project, {"emu.yaml": json.dumps(manifest)})

    yield from gcp_emu(tmp_path_factory, build)


@pytest.fixture(scope="module")
def urls(emu: RunningEmu) -> dict[str, str]:
    listing = httpx.get(emu.urls["admin"] + "/_emu/functions").json()
    return {item["name"]: item["url"] for item in listing if item["provider"] == "cloudrun"}


def test_each_service_has_a_url_of_its_own(urls: dict[str, str]) -> None:
    assert set(urls) == {"run-echo", "run-never", "run-exits", "run-image", "run-dockerfile"}
    assert len(set(urls.values())) == 5
    assert all(url.startswith("http://127.0.0.1:") for url in urls.values())


def test_requests_are_forwarded_as_they_are(urls: dict[str, str]) -> None:
    url = urls["run-echo"]
    reply = httpx.put(url + "a/b%20c?x=1&y=2", content=b"payload", headers={"X-Thing": "yes"}, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-served-by"] == "run-echo"
    body = reply.json()
    assert body["method"] == "PUT"
    assert body["path"] == "/a/b%20c?x=1&y=2"
    assert body["body"] == "payload"
    assert body["headers"]["x-thing"] == "yes"
    assert body["headers"]["host"] == url.split("/")[2]
    assert body["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert "x-cloud-trace-context" in body["headers"]


def test_cloud_run_environment(urls: dict[str, str]) -> None:
    env = httpx.get(urls["run-echo"], timeout=30).json()["env"]
    assert env["K_SERVICE"] == "run-echo"
    assert env["K_CONFIGURATION"] == "run-echo"
    assert env["K_REVISION"].startswith("run-echo-00001-")
    assert env["PORT"].isdigit()


def test_large_bodies_are_streamed_through(urls: dict[str, str]) -> None:
    size = 3 * 1024 * 1024

    def chunks() -> Iterator[bytes]:
        for _ in range(size // 65536):
            yield b"x" * 65536

    reply = httpx.post(urls["run-echo"] + "upload", content=chunks(), timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json()["headers"]["transfer-encoding"] == "chunked"
    assert reply.json()["length"] == size
    reply = httpx.post(urls["run-echo"] + "upload", content=b"y" * size, timeout=30)
    assert reply.json()["length"] == size


def test_responses_are_streamed(urls: dict[str, str]) -> None:
    started = time.monotonic()
    arrivals = []
    with httpx.stream("GET", urls["run-echo"] + "stream", timeout=30) as reply:
        assert reply.status_code == 200
        for line in reply.iter_lines():
            arrivals.append((line, time.monotonic() - started))
    assert [line for line, _ in arrivals] == ["part 0", "part 1", "part 2"]
    assert arrivals[-1][1] - arrivals[0][1] > 0.6  # the first part came before the last was written


def test_concurrency_and_max_instances(urls: dict[str, str]) -> None:
    httpx.get(urls["run-echo"], timeout=30)  # one instance warm
    with ThreadPoolExecutor(4) as executor:
        replies = list(
            executor.map(lambda _: httpx.get(urls["run-echo"] + "sleep?s=0.5", timeout=30), range(4))
        )
    assert [reply.status_code for reply in replies] == [200] * 4
    # concurrency 1, max_instances 2: a second instance started, and the others waited their turn.
    assert len({reply.json()["pid"] for reply in replies}) == 2


def test_request_timeout_is_504(urls: dict[str, str]) -> None:
    reply = httpx.get(urls["run-echo"] + "sleep?s=5", timeout=30)
    assert reply.status_code == 504
    assert reply.text == "upstream request timeout"


def test_a_service_that_never_listens_fails_clearly(urls: dict[str, str]) -> None:
    started = time.monotonic()
    reply = httpx.get(urls["run-never"], timeout=30)
    assert time.monotonic() - started < 10
    assert reply.status_code == 503
    assert "service 'run-never' did not listen on port" in reply.text
    assert "within 1 s" in reply.text
    assert "thinking" in reply.text


def test_a_service_that_exits_says_how(urls: dict[str, str]) -> None:
    reply = httpx.get(urls["run-exits"], timeout=30)
    assert reply.status_code == 503
    assert "service 'run-exits' exited with status 4 before listening" in reply.text
    assert "bad config" in reply.text


@pytest.mark.parametrize("name", ["run-image", "run-dockerfile"])
def test_containers_need_the_docker_backend(urls: dict[str, str], name: str) -> None:
    reply = httpx.get(urls[name], timeout=30)
    assert reply.status_code == 503
    assert "needs the docker backend" in reply.text
