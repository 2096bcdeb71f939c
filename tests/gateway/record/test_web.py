"""The care record's pages and API over a store filled by the real intake.

Three synthetic patients (simulators/patient presets, 14 days from 2026-03-02) go
through the gateway's own message builders (records + summary) into :class:`Intake`;
their care plans are saved first, so findings and the worklist use the plans'
thresholds and owners. Expected groups come from the presets' planted behaviour
(frequent lows, missed boluses, well controlled), reasons from the metrics the
gateway published, KPIs from the 14 days of CGM the scenario wore.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.analyze.summary import cgm_series, patient_metrics
from gateway.api.auth import Role, token_hash
from gateway.careplan.plan import new_plan
from gateway.identity import patient_pseudonym
from gateway.publish.messages import record_messages, summary_message
from gateway.record.service import Intake
from gateway.record.store import CareRecordStore
from gateway.record.web import create_record_app

SITE = "clinic-a"
SECRET = b"k" * 32
START = date(2026, 3, 2)
DAYS = 14
NOW = datetime(2026, 3, 17, 9, 0, tzinfo=UTC)  # two days after the last reading
TOKENS = {role: f"token-for-{role.value}-0123456789" for role in Role}
PATIENTS = {"fl": ("frequent_lows", 5), "wc": ("well_controlled", 6), "mb": ("missed_boluses", 7)}
PSEUDONYMS = {key: patient_pseudonym(SECRET, SITE, f"local-{key}") for key in PATIENTS}
FL, WC, MB = PSEUDONYMS["fl"], PSEUDONYMS["wc"], PSEUDONYMS["mb"]
READERS = (Role.EDUCATOR, Role.CLINICIAN, Role.PHARMACIST, Role.CHW, Role.ADMIN)
EDITORS = (Role.EDUCATOR, Role.CLINICIAN, Role.ADMIN)


def actor(role: Role) -> str:
    return f"{role.value}:{token_hash(TOKENS[role])[:8]}"


@pytest.fixture(scope="session")
def messages() -> list[tuple[str, bytes]]:
    """What the gateway would publish for the three patients (built once)."""
    from simulators.patient import presets
    from simulators.patient.scenario import Scenario

    out = []
    for key, (preset, seed) in PATIENTS.items():
        sc = Scenario(presets.preset(preset), days=DAYS, seed=seed, tz="UTC", start=START)
        cgm = [r for r in sc.records if r.device_id == sc.cgm_id]
        series = cgm_series(cgm)
        assert series.first_utc is not None and series.last_utc is not None
        for topic, payload, _, _ in record_messages(
            cgm, secret=SECRET, site=SITE, pseudonym=PSEUDONYMS[key], gateway_id="gw-1"
        ):
            out.append((topic, payload.encode()))
        topic, payload, _, _ = summary_message(
            patient_metrics(series),
            site=SITE,
            pseudonym=PSEUDONYMS[key],
            gateway_id="gw-1",
            start_utc=series.first_utc,
            end_utc=series.last_utc,
            generated_utc=series.last_utc + timedelta(minutes=5),
        )
        out.append((topic, payload.encode()))
    return out


@dataclass
class Record:
    store: CareRecordStore
    client: TestClient
    app: Any
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)

    def get(self, path: str, role: Role | None = None, **kw: Any) -> Any:
        return self.client.get(path, headers=_auth(role), **kw)

    def post(self, path: str, role: Role | None = None, **kw: Any) -> Any:
        return self.client.post(path, headers=_auth(role), **kw)


def _auth(role: Role | None) -> dict[str, str]:
    return {} if role is None else {"Authorization": f"Bearer {TOKENS[role]}"}


def fill(store: CareRecordStore, messages: list[tuple[str, bytes]]) -> None:
    """Plans first (so findings use their owners), then the gateway's messages."""
    t0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    store.save_careplan(
        new_plan(
            site=SITE,
            patient=FL,
            changed_by="clinician:seed0000",
            changed_at=t0,
            follow_up={"very_low": "educator", "below_range": "educator"},
        )
    )
    store.save_careplan(
        new_plan(
            site=SITE,
            patient=MB,
            changed_by="clinician:seed0000",
            changed_at=t0,
            preset="older_high_risk",
        )
    )
    intake = Intake(store)
    for topic, payload in messages:
        intake.handle(topic, payload, retained=False)
    assert store.rejected() == []
    assert intake.accepted == len(messages)


@pytest.fixture(scope="session")
def filled(tmp_path_factory: pytest.TempPathFactory, messages: list[tuple[str, bytes]]) -> Path:
    """The filled care record, made once; each test works on its own copy."""
    path = tmp_path_factory.mktemp("record") / "care.sqlite"
    store = CareRecordStore(path)
    fill(store, messages)
    store.close()  # checkpoints the WAL into the file
    return path


@pytest.fixture
def record(tmp_path: Path, filled: Path) -> Iterator[Record]:
    shutil.copyfile(filled, tmp_path / "care.sqlite")
    store = CareRecordStore(tmp_path / "care.sqlite")
    contacts = {WC: {"preference": '=HYPERLINK("http://evil.example","call")', "best_time": "-1"}}
    app = create_record_app(
        store, {token_hash(t): r for r, t in TOKENS.items()}, contacts=contacts, clock=lambda: NOW
    )
    with TestClient(app, follow_redirects=False) as client:
        yield Record(store, client, app, contacts)
    store.close()


def entries_by_patient(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["patient"]: e for e in body["entries"]}


# -- worklist -----------------------------------------------------------------------------
def test_worklist_groups_reasons_and_owners_follow_the_plans(record: Record) -> None:
    r = record.get("/api/worklist?role=all", Role.ADMIN)
    assert r.status_code == 200
    body = r.json()
    assert [e["patient"] for e in body["entries"]] == [FL, MB, WC]  # priority order
    got = entries_by_patient(body)
    # frequent_lows: 1.9 % < 54 against the consensus < 1 %; its plan gives the
    # follow-up of very lows to the educator
    assert (got[FL]["group"], got[FL]["group_title"], got[FL]["role"]) == (
        "very_low",
        "Very low",
        "educator",
    )
    assert got[FL]["reason"] == "time < 54 mg/dL 1.9 % (target < 1 %)"
    # missed_boluses on the older/high-risk plan: < 70 must stay under 1 %, not 4 %
    assert (got[MB]["group"], got[MB]["role"]) == ("low", "clinician")
    assert got[MB]["reason"] == "time < 70 mg/dL 4.7 % (target < 1 %)"
    # well_controlled meets the consensus; no plan: the site default owner
    assert (got[WC]["group"], got[WC]["role"]) == ("meeting", "educator")
    assert got[WC]["reason"] == "time in range 91.1 %, all targets met"
    # open findings beside each patient, each routed to one role (plans first)
    rules = {p: {f["rule"]: f["role"] for f in e["findings"]} for p, e in got.items()}
    assert rules[FL]["below_range"] == "educator"  # the plan's owner
    assert rules[FL]["level2_hypo"] == "clinician"
    assert rules[MB]["below_range"] == "clinician"  # site default
    assert "below_range" not in rules[WC]  # 2.4 % below 70 is inside < 4 %


def test_each_role_sees_its_own_rows_by_default(record: Record) -> None:
    def mine(role: Role, query: str = "") -> list[str]:
        r = record.get("/api/worklist" + query, role)
        assert r.status_code == 200
        return [e["patient"] for e in r.json()["entries"]]

    assert mine(Role.EDUCATOR) == [FL, WC]
    assert mine(Role.CLINICIAN) == [MB]
    assert mine(Role.CHW) == [] and mine(Role.PHARMACIST) == []
    assert mine(Role.ADMIN) == [FL, MB, WC]  # admin's default is everything
    assert mine(Role.CHW, "?role=all") == [FL, MB, WC]
    assert mine(Role.CHW, "?role=clinician") == [MB]
    assert record.get("/api/worklist?role=nurse", Role.CHW).status_code == 422
    page = record.get("/worklist", Role.EDUCATOR)
    assert page.status_code == 200
    assert f'data-patient="{FL}" data-group="very_low"' in page.text
    assert f'data-patient="{MB}"' not in page.text
    assert f'data-patient="{MB}"' in record.get("/worklist?role=all", Role.EDUCATOR).text


# -- findings -----------------------------------------------------------------------------
def _finding(record: Record, patient: str, rule: str) -> dict[str, Any]:
    with record.store.lock:
        [f] = [
            f
            for f in record.store.findings.open_for()
            if f["patient"] == patient and f["rule"] == rule
        ]
    return f


def test_findings_acknowledge_and_resolve_only_by_the_owner_or_admin(record: Record) -> None:
    below = _finding(record, FL, "below_range")  # owned by the educator (plan)
    hypo = _finding(record, FL, "level2_hypo")  # owned by the clinician (default)
    url = f"/api/findings/{below['id']}"
    for role in (Role.CHW, Role.PHARMACIST, Role.CLINICIAN):
        r = record.post(url + "/acknowledge", role)
        assert r.status_code == 403 and "educator" in r.json()["detail"]
    assert record.post(url + "/acknowledge", Role.KIOSK).status_code == 403
    assert record.post(url + "/acknowledge").status_code == 401
    assert _finding(record, FL, "below_range")["status"] == "open"

    r = record.post(url + "/acknowledge", Role.EDUCATOR)
    assert r.json() == {"id": below["id"], "status": "acknowledged", "by": actor(Role.EDUCATOR)}
    assert _finding(record, FL, "below_range")["status"] == "acknowledged"
    # a browser form comes back to the page it was on
    r = record.post(url + "/resolve", Role.EDUCATOR, data={"next": "/worklist?role=all"})
    assert (r.status_code, r.headers["location"]) == (303, "/worklist?role=all")
    with record.store.lock:
        assert below["id"] not in [f["id"] for f in record.store.findings.open_for()]
        closed = record.store.db.execute(
            "SELECT status, closed_by FROM findings WHERE id = ?", (below["id"],)
        ).fetchone()
    assert closed == ("resolved", actor(Role.EDUCATOR))
    assert record.post(url + "/resolve", Role.EDUCATOR).status_code == 404  # already closed
    fl_row = entries_by_patient(record.get("/api/worklist?role=all", Role.ADMIN).json())[FL]
    assert "below_range" not in [f["rule"] for f in fl_row["findings"]]

    # admin acts for every role; an open redirect target is ignored
    r = record.post(
        f"/api/findings/{hypo['id']}/resolve", Role.ADMIN, data={"next": "//evil.example/"}
    )
    assert (r.status_code, r.headers["location"]) == (303, "/worklist")
    assert record.post(f"/api/findings/{hypo['id']}/reopen", Role.ADMIN).status_code == 404
    actions = [(a, d["rule"]) for _, a, d in record.app.state.audit.entries() if "rule" in d]
    assert actions == [
        ("finding-acknowledge", "below_range"),
        ("finding-resolve", "below_range"),
        ("finding-resolve", "level2_hypo"),
    ]


# -- care plans ---------------------------------------------------------------------------
def _form(record: Record, role: Role, patient: str = FL) -> dict[str, str]:
    """The editor's form fields as the page renders them (inputs and selected options)."""
    page = record.get(f"/patients/{patient}/careplan", role)
    assert page.status_code == 200
    form = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text))
    for name, body in re.findall(r'<select[^>]*name="([^"]+)">(.*?)</select>', page.text, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        form[name] = chosen.group(1) if chosen else ""
    return form


def test_a_care_plan_edit_makes_version_2_and_keeps_version_1(record: Record) -> None:
    form = _form(record, Role.CLINICIAN)
    assert (form["version"], form["language"], form["target.tir"]) == ("1", "en", "70")
    assert form["follow_up.very_low"] == "educator" and form["follow_up.high"] == ""
    form.update(
        {
            "language": "es",
            "target.tir": "65",
            "agreement.cgm_wear": "80",
            "follow_up.no_upload": "educator",
            "next_visit": "2026-04-02",
            "new_name": "County food bank",
            "new_kind": "food_program",
            "new_phone": "+1 (555) 010-2000",
        }
    )
    r = record.post(f"/patients/{FL}/careplan", Role.CLINICIAN, data=form)
    assert (r.status_code, r.headers["location"]) == (303, f"/patients/{FL}")
    plan = record.store.careplan(SITE, FL)
    assert plan is not None
    assert (plan.version, plan.language, plan.changed_by) == (2, "es", actor(Role.CLINICIAN))
    assert plan.changed_at == NOW
    assert {i.id: i.value for i in plan.items}["tir"] == 65.0
    assert {i.id: i.value for i in plan.items}["cgm_wear"] == 80.0
    assert plan.follow_up == {
        "very_low": "educator",
        "below_range": "educator",
        "no_upload": "educator",
    }
    assert [(x.name, x.kind, x.phone) for x in plan.resources] == [
        ("County food bank", "food_program", "+1 (555) 010-2000")
    ]
    assert plan.next_visit == date(2026, 4, 2)
    old = record.store.careplan(SITE, FL, version=1)
    assert old is not None and old.language == "en"
    assert [(v, by) for v, by, _ in record.store.careplan_history(SITE, FL)] == [
        (1, "clinician:seed0000"),
        (2, actor(Role.CLINICIAN)),
    ]
    page = record.get(f"/patients/{FL}", Role.PHARMACIST).text
    assert f'<tr data-version="2"><td>2</td><td>{actor(Role.CLINICIAN)}</td>' in page
    assert '<span id="plan-language">es</span>' in page
    assert "County food bank" in page
    # the worklist now judges TIR on the plan's 65 %; the next edit removes the resource
    form = _form(record, Role.EDUCATOR)
    assert form["version"] == "2"
    form["remove.0"] = "1"
    assert record.post(f"/patients/{FL}/careplan", Role.EDUCATOR, data=form).status_code == 303
    plan = record.store.careplan(SITE, FL)
    assert plan is not None and (plan.version, plan.resources) == (3, ())


def test_changing_the_preset_takes_its_consensus_targets(record: Record) -> None:
    form = _form(record, Role.EDUCATOR)
    form["preset"] = "older_high_risk"
    assert record.post(f"/patients/{FL}/careplan", Role.EDUCATOR, data=form).status_code == 303
    plan = record.store.careplan(SITE, FL)
    assert plan is not None and plan.preset == "older_high_risk"
    assert {i.id: i.value for i in plan.targets} == {
        "tir": 50.0,
        "tbr_70": 1.0,
        "tar_180": 50.0,
        "tar_250": 10.0,
        "cv": 36.0,
    }


@pytest.mark.parametrize(
    ("change", "field_name"),
    [
        ({"target.tir": "150"}, "targets.items[0].value"),  # a percentage above 100
        ({"target.tbr_54": "abc"}, "targets.items[2].value"),
        ({"agreement.site_change": "-1"}, "agreements[2].value"),
        ({"language": "fr"}, "language"),
        ({"preset": "athlete"}, "targets.preset"),
        ({"follow_up.low": "nurse"}, "follow_up.low"),
        ({"next_visit": "2026-13-01"}, "next_visit"),
        (
            {"new_name": "Bus", "new_kind": "transport", "new_phone": "call me"},
            "resources[0].phone",
        ),
    ],
)
def test_an_invalid_value_is_refused_naming_the_field(
    record: Record, change: dict[str, str], field_name: str
) -> None:
    form = _form(record, Role.EDUCATOR)
    form.update(change)
    r = record.post(f"/patients/{FL}/careplan", Role.EDUCATOR, data=form)
    assert r.status_code == 422
    assert f'id="error" data-field="{field_name}"' in r.text
    plan = record.store.careplan(SITE, FL)
    assert plan is not None and (plan.version, plan.language) == (1, "en")


def test_a_stale_editor_cannot_overwrite_a_newer_version(record: Record) -> None:
    first, second = _form(record, Role.EDUCATOR), _form(record, Role.CLINICIAN)
    first["language"] = "es"
    assert record.post(f"/patients/{FL}/careplan", Role.EDUCATOR, data=first).status_code == 303
    second["target.tir"] = "60"
    r = record.post(f"/patients/{FL}/careplan", Role.CLINICIAN, data=second)
    assert r.status_code == 409 and 'id="conflict"' in r.text
    plan = record.store.careplan(SITE, FL)
    assert plan is not None and (plan.version, plan.language) == (2, "es")
    assert {i.id: i.value for i in plan.items}["tir"] == 70.0


def test_a_patient_without_a_plan_gets_version_1(record: Record) -> None:
    assert record.store.careplan(SITE, WC) is None
    form = _form(record, Role.ADMIN, WC)
    assert form["version"] == "0"
    form["language"] = "es"
    assert record.post(f"/patients/{WC}/careplan", Role.ADMIN, data=form).status_code == 303
    plan = record.store.careplan(SITE, WC)
    assert plan is not None and (plan.version, plan.language, plan.changed_by) == (
        1,
        "es",
        actor(Role.ADMIN),
    )


# -- patient page, outreach, FHIR ---------------------------------------------------------
def test_patient_page_shows_metrics_findings_plan_and_kpis(record: Record) -> None:
    r = record.get(f"/patients/{FL}", Role.CHW)
    assert r.status_code == 200
    page = r.text
    [summary] = [v.summary for v in record.store.patients() if v.pseudonym == FL]
    assert summary is not None
    m = summary["metrics"]
    # the TIR bar's segments are the published percentages
    widths = re.findall(r'<span class="([a-z-]+)" style="width: ([0-9.]+)%"', page)
    assert [c for c, _ in widths] == ["very-low", "low", "in-range", "high", "very-high"]
    assert float(widths[0][1]) == pytest.approx(m["tbr_lt54_pct"], abs=0.005)
    assert float(widths[2][1]) == pytest.approx(m["tir_70_180_pct"], abs=0.005)
    assert f'<td id="gmi">{m["gmi_pct"]:.1f} %</td>' in page
    # 14 days of CGM worn (the scenario's truth): RPM 99445 (2-15 days), not 99454
    assert '<td id="kpi-days">14</td>' in page
    assert '<td id="kpi-rpm">99445</td>' in page
    assert re.search(r'id="kpi-72h">\d+ h: yes<', page)
    assert "time below 70 mg/dL" in page  # the open below-range finding
    # resolve buttons only on the findings the chw owns (no upload since March)
    owned = re.findall(r'<li data-finding="\d+" data-rule="([a-z_0-9]+)">(.*?)</li>', page, re.S)
    assert {rule for rule, body in owned if 'class="resolve"' in body} == {"no_upload"}
    assert {rule for rule, _ in owned} >= {"no_upload", "below_range", "level2_hypo"}
    assert '<tr data-item="tir"><td>Time in range 70-180 mg/dL</td><td>&gt; 70 %</td>' in page
    assert '<tr data-version="1"><td>1</td><td>clinician:seed0000</td>' in page
    assert 'id="edit-plan"' not in page  # read only for the chw
    assert f'href="/api/patients/{FL}/fhir"' in page
    assert 'id="edit-plan"' in record.get(f"/patients/{FL}", Role.EDUCATOR).text
    assert record.get("/patients/p-aaaaaaaaaaaaaaaa", Role.CHW).status_code == 404
    reads = [(a, d) for a, act, d in record.app.state.audit.entries() if act == "read-patient"]
    assert reads[0] == (actor(Role.CHW), {"patient": FL})


def test_outreach_csv_is_the_worklist_with_formulas_neutralised(record: Record) -> None:
    r = record.get("/api/outreach.csv?role=all", Role.CHW)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:5] == ["priority", "group", "patient", "role", "reason"]
    assert [row[2] for row in rows[1:]] == [FL, MB, WC]
    wc = rows[3]
    assert wc[5] == """'=HYPERLINK("http://evil.example","call")"""
    assert wc[7] == "'-1"
    assert rows[1][6] == "en"  # the plan's language
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    mine = list(csv.reader(io.StringIO(record.get("/api/outreach.csv", Role.CLINICIAN).text)))
    assert [row[2] for row in mine[1:]] == [MB]


def test_fhir_bundle_of_the_latest_summary(record: Record) -> None:
    r = record.get(f"/api/patients/{FL}/fhir", Role.PHARMACIST)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "transaction")
    [summary] = [v.summary for v in record.store.patients() if v.pseudonym == FL]
    assert summary is not None
    by_code = {e["resource"]["code"]["coding"][0]["code"]: e["resource"] for e in bundle["entry"]}
    gmi = by_code["97506-0"]
    assert gmi["valueQuantity"]["value"] == round(summary["metrics"]["gmi_pct"], 2)
    assert gmi["subject"]["identifier"]["value"] == FL
    assert gmi["effectivePeriod"] == {"start": "2026-03-02", "end": "2026-03-15"}
    assert record.get("/api/patients/p-aaaaaaaaaaaaaaaa/fhir", Role.ADMIN).status_code == 404
    assert record.app.state.audit.entries() == [
        (actor(Role.PHARMACIST), "read-fhir", {"patient": FL})
    ]  # the unknown pseudonym was not found, so nothing was read


def test_sign_in_sets_the_cookie_and_the_kiosk_cannot(record: Record) -> None:
    r = record.client.post("/login", data={"token": TOKENS[Role.KIOSK], "next": "/worklist"})
    assert r.status_code == 401
    r = record.client.post(
        "/login", data={"token": TOKENS[Role.EDUCATOR], "next": f"/patients/{FL}"}
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/patients/{FL}")
    assert "httponly" in r.headers["set-cookie"].lower()
    assert record.client.get(f"/patients/{FL}").status_code == 200  # the cookie


# -- the role matrix ----------------------------------------------------------------------
def _expect(allowed: tuple[Role, ...], ok: int, page: bool) -> dict[Role | None, int]:
    out: dict[Role | None, int] = {r: (ok if r in allowed else 403) for r in Role}
    out[None] = 303 if page else 401
    return out


MATRIX = [
    ("GET", "/worklist", None, _expect(READERS, 200, page=True)),
    ("GET", "/api/worklist", None, _expect(READERS, 200, page=False)),
    ("GET", "/api/outreach.csv", None, _expect(READERS, 200, page=False)),
    ("GET", f"/patients/{FL}", None, _expect(READERS, 200, page=True)),
    ("GET", f"/api/patients/{FL}/fhir", None, _expect(READERS, 200, page=False)),
    ("GET", f"/patients/{FL}/careplan", None, _expect(EDITORS, 200, page=True)),
    # a stale version: editors get past the role check to 409, nothing is stored
    ("POST", f"/patients/{FL}/careplan", {"version": "0"}, _expect(EDITORS, 409, page=True)),
    # no such finding: readers get past the role check to 404
    ("POST", "/api/findings/999999/acknowledge", None, _expect(READERS, 404, page=False)),
]


@pytest.mark.parametrize(("method", "path", "data", "expected"), MATRIX)
def test_role_matrix(
    record: Record,
    method: str,
    path: str,
    data: dict[str, str] | None,
    expected: dict[Role | None, int],
) -> None:
    got = {}
    for role in [*Role, None]:
        r = record.client.request(method, path, headers=_auth(role), data=data)
        got[role] = r.status_code
        if role is None and r.status_code == 303:
            assert r.headers["location"].startswith("/login?next=")
    assert got == expected
    plan = record.store.careplan(SITE, FL)
    assert plan is not None and plan.version == 1


# -- glucogate record --serve -------------------------------------------------------------
@pytest.mark.services
def test_the_record_command_serves_the_pages_next_to_the_intake(
    mqtt_broker: Any, messages: list[tuple[str, bytes]], tmp_path: Path
) -> None:
    """``glucogate record --serve``: what the broker delivers shows up on the worklist."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import httpx
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from tests.harness.services import free_port

    config = tmp_path / "glucogate.toml"
    config.write_text(f'[api.tokens]\n"{token_hash(TOKENS[Role.CLINICIAN])}" = "clinician"\n')
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "--config",
            str(config),
            "record",
            "--db",
            str(tmp_path / "care.sqlite"),
            "--mqtt",
            f"127.0.0.1:{mqtt_broker.port}",
            "--serve",
            f"127.0.0.1:{port}",
            "--site",
            SITE,
        ],
        cwd=Path(__file__).resolve().parents[3],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first: list[str] = []  # uvicorn's start lines come first
        while len(first) < 10 and not any("pages on" in line for line in first):
            first.append(proc.stdout.readline())
        assert f"pages on http://127.0.0.1:{port}/" in first[-1], first
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        client.connect("127.0.0.1", mqtt_broker.port)
        client.loop_start()
        summaries = [(t, p) for t, p in messages if t.endswith("/summary")]
        for topic, payload in summaries:
            client.publish(topic, payload, qos=1).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
        url = f"http://127.0.0.1:{port}/api/worklist?role=all"
        headers = {"Authorization": f"Bearer {TOKENS[Role.CLINICIAN]}"}
        deadline, got = time.monotonic() + 20, []
        while time.monotonic() < deadline:
            try:
                got = httpx.get(url, headers=headers).json()["entries"]
            except httpx.HTTPError:
                got = []
            if {FL, MB, WC} <= {e["patient"] for e in got}:
                break
            time.sleep(0.2)
        # (the session's broker may hold other tests' retained messages for this site)
        mine = {e["patient"]: e["group"] for e in got if e["patient"] in (FL, MB, WC)}
        # the real clock: the scenario's March data is older than the 14-day cutoff
        assert mine == {FL: "data_issues", MB: "data_issues", WC: "data_issues"}
        assert httpx.get(url).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    accepted = re.search(r"care record: (\d+) messages accepted", out)
    assert accepted is not None and int(accepted.group(1)) >= 3, out


@pytest.mark.services
def test_a_saved_plan_is_published_retained_for_the_gateways(
    mqtt_broker: Any, filled: Path, tmp_path: Path
) -> None:
    from gateway.careplan.plan import loads
    from gateway.publish.mqtt import BrokerConfig
    from tests.harness.subscriber import Subscriber

    shutil.copyfile(filled, tmp_path / "care.sqlite")
    store = CareRecordStore(tmp_path / "care.sqlite")
    app = create_record_app(
        store,
        {token_hash(t): r for r, t in TOKENS.items()},
        broker=BrokerConfig("127.0.0.1", mqtt_broker.port),
        clock=lambda: NOW,
    )
    topic = f"glucogate/v1/{SITE}/{FL}/careplan"
    try:
        with TestClient(app, follow_redirects=False) as client:
            rec = Record(store, client, app)
            form = _form(rec, Role.EDUCATOR)
            form["language"] = "es"
            assert rec.post(f"/patients/{FL}/careplan", Role.EDUCATOR, data=form).status_code == 303
        # a gateway subscribing afterwards gets the new version (retained)
        with Subscriber(mqtt_broker.port, topic) as gateway:
            [message] = gateway.wait_for(1)
        got = loads(message.payload)
        assert (got.version, got.language, got.changed_by) == (2, "es", actor(Role.EDUCATOR))
    finally:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client_ = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        client_.connect("127.0.0.1", mqtt_broker.port)
        client_.loop_start()
        client_.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)  # clear it
        client_.disconnect()
        client_.loop_stop()
        store.close()


def test_the_pages_run_on_the_postgresql_store(
    pg_dsn: str, messages: list[tuple[str, bytes]]
) -> None:
    """The same care record on PostgreSQL: worklist, patient page (KPIs from the stored
    readings), a care-plan edit, and the audit trail of the reads."""
    from gateway.record.pgstore import PgCareRecordStore

    store = PgCareRecordStore(pg_dsn)
    fill(store, messages)  # type: ignore[arg-type]
    app = create_record_app(
        store,  # type: ignore[arg-type]
        {token_hash(t): r for r, t in TOKENS.items()},
        clock=lambda: NOW,
    )
    with TestClient(app, follow_redirects=False) as client:
        pg = Record(store, client, app)  # type: ignore[arg-type]
        got = entries_by_patient(pg.get("/api/worklist?role=all", Role.ADMIN).json())
        assert (got[FL]["group"], got[MB]["group"], got[WC]["group"]) == (
            "very_low",
            "low",
            "meeting",
        )
        page = pg.get(f"/patients/{FL}", Role.EDUCATOR)
        assert page.status_code == 200 and "99445" in page.text  # 14 days with data
        saved = pg.post(
            f"/patients/{FL}/careplan",
            Role.EDUCATOR,
            data={**_form(pg, Role.EDUCATOR), "language": "es"},
        )
        assert saved.status_code == 303
        assert store.careplan(SITE, FL).version == 2  # type: ignore[union-attr]
        actions = [a for _, a, _ in store.audit_entries()]
        assert {"read-worklist", "read-patient", "careplan-save"} <= set(actions)
    store.close()
