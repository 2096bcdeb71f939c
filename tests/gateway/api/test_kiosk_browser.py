"""The kiosk flow in a real headless Chromium (Debian's chromium, driven by Playwright):
sign in, choose a real export, upload with a progress bar, open the report."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gateway.api.auth import Role
from tests.gateway.api.conftest import Api

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("GLUCOGATE_REQUIRE_SERVICES") == "1":
            pytest.fail("chromium is not installed (make test installs it)")
        pytest.skip("chromium not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def test_kiosk_upload_shows_progress_and_the_report(
    api: Api,
    browser,
    real_fixtures: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    page = browser.new_page()
    page.goto(api.url + "/")
    assert page.url.endswith("/login")
    page.fill("#token", api.tokens[Role.KIOSK])
    page.click("#signin")
    page.wait_for_url(api.url + "/")
    page.fill("#patient", "MRN-0042")
    page.set_input_files(
        "#file", str(real_fixtures / "dexcom-clarity" / "clarity_g6_android_2019_unquoted_bom.csv")
    )
    page.click("#send")
    page.wait_for_selector("#report", timeout=30_000)
    assert page.eval_on_selector("#bar", "el => el.value") == 100
    assert "4002 new records" in page.inner_text("#status")
    page.screenshot(path=str(tmp_path / "kiosk.png"))
    page.click("#report")
    page.wait_for_selector("text=Time in ranges")
    body = page.inner_text("body")
    assert "Glucose summary" in body and "In range" in body
    assert "MRN" not in body


def test_a_bad_file_is_explained_on_the_page(api: Api, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "notes.txt"
    bad.write_text("not an export\n")
    page = browser.new_page()
    page.goto(api.url + "/login")
    page.fill("#token", api.tokens[Role.KIOSK])
    page.click("#signin")
    page.wait_for_url(api.url + "/")
    page.fill("#patient", "MRN-7")
    page.set_input_files("#file", str(bad))
    page.click("#send")
    page.wait_for_selector("#status.error")
    assert "notes.txt" in page.inner_text("#status")
