"""The care team's pages in a real headless Chromium (Debian's chromium, driven by
Playwright) against a real uvicorn server: an educator signs in, finds the
frequent-lows patient in the worklist's Very low group, opens the patient page, changes
the care plan's language to Spanish and sees version 2 in the history."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.api.auth import Role, token_hash
from gateway.record.store import CareRecordStore
from gateway.record.web import create_record_app
from tests.gateway.api.test_kiosk_browser import browser  # noqa: F401  (fixture)
from tests.gateway.record.test_web import (  # noqa: F401  (fixtures)
    FL,
    MB,
    NOW,
    SITE,
    TOKENS,
    actor,
    filled,
    messages,
)
from tests.harness.web import serve


@pytest.fixture
def site(tmp_path: Path, filled: Path) -> Iterator[tuple[str, CareRecordStore]]:  # noqa: F811
    shutil.copyfile(filled, tmp_path / "care.sqlite")
    store = CareRecordStore(tmp_path / "care.sqlite")
    app = create_record_app(store, {token_hash(t): r for r, t in TOKENS.items()}, clock=lambda: NOW)
    with serve(app) as url:
        yield url, store
    store.close()


def test_educator_edits_the_plan_of_a_patient_with_frequent_lows(  # type: ignore[no-untyped-def]
    browser,  # noqa: F811
    site: tuple[str, CareRecordStore],
    tmp_path: Path,
) -> None:
    url, store = site
    page = browser.new_page()
    page.goto(url + "/worklist")
    assert "/login" in page.url  # not signed in: sent to the sign-in page
    page.fill("#token", TOKENS[Role.EDUCATOR])
    page.click("#signin")
    page.wait_for_url(url + "/worklist")
    assert page.inner_text("#whoami") == "signed in as educator"
    row = f'#worklist tr[data-patient="{FL}"]'
    assert page.inner_text(row + " td.group") == "Very low"
    assert "time < 54 mg/dL 1.9 % (target < 1 %)" in page.inner_text(row + " td.reason")
    assert page.locator(f'#worklist tr[data-patient="{MB}"]').count() == 0  # the clinician's
    page.click("#scope-all")
    page.wait_for_url(url + "/worklist?role=all")
    assert page.inner_text(f'#worklist tr[data-patient="{MB}"] td.group') == "Low"

    page.click(row + " a.patient")
    page.wait_for_url(url + f"/patients/{FL}")
    assert page.inner_text("#group") == "Very low"
    assert page.inner_text("#kpi-days") == "14"
    assert page.inner_text("#plan-language") == "en"
    page.screenshot(path=str(tmp_path / "patient.png"), full_page=True)
    page.click("#edit-plan")
    page.wait_for_url(url + f"/patients/{FL}/careplan")
    page.select_option("#language", "es")
    page.click("#save")
    page.wait_for_url(url + f"/patients/{FL}")
    assert page.inner_text("#plan-language") == "es"
    assert page.inner_text('#history tr[data-version="2"]').split("\t")[:2] == [
        "2",
        actor(Role.EDUCATOR),
    ]
    assert page.locator('#history tr[data-version="1"]').count() == 1
    plan = store.careplan(SITE, FL)
    assert plan is not None and (plan.version, plan.language) == (2, "es")
