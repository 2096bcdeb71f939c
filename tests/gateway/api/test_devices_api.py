"""The kiosk's device path over HTTP to a real server: a virtual Dexcom G6 receiver on a
pseudo-terminal (the real driver over pyserial), listed through ``[[kiosk.ports]]``
because the OS port list does not show ptys, and the simulated bleak backend's demo
devices. Expected counts are the simulator's own truth (the samples put on the
receiver, the demo CGM's 288 readings)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from drivers._core.records import GlucoseSample
from drivers.cgm.dexcom_receiver import messages as m
from gateway.api.app import create_app
from gateway.api.auth import Role, token_hash
from gateway.config import Config, ConfigError, KioskConfig, KioskPort, load_config
from gateway.store.sqlite import Store
from simulators.ble.demo import CGM_ADDRESS
from simulators.cgm.dexcom_receiver import G6, Fault, ReceiverDatabase, VirtualReceiver
from simulators.cgm_trace import cgm_trace
from tests.harness.web import serve

REPO = Path(__file__).resolve().parents[3]
BLE_BACKEND = "simulators.ble.backend:SimulatedClientBackend"
DEMO_CGM_READINGS = 288  # simulators/ble/demo.py: 24 h at 5 min
PATIENT = "MRN-0042"
DEVICE_ROLES = (Role.KIOSK, Role.EDUCATOR, Role.ADMIN)


def samples(days: int = 1, seed: int = 3) -> list[GlucoseSample]:
    trace = cgm_trace(days=days, seed=seed, tz="UTC", start=date(2024, 5, 30))
    return [r for r in trace.records if r.sample_type == "cgm"]


def virtual_receiver(serial: str, faults: tuple[Fault, ...] = ()) -> VirtualReceiver:
    db = ReceiverDatabase(G6, serial=serial)
    db.add_samples(samples())
    return VirtualReceiver(db, faults=faults)


@dataclass
class Kiosk:
    url: str
    config: Config
    tokens: dict[Role, str]

    def headers(self, role: Role | None = Role.KIOSK) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def get(
        self,
        path: str,
        role: Role | None = Role.KIOSK,
        extra: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        headers = {**self.headers(role), **(extra or {})}
        return httpx.get(self.url + path, headers=headers, timeout=30, **kw)

    def post(self, body: dict[str, Any], role: Role | None = Role.KIOSK) -> httpx.Response:
        return httpx.post(
            self.url + "/api/devices/uploads", json=body, headers=self.headers(role), timeout=30
        )

    def events(
        self, upload_id: str, role: Role = Role.KIOSK, last_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Read the SSE stream to its end; checks the frame fields against the data."""
        headers = self.headers(role)
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        out: list[dict[str, Any]] = []
        url = f"{self.url}/api/devices/uploads/{upload_id}/events"
        with httpx.stream("GET", url, headers=headers, timeout=60) as resp:
            assert resp.status_code == 200, resp.read()
            assert resp.headers["content-type"].startswith("text/event-stream")
            frame: dict[str, str] = {}
            for line in resp.iter_lines():
                if line == "":
                    if "data" in frame:
                        data = json.loads(frame["data"])
                        assert frame["event"] == data["type"] and int(frame["id"]) == data["id"]
                        out.append(data)
                    frame = {}
                elif not line.startswith(":"):
                    key, _, value = line.partition(": ")
                    frame[key] = value
        return out

    def upload(
        self, body: dict[str, Any], role: Role = Role.KIOSK
    ) -> tuple[str, list[dict[str, Any]]]:
        """Start an upload and follow its events to the end: (upload id, events)."""
        resp = self.post(body, role)
        assert resp.status_code == 202, resp.text
        upload_id = resp.json()["id"]
        return upload_id, self.events(upload_id, role)


@pytest.fixture
def receiver() -> Iterator[VirtualReceiver]:
    with virtual_receiver("SM00000077") as rx:
        yield rx


def make_kiosk(tmp_path: Path, *ports: str) -> Iterator[Kiosk]:
    tokens = {role: f"token-for-{role.value}-0123456789" for role in Role}
    config = Config(
        site="clinic-a",
        gateway_id="kiosk-1",
        data_dir=tmp_path / "data",
        timezone="UTC",
        kiosk=KioskConfig(
            ports=tuple(KioskPort(p, "dexcom-receiver") for p in ports),
            ble_backend=BLE_BACKEND,
            ble_scan_s=0.3,
        ),
    )
    app = create_app(config, {token_hash(t): r for r, t in tokens.items()})
    with serve(app) as url:
        yield Kiosk(url, config, tokens)


@pytest.fixture
def kiosk(tmp_path: Path, receiver: VirtualReceiver) -> Iterator[Kiosk]:
    yield from make_kiosk(tmp_path, receiver.port)


def store_snapshot(config: Config) -> tuple[int, int, list[str], int]:
    with Store(config.store_path) as db:
        cursors = [r[0] for r in db.db.execute("SELECT device_id FROM cursors ORDER BY 1")]
        patients = int(db.db.execute("SELECT count(*) FROM patients").fetchone()[0])
        return db.count_records(), len(db.outbox_messages()), cursors, patients


def test_devices_lists_the_receiver_and_the_ble_profiles(
    kiosk: Kiosk, receiver: VirtualReceiver
) -> None:
    body = kiosk.get("/api/devices").json()
    [row] = [r for r in body["serial"] if r["port"] == receiver.port]
    assert row["driver"] == "dexcom-receiver" and row["recognised"] and row["configured"]
    assert row["usb_id"] is None and "OS port list does not show" in row["reason"]
    assert row["upload"] is None
    assert body["ble_error"] is None
    ble = {d["address"]: (d["kind"], d["driver"]) for d in body["ble"]}
    assert ble[CGM_ADDRESS] == ("cgm", "ble-cgms") and len(ble) == 3
    assert all(d["services"] for d in body["ble"])
    # ble_s=0 skips the scan and says so
    quick = kiosk.get("/api/devices", params={"ble_s": 0}).json()
    assert quick["ble"] == [] and "not scanned" in quick["ble_error"]
    with Store(kiosk.config.store_path) as db:
        assert [a for _, a, _ in db.audit_log()] == ["list-devices", "list-devices"]


def test_upload_streams_ordered_progress_then_a_second_adds_nothing(
    kiosk: Kiosk, receiver: VirtualReceiver
) -> None:
    truth = samples()
    upload_id, events = kiosk.upload(
        {"port": receiver.port, "driver": "dexcom-receiver", "patient": PATIENT}
    )
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events] == ["started"] + ["progress"] * 5 + ["done"]
    progress = [e for e in events if e["type"] == "progress"]
    assert [e["step"] for e in progress] == ["connect", "clock", "history", "store", "publish"]
    assert [(e["done"], e["total"]) for e in progress] == [(i, 5) for i in range(1, 6)]
    percents = [e["percent"] for e in events[:-1]]  # started + each step
    assert percents[0] == 0 and percents[-1] == 100 and events[-1]["percent"] == 100
    assert all(a < b for a, b in itertools.pairwise(percents)), percents
    done = events[-1]
    assert done["device"] == "Dexcom G6 touchscreen receiver"
    assert done["counts"] == {"cgm": len(truth)} and done["added"] == len(truth)
    assert done["report_url"] == f"/reports/{done['patient']}/summary.html"
    assert PATIENT not in json.dumps(events)
    with Store(kiosk.config.store_path) as db:
        patient = db.patient_by_pseudonym(done["patient"])
        assert patient is not None
        stored = db.records(patient, kind="glucose")
        before = db.count_records()
    got = sorted((r.device_time, r.glucose_mgdl) for r in stored if isinstance(r, GlucoseSample))
    assert got == sorted((s.device_time, s.glucose_mgdl) for s in truth)
    state = kiosk.get(f"/api/devices/uploads/{upload_id}").json()
    assert (state["state"], state["percent"], state["events"]) == ("done", 100, len(events))
    assert state["last_event"] == done and state["port"] == receiver.port
    # a browser that reconnects after event 3 gets the rest; after the last, 204 (stop)
    assert kiosk.events(upload_id, last_id=3) == events[3:]
    gone = kiosk.get(f"/api/devices/uploads/{upload_id}/events", extra={"Last-Event-ID": "7"})
    assert gone.status_code == 204
    report = kiosk.get(done["report_url"])
    assert report.status_code == 200 and "Glucose summary" in report.text
    assert PATIENT not in report.text

    # the same device again, this time named by the pseudonym: nothing new
    _, again = kiosk.upload(
        {"port": receiver.port, "driver": "dexcom-receiver", "patient": done["patient"]}
    )
    assert again[-1]["type"] == "done" and again[-1]["added"] == 0
    assert again[-1]["patient"] == done["patient"]
    with Store(kiosk.config.store_path) as db:
        assert db.count_records() == before
        audit = db.audit_log()
    assert [a for _, a, _ in audit].count("device-upload") == 2
    assert PATIENT not in json.dumps(audit)
    assert not receiver.violations and set(receiver.commands) <= m.READ_ONLY_COMMANDS


def test_one_upload_per_device_at_a_time(tmp_path: Path) -> None:
    # the receiver stays silent once (a 2 s read timeout, then the driver's retry works)
    slow = (Fault("timeout", command=m.Command.READ_DATABASE_PAGES, nth=2),)
    with virtual_receiver("SM00000078", slow) as rx:
        kiosk = next(gen := make_kiosk(tmp_path, rx.port))
        try:
            body = {"port": rx.port, "driver": "dexcom-receiver", "patient": PATIENT}
            first = kiosk.post(body)
            assert first.status_code == 202
            upload_id = first.json()["id"]
            second = kiosk.post(body, Role.EDUCATOR)
            assert second.status_code == 409 and upload_id in second.json()["detail"]
            listed = kiosk.get("/api/devices", params={"ble_s": 0}).json()["serial"]
            assert [r["upload"] for r in listed if r["port"] == rx.port] == [upload_id]
            # the receiver's silence holds the upload in the history step for ~2 s
            deadline = time.monotonic() + 1.5
            running = kiosk.get(f"/api/devices/uploads/{upload_id}").json()
            while running["step"] != "history" and time.monotonic() < deadline:
                time.sleep(0.02)
                running = kiosk.get(f"/api/devices/uploads/{upload_id}").json()
            assert running["state"] == "running" and running["step"] == "history"
            assert 0 < running["percent"] < 70
            events = kiosk.events(upload_id)
            assert events[-1]["type"] == "done" and events[-1]["added"] == len(samples())
            # finished: the device is free again
            assert kiosk.upload(body, Role.ADMIN)[1][-1]["added"] == 0
        finally:
            next(gen, None)
        with Store(kiosk.config.store_path) as db:
            actions = [a for _, a, _ in db.audit_log()]
    assert actions.count("device-upload-refused") == 1 and actions.count("device-upload") == 2


def test_roles_and_authentication(kiosk: Kiosk, receiver: VirtualReceiver) -> None:
    body = {"port": receiver.port, "driver": "dexcom-receiver", "patient": PATIENT}
    for role in (None, *Role):
        want_get = 401 if role is None else (200 if role in DEVICE_ROLES else 403)
        assert kiosk.get("/api/devices", role, params={"ble_s": 0}).status_code == want_get
        if role not in DEVICE_ROLES:
            assert kiosk.post(body, role).status_code == want_get, role
    assert (
        kiosk.get("/api/devices", None, extra={"Authorization": "Bearer nope"}).status_code == 401
    )
    upload_id, events = kiosk.upload(body, Role.EDUCATOR)
    assert events[-1]["type"] == "done"
    for path in (f"/api/devices/uploads/{upload_id}", f"/api/devices/uploads/{upload_id}/events"):
        assert kiosk.get(path, None).status_code == 401
        assert kiosk.get(path, Role.PHARMACIST).status_code == 403
        assert kiosk.get(path, Role.CLINICIAN).status_code == 403
    assert kiosk.get("/api/devices/uploads/no-such-id", Role.ADMIN).status_code == 404
    with Store(kiosk.config.store_path) as db:
        audit = db.audit_log()
    # each successful device request is in the audit trail, with role and token prefix
    actors = {actor for actor, action, _ in audit if action == "list-devices"}
    assert actors == {f"{r.value}:{token_hash(kiosk.tokens[r])[:8]}" for r in DEVICE_ROLES}
    uploads = [(actor, action) for actor, action, _ in audit if action.startswith("device-up")]
    educator = f"educator:{token_hash(kiosk.tokens[Role.EDUCATOR])[:8]}"
    assert uploads == [(educator, "device-upload-start"), (educator, "device-upload")]
    assert {a for actor, a, _ in audit if actor == educator} >= {"watch-device-upload"}
    reads = {action for actor, action, _ in audit if actor.startswith("admin:")}
    assert reads == {"list-devices"}  # the 404 read is not an access to an upload


def test_bad_requests_are_explained(kiosk: Kiosk, receiver: VirtualReceiver) -> None:
    cases = [
        ({"port": "/dev/ttyS9", "driver": "dexcom-receiver", "patient": "x"}, 404, "no serial"),
        ({"port": receiver.port, "driver": "ble-cgms", "patient": "x"}, 422, "serial port"),
        ({"ble": CGM_ADDRESS, "driver": "tandem-pump", "patient": "x"}, 422, "BLE device"),
        ({"port": receiver.port, "ble": CGM_ADDRESS, "driver": "x", "patient": "x"}, 422, "either"),
        ({"driver": "dexcom-receiver", "patient": "x"}, 422, "either"),
    ]
    for body, code, words in cases:
        resp = kiosk.post(body)
        assert resp.status_code == code and words in resp.json()["detail"], (body, resp.text)
    assert kiosk.post({"port": receiver.port, "driver": "dexcom-receiver"}).status_code == 422


def test_disconnect_mid_transfer_is_an_error_and_stores_nothing(
    receiver: VirtualReceiver, tmp_path: Path
) -> None:
    # a second receiver whose cable is pulled at its third page read (mid-history)
    with virtual_receiver("SM00000079", (Fault("disconnect", nth=3),)) as faulty:
        port = faulty.port
        kiosk = next(gen := make_kiosk(tmp_path, receiver.port, port))
        try:
            kiosk.upload({"port": receiver.port, "driver": "dexcom-receiver", "patient": "MRN-1"})
            before = store_snapshot(kiosk.config)
            upload_id, events = kiosk.upload(
                {"port": port, "driver": "dexcom-receiver", "patient": "MRN-2"}
            )
            state = kiosk.get(f"/api/devices/uploads/{upload_id}").json()
            listed = kiosk.get("/api/devices", params={"ble_s": 0}).json()["serial"]
        finally:
            next(gen, None)
    assert before[0] == len(samples())  # the first receiver's upload is in the store
    assert [e["type"] for e in events] == ["started", "progress", "progress", "failed"]
    error = events[-1]
    assert error["step"] == "history"
    assert error["device"] == f"Dexcom G6 touchscreen receiver on {port}"
    assert error["message"].startswith(error["device"] + ": failed while reading the history")
    assert "Nothing from this upload was stored" in error["message"]
    assert state["state"] == "failed" and state["last_event"] == error
    assert store_snapshot(kiosk.config) == before  # records, outbox, cursors, patients
    # the vanished port is still listed (configured) but explained, with no Upload
    [gone] = [r for r in listed if r["port"] == port]
    assert not gone["recognised"] and "does not exist" in gone["reason"]
    with Store(kiosk.config.store_path) as db:
        failed = [d for _, a, d in db.audit_log() if a == "device-upload-failed"]
    assert [(d["step"], d["driver"]) for d in failed] == [("history", "dexcom-receiver")]


def test_ble_cgm_upload_through_the_configured_backend(kiosk: Kiosk) -> None:
    _, events = kiosk.upload({"ble": CGM_ADDRESS, "driver": "ble-cgms", "patient": PATIENT})
    assert events[-1]["type"] == "done", events[-1]
    assert events[-1]["counts"] == {"cgm": DEMO_CGM_READINGS}
    assert events[-1]["device"].endswith("(BLE)")
    _, missing = kiosk.upload({"ble": "AA:BB:CC:DD:EE:FF", "driver": "ble-cgms", "patient": "x"})
    assert missing[-1]["type"] == "failed" and missing[-1]["step"] == "connect"
    assert "not seen advertising" in missing[-1]["message"]


def test_cli_detect_shares_the_detection(receiver: VirtualReceiver, tmp_path: Path) -> None:
    config = tmp_path / "glucogate.toml"
    config.write_text(
        f'[[kiosk.ports]]\nport = "{receiver.port}"\ndriver = "dexcom-receiver"\n'
        '[[kiosk.ports]]\nport = "/dev/glucogate-unplugged"\ndriver = "tandem-pump"\n'
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "--config",
            str(config),
            "detect",
            "--json",
            "--ble-backend",
            BLE_BACKEND,
            "--ble-timeout",
            "0.3",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(run.stdout)
    rows = {r["port"]: r for r in found["serial"]}
    assert rows[receiver.port]["driver"] == "dexcom-receiver" and rows[receiver.port]["recognised"]
    unplugged = rows["/dev/glucogate-unplugged"]
    assert not unplugged["recognised"] and "does not exist" in unplugged["reason"]
    assert {d["driver"] for d in found["ble"]} == {"ble-cgms", "ble-gls", "ble-ids"}
    text = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "--config",
            str(config),
            "detect",
            "--ble-backend",
            BLE_BACKEND,
            "--ble-timeout",
            "0.3",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert f"{receiver.port}  no USB ids  configured port: Dexcom receiver" in text


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[[kiosk.ports]]\nport = "/dev/x"\ndriver = "ble-cgms"\n', "give port and driver"),
        ("[kiosk]\nports = 3\n", "array of tables"),
        ("[kiosk]\nble_scan_s = -1\n", "ble_scan_s"),
    ],
)
def test_bad_kiosk_configuration_is_refused(toml: str, words: str, tmp_path: Path) -> None:
    path = tmp_path / "glucogate.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=words):
        load_config(path, env={})
