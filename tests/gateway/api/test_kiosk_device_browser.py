"""The kiosk's Devices panel in a real headless Chromium (Debian's chromium, driven by
Playwright), against a virtual Dexcom G6 receiver on a pseudo-terminal read by the real
driver: the device appears, Upload drives the progress bar from the server-sent events
to 100 %, the report link opens the report and Print prints it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.api.auth import Role
from gateway.api.device_uploads import CONNECT_FRACTION
from gateway.ingest.device import STEPS
from simulators.cgm.dexcom_receiver import Fault, VirtualReceiver
from tests.gateway.api.test_devices_api import Kiosk, make_kiosk, samples, virtual_receiver
from tests.gateway.api.test_kiosk_browser import CHROMIUM, FLAGS

# Every value the progress bar takes, and every print() call (in any frame).
WATCH = """
window.print = () => { window.top.__prints = (window.top.__prints || 0) + 1; };
document.addEventListener('DOMContentLoaded', () => {
  const bar = document.getElementById('device-bar');
  if (!bar) { return; }
  window.__bar = [];  // the value before each change; the current value is the last
  new MutationObserver((records) => records.forEach((r) => window.__bar.push(Number(r.oldValue))))
    .observe(bar, {attributes: true, attributeFilter: ['value'], attributeOldValue: true});
});
"""


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


@pytest.fixture
def receiver() -> Iterator[VirtualReceiver]:
    with virtual_receiver("SM00000080") as rx:
        yield rx


def signed_in(browser, kiosk: Kiosk, urls: list[str]):  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.add_init_script(WATCH)
    page.on("request", lambda request: urls.append(request.url))
    page.goto(kiosk.url + "/login")
    page.fill("#token", kiosk.tokens[Role.KIOSK])
    page.click("#signin")
    page.wait_for_url(kiosk.url + "/")
    return page


def test_device_upload_progress_report_and_print(  # type: ignore[no-untyped-def]
    browser, receiver: VirtualReceiver, tmp_path: Path
) -> None:
    kiosk = next(gen := make_kiosk(tmp_path, receiver.port))
    urls: list[str] = []
    try:
        page = signed_in(browser, kiosk, urls)
        row = f'#devices li[data-device="{receiver.port}"]'
        page.wait_for_selector(row + " button.device-upload", timeout=30_000)
        assert "Dexcom CGM receiver (USB)" in page.inner_text(row)
        assert "Sim CGM" in page.inner_text("#devices")  # the simulated BLE CGM too
        page.fill("#device-patient", "MRN-0042")
        page.click(row + " button.device-upload")
        page.wait_for_selector("#device-report", timeout=30_000)
        assert page.eval_on_selector("#device-bar", "el => el.value") == 100
        bar = [*page.evaluate("window.__bar"), 100]
        # 0, then each step's percent from the event stream (connect, clock, history...)
        steps = [0, round(100 * CONNECT_FRACTION), *(round(100 * f) for _, f in STEPS)]
        assert [v for i, v in enumerate(bar) if i == 0 or v != bar[i - 1]] == steps, bar
        status = page.inner_text("#device-status")
        assert f"Done: {len(samples())} new records, 0 already stored" in status
        page.screenshot(path=str(tmp_path / "kiosk-devices.png"))
        page.click("#device-print")
        page.wait_for_function("window.__prints === 1", timeout=10_000)
        frame_text = page.frame_locator("#report-frame").locator("body").inner_text()
        assert "Glucose summary" in frame_text
        page.click("#device-report")
        page.wait_for_selector("text=Time in ranges")
        body = page.inner_text("body")
        assert "Glucose summary" in body and "In range" in body and "MRN" not in body
        assert "/reports/p-" in page.url
    finally:
        next(gen, None)
    assert urls and not [u for u in urls if "MRN" in u]


def test_a_pulled_cable_is_explained_on_the_page(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with virtual_receiver("SM00000081", (Fault("disconnect", nth=3),)) as faulty:
        kiosk = next(gen := make_kiosk(tmp_path, faulty.port))
        try:
            page = signed_in(browser, kiosk, [])
            row = f'#devices li[data-device="{faulty.port}"]'
            page.wait_for_selector(row + " button.device-upload", timeout=30_000)
            page.fill("#device-patient", "MRN-0043")
            page.click(row + " button.device-upload")
            page.wait_for_selector("#device-status.error", timeout=30_000)
            text = page.inner_text("#device-status")
        finally:
            next(gen, None)
    assert text.startswith(f"Dexcom G6 touchscreen receiver on {faulty.port}: failed while")
    assert "history" in text and "Nothing from this upload was stored" in text
