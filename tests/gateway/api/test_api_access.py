"""Every endpoint x every role x unauthenticated, over HTTP to a real server; uploads
are size-limited and audited; the upload's file name is never stored."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gateway.api.auth import Role
from gateway.store.sqlite import Store
from tests.gateway.api.conftest import Api

G6_2019 = "dexcom-clarity/clarity_g6_receiver_mmol_not_stored_bom.csv"


def _upload(api: Api, token: str | None, data: bytes, name: str = "export.csv") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        f"{api.url}/api/uploads",
        headers=headers,
        files={"file": (name, data, "text/csv")},
        data={"patient": "MRN-0042"},
        timeout=30,
    )


def test_upload_and_read_matrix(api: Api, real_fixtures: Path) -> None:
    data = (real_fixtures / G6_2019).read_bytes()
    name = "Clarity_Export_Jane_Doe_2019.csv"
    expected_upload = {
        None: 401,
        **{r: (200 if r in (Role.KIOSK, Role.ADMIN) else 403) for r in Role},
    }
    pseudonym = None
    for role, want in expected_upload.items():
        resp = _upload(api, api.tokens[role] if role else None, data, name)
        assert resp.status_code == want, (role, resp.text)
        if want == 200:
            body = resp.json()
            assert body["counts"] == {"cgm": 299} and body["format"] == "dexcom-clarity-csv"
            pseudonym = body["patient"]
    assert pseudonym is not None
    for path in (f"/api/patients/{pseudonym}/metrics", f"/reports/{pseudonym}/summary.html"):
        assert httpx.get(api.url + path).status_code == 401
        assert (
            httpx.get(api.url + path, headers={"Authorization": "Bearer nope"}).status_code == 401
        )
        for role in Role:
            resp = httpx.get(
                api.url + path, headers={"Authorization": f"Bearer {api.tokens[role]}"}
            )
            assert resp.status_code == 200, (role, path)
    metrics = httpx.get(
        f"{api.url}/api/patients/{pseudonym}/metrics",
        headers={"Authorization": f"Bearer {api.tokens[Role.CHW]}"},
    ).json()
    assert metrics["metrics"]["n_readings"] == 299

    with Store(api.config.store_path) as store:
        log = store.audit_log()
    actions = [(actor.split(":")[0], action) for actor, action, _ in log if action != "ingest"]
    assert actions.count(("kiosk", "upload")) == 1 and actions.count(("admin", "upload")) == 1
    assert sum(a == "read-metrics" for _, a in actions) == len(Role) + 1
    assert sum(a == "read-report" for _, a in actions) == len(Role)
    everything = api.config.store_path.read_bytes()
    assert b"Jane" not in everything and b"MRN-0042" in everything  # local identity stays local
    assert all("MRN" not in str(detail) for _, _, detail in log)


def test_unknown_patient_is_404_and_bad_file_is_422(api: Api) -> None:
    auth = {"Authorization": f"Bearer {api.tokens[Role.EDUCATOR]}"}
    assert (
        httpx.get(f"{api.url}/api/patients/p-aaaaaaaaaaaaaaaa/metrics", headers=auth).status_code
        == 404
    )
    resp = _upload(api, api.tokens[Role.KIOSK], b"just some notes\n", "notes.txt")
    assert resp.status_code == 422 and "notes.txt" in resp.json()["detail"]
    assert "/tmp" not in resp.json()["detail"]


def test_oversized_upload_is_refused(api: Api) -> None:
    resp = _upload(api, api.tokens[Role.KIOSK], b"x" * 1_000_001)
    assert resp.status_code == 413


@pytest.mark.parametrize("token", ["", "token-for-kiosk-0123456789x"])
def test_kiosk_page_needs_a_kiosk_sign_in(api: Api, token: str) -> None:
    resp = httpx.get(api.url + "/", cookies={"glucogate_token": token} if token else None)
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
