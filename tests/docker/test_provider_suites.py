"""The end-to-end tests of every provider, run again with their instances in containers.

Not a copy: each case runs one of the providers' own test files in a child pytest with
EMU_TEST_BACKEND=docker. Left out are the tests that reach into the host from the function
(marker files in the test's temp folder, the tests' own Python for awslambdaric), which a
container by design cannot see. Azure's Python apps and custom handlers are not run here yet: the
stock runtime images lack the azure-functions library, and the custom handler tests write to the
test's temp folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT

SUITES = [
    "tests/openwhisk/test_e2e_actions.py",
    "tests/openwhisk/test_e2e_errors.py",
    "tests/openwhisk/test_e2e_invoke.py",
    "tests/openwhisk/test_e2e_limits_and_reload.py",
    "tests/openwhisk/test_e2e_npm.py",
    "tests/openwhisk/test_e2e_restart.py",
    "tests/openwhisk/test_e2e_samples.py",
    "tests/openwhisk/test_e2e_sequences.py",
    "tests/openwhisk/test_e2e_web.py",
    "tests/aws_lambda/test_e2e_apigateway.py",
    "tests/aws_lambda/test_e2e_errors.py",
    "tests/aws_lambda/test_e2e_invoke.py",
    "tests/aws_lambda/test_e2e_management.py",
    "tests/aws_lambda/test_e2e_sam.py",
    "tests/azure/test_e2e_node.py",
    "tests/gcp/test_e2e_reload.py",
    "tests/gcp/test_e2e_samples.py",
]
HOST_ONLY = [
    # The function touches a marker file in the test's temp folder.
    "tests/openwhisk/test_e2e_limits_and_reload.py::test_calls_past_the_instances_and_the_queue_get_429",
    "tests/aws_lambda/test_e2e_errors.py::test_calls_past_reserved_concurrency_are_throttled_at_once",
    # ...and the test after it counts on that test's reservation being there.
    "tests/aws_lambda/test_e2e_errors.py::test_reservations_leave_100_unreserved",
    "tests/aws_lambda/test_e2e_invoke.py::test_event_invocation_is_accepted_then_run",
    # Its Dockerfile starts FROM a public image, which an engine without registry access cannot pull.
    "tests/gcp/test_e2e_samples.py::test_cloud_run_service",
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("suite", SUITES, ids=[s.removeprefix("tests/") for s in SUITES])
def test_suite_on_the_docker_backend(suite: str, images: dict[str, str], engine: Any) -> None:
    deselect = [arg for test in HOST_ONLY if test.startswith(suite + "::") for arg in ("--deselect", test)]
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            suite,
            *deselect,
        ],
        cwd=ROOT,
        env={**os.environ, "EMU_TEST_BACKEND": "docker"},
        capture_output=True,
        text=True,
        timeout=290,
    )
    summary = completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else ""
    assert completed.returncode == 0, (
        f"{suite} on the docker backend: {summary}\n{completed.stdout[-6000:]}{completed.stderr[-2000:]}"
    )
    assert " passed" in summary and " skipped" not in summary, summary
