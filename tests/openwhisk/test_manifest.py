import base64
import io
import json
import runpy
import shutil
import subprocess
import textwrap
import zipfile
from pathlib import Path

import pytest

from providers.openwhisk.manifest import ManifestEntity, ManifestError, find_manifests, load_manifest

SAMPLE = Path(__file__).parents[2] / "sample_functions" / "openwhisk"


def project(tmp_path: Path, manifest: str, files: dict[str, str] | None = None) -> Path:
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    path = tmp_path / "manifest.yaml"
    path.write_text(textwrap.dedent(manifest))
    return path


def by_path(entities: list[ManifestEntity]) -> dict[str, ManifestEntity]:
    return {entity.path: entity for entity in entities}


def one_action(tmp_path: Path, action_yaml: str, files: dict[str, str] | None = None) -> dict:
    """Load a manifest whose package `p` has the single action `a` given as indented YAML."""
    action = textwrap.indent(textwrap.dedent(action_yaml), " " * 8)
    manifest = "packages:\n  p:\n    actions:\n      a:\n" + action
    entities = load_manifest(project(tmp_path, manifest, files if files is not None else {"a.py": "x"}))
    return by_path(entities)["p/a"].body


def annotations(body: dict) -> dict:
    return {a["key"]: a["value"] for a in body["annotations"]}


def params(body: dict) -> dict:
    return {p["key"]: p["value"] for p in body["parameters"]}


# -- the sample project --------------------------------------------------------------------


def test_sample_manifest_entities():
    manifest = SAMPLE / "manifest.yaml"
    entities = load_manifest(manifest)
    assert [(e.collection, e.path) for e in entities] == [
        ("packages", "demo"),
        ("actions", "demo/hello"),
        ("actions", "demo/shout"),
        ("actions", "demo/wordcount"),
        ("actions", "demo/page"),
        ("actions", "echo"),
        ("actions", "demo/hello-shout"),
    ]
    found = by_path(entities)
    assert found["demo"].body == {"parameters": [], "annotations": [], "publish": False, "version": "1.0.0"}
    hello = found["demo/hello"]
    assert hello.source == str(SAMPLE / "hello.py")
    assert hello.body == {
        "exec": {"kind": "python:3.11", "code": (SAMPLE / "hello.py").read_text(), "binary": False},
        "parameters": [{"key": "name", "value": "World"}],
        "annotations": [],
    }
    assert found["demo/wordcount"].body["exec"]["kind"] == "nodejs:20"
    assert annotations(found["demo/page"].body) == {"web-export": True, "final": True, "raw-http": False}
    assert found["echo"].body["exec"]["kind"] == "nodejs:20"
    assert found["echo"].source == str(SAMPLE / "echo.js")
    sequence = found["demo/hello-shout"]
    assert sequence.source == str(manifest)
    assert sequence.body["exec"] == {"kind": "sequence", "components": ["/_/demo/hello", "/_/demo/shout"]}


def test_sample_python_actions_follow_the_openwhisk_contract():
    hello = runpy.run_path(str(SAMPLE / "hello.py"))["main"]
    shout = runpy.run_path(str(SAMPLE / "shout.py"))["main"]
    page = runpy.run_path(str(SAMPLE / "page.py"))["main"]
    assert hello({"name": "World"}) == {"greeting": "Hello, World!"}
    assert shout(hello({"name": "Ann"})) == {"greeting": "HELLO, ANN!"}
    response = page({"__ow_method": "post", "__ow_path": "/x", "name": "<b>"})
    assert response["statusCode"] == 200
    assert response["headers"] == {"content-type": "text/html"}
    assert response["body"].startswith("<h1>Hello, &lt;b&gt;!</h1>")
    assert "POST /x" in response["body"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_sample_node_actions_follow_the_openwhisk_contract():
    def run(file: str, args: dict) -> dict:
        script = (SAMPLE / file).read_text() + f"\nconsole.log(JSON.stringify(main({json.dumps(args)})));"
        return json.loads(subprocess.run(["node", "-e", script], capture_output=True, check=True).stdout)

    assert run("wordcount.js", {"text": " the quick  brown fox "})["words"] == 4
    assert run("echo.js", {"a": [1, 2]}) == {"a": [1, 2]}


# -- code and runtimes ---------------------------------------------------------------------


def test_runtime_inferred_from_extension(tmp_path):
    entities = load_manifest(
        project(
            tmp_path,
            """
            packages:
              p:
                actions:
                  py: {function: src/a.py}
                  js: {function: src/b.js}
            """,
            {"src/a.py": "def main(args): return args", "src/b.js": "function main(p) { return p }"},
        )
    )
    found = by_path(entities)
    assert found["p/py"].body["exec"]["kind"] == "python:default"
    assert found["p/js"].body["exec"]["kind"] == "nodejs:default"
    assert found["p/py"].source == str(tmp_path / "src" / "a.py")


@pytest.mark.parametrize(
    ("runtime", "kind"),
    [
        ("python:3.11", "python:3.11"),
        ("python", "python:default"),
        ("nodejs", "nodejs:default"),
        ("nodejs@20", "nodejs:20"),
    ],
)
def test_runtime_spellings(tmp_path, runtime, kind):
    assert one_action(tmp_path, f"function: a.py\nruntime: {runtime}")["exec"]["kind"] == kind


def test_unknown_extension_needs_a_runtime(tmp_path):
    with pytest.raises(ManifestError, match=r"packages\.p\.actions\.a: cannot infer the runtime"):
        one_action(tmp_path, "function: a.txt", {"a.txt": "x"})


def test_folder_is_zipped_in_memory(tmp_path):
    files = {
        "app/__main__.py": "from helper import greet\ndef main(args): return greet()",
        "app/helper.py": "def greet(): return {}",
        "app/__pycache__/helper.cpython-311.pyc": "junk",
    }
    body = one_action(tmp_path, "function: app", files)
    assert body["exec"]["kind"] == "python:default"
    assert body["exec"]["binary"] is True
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(body["exec"]["code"])))
    assert sorted(archive.namelist()) == ["__main__.py", "helper.py"]
    assert archive.read("helper.py") == b"def greet(): return {}"
    assert not (tmp_path / "app.zip").exists()
    # Zipping the same folder again gives the same code, so a reload sees nothing changed.
    assert one_action(tmp_path, "function: app", {})["exec"]["code"] == body["exec"]["code"]


def test_node_folder_with_explicit_runtime(tmp_path):
    files = {"app/package.json": '{"main": "index.js"}', "app/index.js": "exports.main = p => p"}
    assert one_action(tmp_path, "function: app", files)["exec"]["kind"] == "nodejs:default"
    assert one_action(tmp_path, "function: app\nruntime: nodejs:20", {})["exec"]["kind"] == "nodejs:20"


def test_zip_file_is_sent_as_base64(tmp_path):
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("__main__.py", "def main(args): return {}")
    (tmp_path / "a.zip").write_bytes(data.getvalue())
    body = one_action(tmp_path, "function: a.zip\nruntime: python:3.11\nmain: handler", {})
    assert body["exec"] == {
        "kind": "python:3.11",
        "code": base64.b64encode(data.getvalue()).decode(),
        "binary": True,
        "main": "handler",
    }
    with pytest.raises(ManifestError, match="cannot infer the runtime"):
        one_action(tmp_path, "function: a.zip", {})


def test_main_version_and_limits_only_when_given(tmp_path):
    assert set(one_action(tmp_path, "function: a.py")) == {"exec", "parameters", "annotations"}
    assert "main" not in one_action(tmp_path, "function: a.py")["exec"]
    body = one_action(
        tmp_path,
        """
        function: a.py
        version: 1.0
        limits: {timeout: 5000, memorySize: 512, logSize: 5, concurrentActivations: 1, codeSize: 9}
        """,
    )
    assert body["version"] == "1.0"
    assert body["limits"] == {"timeout": 5000, "memory": 512, "logs": 5, "concurrency": 1}


def test_limit_must_be_an_integer(tmp_path):
    with pytest.raises(ManifestError, match=r"actions\.a\.limits\.memorySize: expected an integer"):
        one_action(tmp_path, "function: a.py\nlimits: {memorySize: 512 MB}")


def test_inline_code_and_docker(tmp_path):
    inline = one_action(tmp_path, "code: 'function main() { return {} }'\nruntime: nodejs:20")
    assert inline["exec"] == {"kind": "nodejs:20", "code": "function main() { return {} }", "binary": False}
    docker = one_action(tmp_path, "docker: me/image:1")
    assert docker["exec"] == {"kind": "blackbox", "image": "me/image:1"}
    with_code = one_action(tmp_path, "docker: me/image:1\nfunction: a.py")
    assert with_code["exec"] == {"kind": "blackbox", "image": "me/image:1", "code": "x", "binary": False}
    assert one_action(tmp_path, "native: true\nfunction: a.py")["exec"]["image"] == "openwhisk/dockerskeleton"


# -- parameters and annotations ------------------------------------------------------------


def test_inputs_forms(tmp_path, monkeypatch):
    monkeypatch.setenv("EMU_TEST_USER", "ann")
    monkeypatch.delenv("EMU_TEST_UNSET", raising=False)
    body = one_action(
        tmp_path,
        """
        function: a.py
        inputs:
          plain: hi
          number: 3
          nothing:
          typed_only: integer
          listed: [1, 2]
          inline_object: {host: example.org, port: 80}
          declared: {type: string, value: v, description: a value}
          defaulted: {type: integer, default: 7}
          empty_bool: {type: boolean}
          json_text: {type: json, value: '{"a": [1]}'}
          user: $EMU_TEST_USER
          greeting: Hello ${EMU_TEST_USER}!
          unset: ${EMU_TEST_UNSET}
          escaped: $${EMU_TEST_USER}
          price: costs $EMU_TEST_USER
          day: 2024-01-31
        """,
    )
    assert params(body) == {
        "plain": "hi",
        "number": 3,
        "nothing": "",
        "typed_only": 0,
        "listed": [1, 2],
        "inline_object": {"host": "example.org", "port": 80},
        "declared": "v",
        "defaulted": 7,
        "empty_bool": False,
        "json_text": {"a": [1]},
        "user": "ann",
        "greeting": "Hello ann!",
        "unset": "${EMU_TEST_UNSET}",
        "escaped": "${EMU_TEST_USER}",
        "price": "costs $EMU_TEST_USER",
        "day": "2024-01-31",
    }
    json.dumps(body)
    assert [p["key"] for p in body["parameters"]][:3] == ["plain", "number", "nothing"]


def test_bad_parameter_type(tmp_path):
    with pytest.raises(ManifestError, match=r"inputs\.x: unknown parameter type 'text'"):
        one_action(tmp_path, "function: a.py\ninputs: {x: {type: text, value: 1}}")


def test_annotations_and_description(tmp_path, monkeypatch):
    monkeypatch.setenv("EMU_TEST_TOKEN", "s3cret")
    body = one_action(
        tmp_path,
        """
        function: a.py
        description: does things
        annotations: {require-whisk-auth: $EMU_TEST_TOKEN, sample: true}
        """,
    )
    assert body["annotations"] == [
        {"key": "require-whisk-auth", "value": "s3cret"},
        {"key": "sample", "value": True},
        {"key": "description", "value": "does things"},
    ]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("web-export: true", {"web-export": True, "final": True, "raw-http": False}),
        ("web: yes", {"web-export": True, "final": True, "raw-http": False}),
        ("web: 'yes'", {"web-export": True, "final": True, "raw-http": False}),
        ("web: raw", {"web-export": True, "final": True, "raw-http": True}),
        ("web-export: false", {"web-export": False, "final": False, "raw-http": False}),
        ("web: raw\nweb-export: false", {"web-export": True, "final": True, "raw-http": True}),
    ],
)
def test_web_export(tmp_path, setting, expected):
    assert annotations(one_action(tmp_path, f"function: a.py\n{setting}")) == expected


def test_web_replaces_annotations_of_the_same_name(tmp_path):
    body = one_action(
        tmp_path, "function: a.py\nweb: true\nannotations: {final: false, web-custom-options: true}"
    )
    assert annotations(body) == {
        "web-custom-options": True,
        "web-export": True,
        "final": True,
        "raw-http": False,
    }


def test_invalid_web_value(tmp_path):
    with pytest.raises(ManifestError, match="'web' must be true, false, yes, no or raw"):
        one_action(tmp_path, "function: a.py\nweb: maybe")


# -- packages and sequences ----------------------------------------------------------------


def test_package_fields(tmp_path):
    entities = load_manifest(
        project(
            tmp_path,
            """
            packages:
              tools:
                version: 0.2.0
                license: MIT
                public: true
                inputs: {region: eu}
                annotations: {owner: me}
            """,
        )
    )
    assert entities == [
        ManifestEntity(
            "packages",
            "tools",
            {
                "parameters": [{"key": "region", "value": "eu"}],
                "annotations": [{"key": "owner", "value": "me"}],
                "publish": True,
                "version": "0.2.0",
            },
            str(tmp_path / "manifest.yaml"),
        )
    ]


def test_default_package_is_the_namespace_root(tmp_path):
    entities = load_manifest(
        project(
            tmp_path,
            """
            packages:
              default:
                actions:
                  a: {function: a.py}
                  b: {function: a.py}
                sequences:
                  both: {actions: 'a, b'}
            """,
            {"a.py": "x"},
        )
    )
    assert [(e.collection, e.path) for e in entities] == [
        ("actions", "a"),
        ("actions", "b"),
        ("actions", "both"),
    ]
    assert entities[2].body["exec"]["components"] == ["/_/a", "/_/b"]


def test_sequence_component_paths(tmp_path):
    entities = load_manifest(
        project(
            tmp_path,
            """
            packages:
              p:
                actions:
                  a: {function: a.py}
                sequences:
                  s:
                    actions: a, other/b ,/guest/lib/c, default/d
                    web: true
                  listed:
                    actions: [a, a]
            """,
            {"a.py": "x"},
        )
    )
    found = by_path(entities)
    assert found["p/s"].body == {
        "exec": {"kind": "sequence", "components": ["/_/p/a", "/_/other/b", "/guest/lib/c", "/_/d"]},
        "parameters": [],
        "annotations": [
            {"key": "web-export", "value": True},
            {"key": "final", "value": True},
            {"key": "raw-http", "value": False},
        ],
    }
    assert found["p/listed"].body["exec"]["components"] == ["/_/p/a", "/_/p/a"]


def test_sequences_come_after_the_sequences_they_use(tmp_path):
    manifest = """
        packages:
          p:
            actions:
              a: {function: a.py}
            sequences:
              outer: {actions: 'inner, a'}
              inner: {actions: 'a, a'}
        """
    entities = load_manifest(project(tmp_path, manifest, {"a.py": "x"}))
    assert [e.path for e in entities] == ["p", "p/a", "p/inner", "p/outer"]


def test_sequence_cycle(tmp_path):
    manifest = """
        packages:
          p:
            sequences:
              one: {actions: two}
              two: {actions: one}
        """
    with pytest.raises(ManifestError, match="cycle"):
        load_manifest(project(tmp_path, manifest))


def test_sequence_needs_actions(tmp_path):
    with pytest.raises(ManifestError, match=r"sequences\.s: 'actions' must be"):
        load_manifest(project(tmp_path, "packages:\n  p:\n    sequences:\n      s: {web: true}\n"))


def test_singular_package_and_project_forms(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    single = project(
        tmp_path / "one", "package:\n  name: solo\n  actions:\n    a: {function: a.py}\n", {"a.py": "x"}
    )
    nested = project(tmp_path / "two", "project:\n  name: demo\n  packages:\n    inner: {}\n")
    assert [e.path for e in load_manifest(single)] == ["solo", "solo/a"]
    assert [e.path for e in load_manifest(nested)] == ["inner"]


def test_unimplemented_sections_are_ignored(tmp_path):
    manifest = """
        packages:
          p:
            dependencies:
              utils: {location: /whisk.system/utils}
            actions:
              a: {function: a.py, outputs: {result: {type: string}}}
            triggers:
              every-minute: {feed: /whisk.system/alarms/alarm, inputs: {cron: '* * * * *'}}
            rules:
              tick: {trigger: every-minute, action: a}
            apis:
              hello: {greet: {world: {a: {method: GET}}}}
        """
    assert [e.path for e in load_manifest(project(tmp_path, manifest, {"a.py": "x"}))] == ["p", "p/a"]


# -- errors --------------------------------------------------------------------------------


def test_missing_function_file(tmp_path):
    manifest = "packages:\n  demo:\n    actions:\n      hello: {function: hello.py}\n"
    path = project(tmp_path, manifest)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert str(caught.value) == f"{path}: packages.demo.actions.hello: 'function' file not found: hello.py"


def test_missing_function_key(tmp_path):
    with pytest.raises(ManifestError, match=r"actions\.a: 'function' is required"):
        one_action(tmp_path, "runtime: python:3.11")


def test_unknown_action_key(tmp_path):
    with pytest.raises(
        ManifestError, match=r"packages\.p\.actions\.a: unknown key 'runtim' \(did you mean 'runtime'\?\)"
    ):
        one_action(tmp_path, "function: a.py\nruntim: python:3.11")


def test_tolerated_documented_action_keys(tmp_path):
    body = one_action(
        tmp_path, "function: a.py\nfeed: false\nexposedUrl: x\nnamespace: guest\ninclude: [[a, b]]"
    )
    assert body["exec"]["code"] == "x"


def test_unknown_package_key(tmp_path):
    with pytest.raises(
        ManifestError, match=r"packages\.p: unknown key 'action' \(did you mean 'actions'\?\)"
    ):
        load_manifest(project(tmp_path, "packages:\n  p:\n    action: {}\n"))


def test_malformed_yaml_names_the_file(tmp_path):
    path = project(tmp_path, "packages:\n  p: [unclosed\n")
    with pytest.raises(ManifestError, match=rf"^{path}: invalid YAML"):
        load_manifest(path)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", ""])
def test_top_level_must_be_a_mapping(tmp_path, text):
    path = project(tmp_path, text)
    with pytest.raises(ManifestError, match=rf"^{path}: the top level must be a mapping"):
        load_manifest(path)


def test_actions_must_be_a_mapping(tmp_path):
    with pytest.raises(ManifestError, match=r"packages\.p\.actions: expected a mapping, got list"):
        load_manifest(project(tmp_path, "packages:\n  p:\n    actions: [a, b]\n"))


def test_duplicate_action_and_sequence(tmp_path):
    manifest = (
        "packages:\n  p:\n    actions:\n      a: {function: a.py}\n    sequences:\n      a: {actions: b}\n"
    )
    with pytest.raises(ManifestError, match="'p/a' is declared twice"):
        load_manifest(project(tmp_path, manifest, {"a.py": "x"}))


def test_invalid_entity_name(tmp_path):
    with pytest.raises(ManifestError, match="'a/b' is not a valid OpenWhisk entity name"):
        load_manifest(project(tmp_path, "packages:\n  a/b: {}\n"))


# -- discovery -----------------------------------------------------------------------------


def test_find_manifests(tmp_path):
    for folder in ["", "b/deep", "a", "node_modules/x", ".hidden", "a/.venv", "c/__pycache__"]:
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "manifest.yaml").write_text("packages: {}\n")
    (tmp_path / "a" / "manifest.yml").write_text("packages: {}\n")
    (tmp_path / "a" / "other.yaml").write_text("packages: {}\n")
    assert find_manifests(tmp_path) == [
        tmp_path / "a" / "manifest.yaml",
        tmp_path / "a" / "manifest.yml",
        tmp_path / "b" / "deep" / "manifest.yaml",
        tmp_path / "manifest.yaml",
    ]
