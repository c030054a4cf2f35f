"""The dashboard in headless Chromium: see the functions, invoke one from the form, watch invocations
arrive live. Screenshots are kept under the test's tmp dir (or $EMU_TEST_ARTIFACTS).

The browser is the system's Chromium (Debian: `apt-get install chromium`), driven by Playwright
through `executable_path`: nothing is downloaded."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cockpit.conftest import LAMBDA_NAME
from tests.conftest import RunningEmu

# Debian's `chromium` package, or any Chromium named by EMU_CHROMIUM.
CHROMIUM = os.environ.get("EMU_CHROMIUM") or shutil.which("chromium") or "chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000

try:
    from playwright import sync_api
except ImportError:  # the test extra is not installed
    sync_api = None  # type: ignore[assignment]
MISSING = (
    "the playwright package is not installed"
    if sync_api is None
    else None
    if shutil.which(CHROMIUM)
    else f"no Chromium ({CHROMIUM}): apt-get install chromium, or set EMU_CHROMIUM to one"
)


@pytest.fixture(autouse=True)
def browser_available() -> None:
    """Before any gateway starts: skip without a browser, or fail where one is required."""
    if MISSING:
        # CI sets EMU_REQUIRE_CHROMIUM=1: there a missing browser is a failure, not a skip.
        (pytest.fail if os.environ.get("EMU_REQUIRE_CHROMIUM") == "1" else pytest.skip)(MISSING)


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("EMU_TEST_ARTIFACTS", tmp_path / "artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(cockpit_emu: RunningEmu) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page
            assert errors == []
        finally:
            browser.close()


def test_see_a_function_invoke_it_and_watch_invocations_arrive(
    page: Any, cockpit_emu: RunningEmu, artifacts: Path
) -> None:
    expect = sync_api.expect
    admin = cockpit_emu.urls["admin"]
    page.goto(admin + "/")
    expect(page.get_by_test_id("live")).to_have_text("live")
    greet = page.locator("tr[data-function='openwhisk/guest/greet']")
    expect(greet).to_contain_text("python:3.11")
    expect(greet).to_contain_text(f"{cockpit_emu.urls['openwhisk']}/api/v1/namespaces/guest/actions/greet")
    page.screenshot(path=str(artifacts / "1-functions.png"), full_page=True)

    # Invoke from the form: the result shows, and the invocation is listed.
    greet.click()  # a row fills in the form
    expect(page.get_by_test_id("invoke-function")).to_have_value("openwhisk/guest/greet")
    page.get_by_test_id("invoke-payload").fill('{"name": "Browser"}')
    page.get_by_test_id("invoke-button").click()
    expect(page.get_by_test_id("invoke-result")).to_contain_text('"greeting": "Hello, Browser!"')
    expect(page.get_by_test_id("invoke-status")).to_contain_text("success in")
    first = page.locator("#invocations tr[data-id]").first
    expect(first).to_contain_text("/guest/greet")
    expect(first).to_contain_text("success")
    expect(greet.get_by_test_id("instances")).to_have_text("1")
    page.screenshot(path=str(artifacts / "2-invoked-from-the-form.png"), full_page=True)

    # An invocation made elsewhere appears by itself, through the live stream.
    reply = httpx.post(
        f"{cockpit_emu.urls['lambda']}/2015-03-31/functions/{LAMBDA_NAME}/invocations",
        json={"name": "Outside"},
    )
    assert reply.status_code == 200, reply.text
    row = page.locator(f"#invocations tr[data-id='{reply.headers['x-amzn-RequestId']}']")
    expect(row).to_contain_text(LAMBDA_NAME)
    expect(row).to_contain_text("success")
    row.click()
    details = page.locator(f"tr[data-details='{reply.headers['x-amzn-RequestId']}']")
    expect(details).to_contain_text('"name": "Outside"')  # the payload
    expect(details).to_contain_text("Hello, Outside!")  # the result
    expect(details).to_contain_text("greeter: greeting Outside")  # the logs

    # The latency chart draws the function's invocations.
    page.get_by_test_id("chart-function").select_option(f"lambda/{LAMBDA_NAME}")
    expect(page.locator("#chart rect.bar").first).to_be_visible()
    page.screenshot(path=str(artifacts / "3-live-invocation-and-chart.png"), full_page=True)


def test_a_bad_payload_is_explained_in_the_form(page: Any, cockpit_emu: RunningEmu) -> None:
    expect = sync_api.expect
    page.goto(cockpit_emu.urls["admin"] + "/")
    page.get_by_test_id("invoke-function").select_option("openwhisk/guest/greet")
    page.get_by_test_id("invoke-payload").fill("{not json")
    page.get_by_test_id("invoke-button").click()
    expect(page.get_by_test_id("invoke-status")).to_contain_text("The payload is not JSON")
    page.get_by_test_id("invoke-payload").fill('"a string"')
    page.get_by_test_id("invoke-button").click()
    expect(page.get_by_test_id("invoke-status")).to_contain_text("400: The request content was malformed")
