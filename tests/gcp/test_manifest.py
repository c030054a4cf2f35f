"""emu.yaml: what it declares, and errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.gcp.manifest import ManifestError, load_manifest


def manifest(tmp_path: Path, text: str) -> Path:
    (tmp_path / "fn").mkdir(exist_ok=True)
    path = tmp_path / "emu.yaml"
    path.write_text(text)
    return path


def test_defaults(tmp_path: Path) -> None:
    loaded = load_manifest(
        manifest(
            tmp_path,
            """
functions:
  - name: hello
    runtime: python312
    source: fn
services:
  - name: web
    command: node server.js --port $PORT
""",
        )
    )
    (function,) = loaded.functions
    assert function.entry_point == "hello"
    assert function.signature_type == "http"
    assert function.timeout_s == 60
    assert function.source == (tmp_path / "fn").resolve()
    assert function.family == "python"
    (service,) = loaded.services
    assert service.command == ("node", "server.js", "--port", "$PORT")
    assert (service.concurrency, service.max_instances, service.timeout_s, service.port) == (
        80,
        100,
        300,
        8080,
    )


def test_values_given(tmp_path: Path) -> None:
    loaded = load_manifest(
        manifest(
            tmp_path,
            """
functions:
  - {name: ev, runtime: nodejs20, entry_point: onEvent, signature_type: cloudevent, timeout: 90s,
     max_instances: 3, environment: {A: 1, B: true, C: x}}
""",
        )
    )
    (function,) = loaded.functions
    assert (function.entry_point, function.signature_type, function.timeout_s) == (
        "onEvent",
        "cloudevent",
        90,
    )
    assert function.max_instances == 3
    assert function.environment == {"A": "1", "B": "true", "C": "x"}
    assert function.family == "nodejs"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "functions:\n  - {name: a, runtime: python312, entrypoint: b}\n",
            "functions[0].entrypoint: unknown key",
        ),
        ("functions:\n  - {name: a}\n", "functions[0]: missing required key 'runtime'"),
        ("functions:\n  - {runtime: python312}\n", "functions[0]: missing required key 'name'"),
        ("functions:\n  - {name: a, runtime: ruby33}\n", "functions[0].runtime: 'ruby33' is not a runtime"),
        (
            "functions:\n  - {name: a, runtime: python312, timeout: soon}\n",
            "functions[0].timeout: expected seconds",
        ),
        (
            "functions:\n  - {name: a, runtime: python312, timeout: 4000}\n",
            "functions[0].timeout: 4000 s is out of range",
        ),
        (
            "functions:\n  - {name: a, runtime: python312, max_instances: '3'}\n",
            "functions[0].max_instances: expected an integer, got a string",
        ),
        (
            "functions:\n  - {name: a, runtime: python312, signature_type: pubsub}\n",
            "functions[0].signature_type: 'pubsub' is not one of",
        ),
        (
            "functions:\n  - {name: a, runtime: python312, source: nowhere}\n",
            "functions[0].source: the folder",
        ),
        (
            "functions:\n  - {name: a, runtime: python312, environment: [A]}\n",
            "functions[0].environment: expected a mapping",
        ),
        (
            "functions:\n  - {name: a, runtime: python312}\n  - {name: a, runtime: python312}\n",
            "functions[1].name: a second function named 'a'",
        ),
        ("functions: {a: 1}\n", "functions: expected a list, got a mapping"),
        ("services:\n  - {name: web}\n", "services[0]: service 'web' needs an `image`, a `command`"),
        ("services:\n  - {name: Web, command: x}\n", "services[0].name: 'Web' is not a valid service name"),
        (
            "services:\n  - {name: web, command: x, concurrency: 0}\n",
            "services[0].concurrency: 0 is out of range",
        ),
        (
            "services:\n  - {name: web, command: [1]}\n",
            "services[0].command: expected a string or a list of strings",
        ),
        ("jobs: []\n", "jobs: unknown key (known keys: functions, services)"),
        ("- a\n", "expected a mapping, got a list"),
        ("functions: [\n", "not valid YAML"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = manifest(tmp_path, text)
    with pytest.raises(ManifestError) as raised:
        load_manifest(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)
