"""Security of the kiosk and care-team API: every route x every role x unauthenticated,
the audit trail of every read of patient data, and token handling.

One gateway app runs on a real uvicorn server with a random token per role (the app
keeps only their SHA-256). Its store holds one patient: a synthetic Clarity export
(``simulators.exports.dexcom_clarity``, 2 days of the seeded CGM trace, name and
record number chosen to be searchable) uploaded through the API, and a finished
upload from the simulated BLE CGM for the same record number. Device uploads to a
serial port use a configured port that does not exist, so no hardware is needed.

The routes are read from ``app.routes`` (and cross-checked against the OpenAPI paths),
so a new endpoint without a row in :data:`TABLE` fails :func:`test_every_route_has_a_row`.

Access rules (what the code intends; gateway/api/app.py, devices.py, auth.py and
tests/gateway/api/test_api_access.py):

=======================================  =========================  =========  ===========
route                                    allowed roles              ok         others / anon
=======================================  =========================  =========  ===========
GET  /  (kiosk page)                     kiosk, admin               200 page   303 -> /login
GET  /login                              anyone                     200        200
POST /login  (token in the form)         any known token            303 -> /   401 unknown
POST /api/uploads  (upload a file)       kiosk, admin               200        403 / 401
GET  /api/patients/{p}/metrics           all six roles              200        - / 401
GET  /reports/{p}/summary.html           all six roles              200        - / 401
GET  /api/devices                        kiosk, educator, admin     200        403 / 401
POST /api/devices/uploads (device)       kiosk, educator, admin     404 [1]    403 / 401
GET  /api/devices/uploads/{id}           kiosk, educator, admin     200        403 / 401
GET  /api/devices/uploads/{id}/events    kiosk, educator, admin     200 SSE    403 / 401
GET|HEAD /openapi.json, /docs, /redoc,   anyone (no patient data;   200        200
         /docs/oauth2-redirect           the schema of an open API)
=======================================  =========================  =========  ===========

[1] the documented answer for a serial port this kiosk does not list (the configured
port is absent): the role got past authorisation and the request was judged.

A token is accepted as ``Authorization: Bearer`` (programs) or in the HttpOnly cookie
``/login`` sets (browsers); both carriers are run through the whole table.

Audit (what the code does): every successful request for patient data writes one row
naming the role and the first 8 hex digits of the token's SHA-256, the action and the
patient's pseudonym (``upload``, ``read-metrics``, ``read-report``,
``read-device-upload``, ``watch-device-upload``; ``list-devices`` has no patient). An
upload also writes the store's own ``ingest`` row. Denied requests (401/403) are NOT
audited: the code writes nothing for them, and this test pins that so every row is
accounted for.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from gateway.api.app import create_app
from gateway.api.auth import COOKIE, Role
from gateway.config import Config, KioskConfig, KioskPort
from simulators.ble.demo import CGM_ADDRESS
from simulators.cgm_trace import cgm_trace
from simulators.exports.dexcom_clarity import write_clarity
from tests.harness.services import free_port

BLE_BACKEND = "simulators.ble.backend:SimulatedClientBackend"
DEMO_CGM_READINGS = 288  # simulators/ble/demo.py: 24 h at 5 min
FIRST, LAST = "Zebulon", "Quixotesque"
MRN = "MRN-7310-QZ"  # the local identity typed at the kiosk
PHI_FILE_NAME = f"Clarity_Export_{FIRST}_{LAST}_{MRN}.csv"
PHI = (FIRST, LAST, MRN, "7310")
ALL = frozenset(Role)
UPLOADERS = frozenset({Role.KIOSK, Role.ADMIN})
DEVICE = frozenset({Role.KIOSK, Role.EDUCATOR, Role.ADMIN})
DOCS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
WRONG = "wrong-token"  # a principal: a well-formed token nobody was given


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- the server ----------------------------------------------------------------------


class LogTap(logging.Handler):
    """Every log line (with tracebacks) the server side writes while the module runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("httpx", "httpcore")):  # the test's own client
            return
        self.lines.append(self.format(record))


SERVER_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "gateway", "drivers")
CLIENT_LOGGERS = ("httpx", "httpcore")  # the test's own client: quiet, and not searched


@dataclass
class Site:
    url: str
    app: FastAPI
    config: Config
    tokens: dict[Role, str]
    hashes: dict[str, Role]
    tap: LogTap
    pseudonym: str = ""
    readings: int = 0
    export_readings: int = 0
    upload_id: str = ""
    export: bytes = field(default=b"", repr=False)
    client: httpx.Client = field(default_factory=lambda: client(), repr=False)

    def creds(self, who: Role | str | None, carrier: str) -> dict[str, str]:
        """Headers that present ``who``'s token (or ``WRONG``) as a bearer or a cookie."""
        if who is None:
            return {}
        token = self.tokens[who] if isinstance(who, Role) else who
        if carrier == "header":
            return {"Authorization": f"Bearer {token}"}
        return {"Cookie": f"{COOKIE}={token}"}

    def actor(self, role: Role) -> str:
        return f"{role.value}:{sha(self.tokens[role])[:8]}"

    def audit_mark(self) -> int:
        with sqlite3.connect(self.config.store_path) as db:
            return int(db.execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()[0])

    def audit_since(self, mark: int) -> list[tuple[str, str, dict[str, Any]]]:
        with sqlite3.connect(self.config.store_path) as db:
            rows = db.execute(
                "SELECT actor, action, detail FROM audit WHERE id > ? ORDER BY id", (mark,)
            ).fetchall()
        return [(a, b, json.loads(c)) for a, b, c in rows]

    def audit_text(self) -> str:
        with sqlite3.connect(self.config.store_path) as db:
            rows = db.execute("SELECT time_utc, actor, action, detail FROM audit").fetchall()
        return "\n".join(" ".join(map(str, r)) for r in rows)


def client() -> httpx.Client:
    """One keep-alive client that never stores a cookie: each request names its own."""
    return httpx.Client(cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])))


def serve(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, str]:
    """A real server whose log records (access log included) reach the root logger."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=True)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("api-matrix")
    tokens = {role: secrets.token_urlsafe(24) for role in Role}
    hashes = {sha(t): r for r, t in tokens.items()}
    config = Config(
        site="clinic-a",
        gateway_id="kiosk-1",
        data_dir=tmp / "data",
        timezone="Europe/Kyiv",
        kiosk=KioskConfig(
            ports=(KioskPort(str(tmp / "ttyGLUCOGATE-unplugged"), "dexcom-receiver"),),
            ble_backend=BLE_BACKEND,
            ble_scan_s=0.3,
        ),
    )
    tap = LogTap()
    saved = {}
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.propagate)
        logger.addHandler(tap)
        logger.setLevel(logging.DEBUG)  # a debug line must not leak either
        logger.propagate = False  # the tap is on each; no double lines
    for name in CLIENT_LOGGERS:
        saved[name] = (logging.getLogger(name).level, logging.getLogger(name).propagate)
        logging.getLogger(name).setLevel(logging.WARNING)
    app = create_app(config, hashes, max_upload_bytes=2_000_000)
    server, thread, url = serve(app)
    site = Site(url, app, config, tokens, hashes, tap)
    try:
        _populate(site)
        yield site
    finally:
        site.client.close()
        server.should_exit = True
        thread.join(10)
        for name, (level, propagate) in saved.items():
            logger = logging.getLogger(name)
            if name in SERVER_LOGGERS:
                logger.removeHandler(tap)
            logger.setLevel(level)
            logger.propagate = propagate


def _populate(site: Site) -> None:
    """One patient: the synthetic export uploaded by the kiosk, then a BLE CGM upload."""
    trace = cgm_trace(days=2, seed=12, tz="Europe/Kyiv", start=date(2026, 2, 2))
    cgm = [r for r in trace.records if r.sample_type == "cgm"]
    site.readings = site.export_readings = len(cgm)
    site.export = write_clarity(cgm, first_name=FIRST, last_name=LAST)
    assert FIRST.encode() in site.export  # the input really carries the name
    resp = _upload(site, site.creds(Role.KIOSK, "header"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["counts"] == {"cgm": site.readings}
    site.pseudonym = resp.json()["patient"]
    resp = site.client.post(
        site.url + "/api/devices/uploads",
        json={"ble": CGM_ADDRESS, "driver": "ble-cgms", "patient": MRN},
        headers=site.creds(Role.EDUCATOR, "header"),
        timeout=30,
    )
    assert resp.status_code == 202, resp.text
    site.upload_id = resp.json()["id"]
    deadline = time.monotonic() + 20
    while True:
        state = site.client.get(
            f"{site.url}/api/devices/uploads/{site.upload_id}",
            headers=site.creds(Role.EDUCATOR, "header"),
        ).json()
        if state["state"] != "running":
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    done = state["last_event"]
    assert (state["state"], done["counts"]) == ("done", {"cgm": DEMO_CGM_READINGS}), state
    assert done["patient"] == site.pseudonym  # same record number, same pseudonym


def _upload(site: Site, headers: dict[str, str], name: str = PHI_FILE_NAME) -> httpx.Response:
    return site.client.post(
        site.url + "/api/uploads",
        headers=headers,
        files={"file": (name, site.export, "text/csv")},
        data={"patient": MRN},
        timeout=30,
    )


# -- the table -----------------------------------------------------------------------

Call = Callable[[Site, dict[str, str]], httpx.Response]


@dataclass(frozen=True)
class Rule:
    """Who may call a route, what they get, and what it writes to the audit trail.

    ``allowed`` None means public (no credentials needed). ``denied``/``anonymous`` are
    the answers for an authenticated role outside ``allowed`` and for no/unknown token.
    ``audit`` is the action a permitted call writes (None: nothing); ``patient`` says
    whether that row must name the patient's pseudonym.
    """

    call: Call
    allowed: frozenset[Role] | None
    ok: int
    denied: int = 403
    anonymous: int = 401
    audit: str | None = None
    patient: bool = False
    check: Callable[[Site, httpx.Response], None] | None = None


def _get(path: str, **params: Any) -> Call:
    def call(site: Site, headers: dict[str, str]) -> httpx.Response:
        url = site.url + path.format(p=site.pseudonym, id=site.upload_id)
        return site.client.get(url, headers=headers, params=params or None)

    return call


def _head(path: str) -> Call:
    return lambda site, headers: site.client.head(site.url + path, headers=headers)


def _device_upload(site: Site, headers: dict[str, str]) -> httpx.Response:
    port = site.config.kiosk.ports[0].port
    body = {"port": port, "driver": "dexcom-receiver", "patient": MRN}
    return site.client.post(site.url + "/api/devices/uploads", json=body, headers=headers)


def _is_login_redirect(site: Site, resp: httpx.Response) -> None:
    assert resp.headers["location"] == "/login"


def _kiosk_page(site: Site, resp: httpx.Response) -> None:
    assert 'id="devices"' in resp.text and "<form" in resp.text


def _metrics(site: Site, resp: httpx.Response) -> None:
    body = resp.json()
    assert body["patient"] == site.pseudonym
    # the summary covers the 90 days up to the newest reading: the export's, not the
    # demo CGM's (March 2024)
    assert body["metrics"]["n_readings"] == site.readings


def _report(site: Site, resp: httpx.Response) -> None:
    assert site.pseudonym in resp.text and resp.headers["content-type"].startswith("text/html")


def _uploaded(site: Site, resp: httpx.Response) -> None:
    body = resp.json()
    assert body["patient"] == site.pseudonym and body["counts"] == {"cgm": site.export_readings}
    assert body["added"] == 0  # the same export again: nothing new


def _no_port(site: Site, resp: httpx.Response) -> None:
    assert "no serial port" in resp.json()["detail"]


def _upload_state(site: Site, resp: httpx.Response) -> None:
    body = resp.json()
    assert body["state"] == "done" and body["last_event"]["patient"] == site.pseudonym


def _events(site: Site, resp: httpx.Response) -> None:
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert f'"patient": "{site.pseudonym}"' in resp.text and "event: done" in resp.text


def _device_list(site: Site, resp: httpx.Response) -> None:
    body = resp.json()
    assert [r["port"] for r in body["serial"] if r["configured"]] == [
        site.config.kiosk.ports[0].port
    ]


TABLE: dict[tuple[str, str], Rule] = {
    ("/", "GET"): Rule(_get("/"), UPLOADERS, 200, 303, 303, check=_kiosk_page),
    ("/login", "GET"): Rule(_get("/login"), None, 200),
    # POST /login carries its credential in the form: see test_login_sets_the_cookie
    ("/login", "POST"): Rule(lambda s, h: s.client.post(s.url + "/login", headers=h), None, 422),
    ("/api/uploads", "POST"): Rule(
        lambda s, h: _upload(s, h), UPLOADERS, 200, audit="upload", patient=True, check=_uploaded
    ),
    ("/api/patients/{pseudonym}/metrics", "GET"): Rule(
        _get("/api/patients/{p}/metrics"),
        ALL,
        200,
        audit="read-metrics",
        patient=True,
        check=_metrics,
    ),
    ("/reports/{pseudonym}/summary.html", "GET"): Rule(
        _get("/reports/{p}/summary.html"),
        ALL,
        200,
        audit="read-report",
        patient=True,
        check=_report,
    ),
    ("/api/devices", "GET"): Rule(
        _get("/api/devices", ble_s=0), DEVICE, 200, audit="list-devices", check=_device_list
    ),
    ("/api/devices/uploads", "POST"): Rule(_device_upload, DEVICE, 404, check=_no_port),
    ("/api/devices/uploads/{upload_id}", "GET"): Rule(
        _get("/api/devices/uploads/{id}"),
        DEVICE,
        200,
        audit="read-device-upload",
        patient=True,
        check=_upload_state,
    ),
    ("/api/devices/uploads/{upload_id}/events", "GET"): Rule(
        _get("/api/devices/uploads/{id}/events"),
        DEVICE,
        200,
        audit="watch-device-upload",
        patient=True,
        check=_events,
    ),
    **{
        (path, method): Rule((_get if method == "GET" else _head)(path), None, 200)
        for path in DOCS
        for method in ("GET", "HEAD")
    },
}


def app_routes(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    """(path, method) of every HTTP route, through included routers."""
    out: set[tuple[str, str]] = set()
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI >= 0.160 keeps included routers
            inner = prefix + route.include_context.prefix
            out |= app_routes(route.original_router.routes, inner)
        elif hasattr(route, "methods") and route.methods:
            out |= {(prefix + route.path, m) for m in route.methods}
        else:
            raise AssertionError(f"a route the table cannot describe: {route!r}")
    return out


# -- tests ---------------------------------------------------------------------------


def test_every_route_has_a_row(site: Site) -> None:
    routes = app_routes(site.app.routes)
    assert routes == set(TABLE), (
        f"routes without a row: {sorted(routes - set(TABLE))}; "
        f"rows without a route: {sorted(set(TABLE) - routes)}"
    )
    documented = {
        (path, method.upper())
        for path, ops in site.app.openapi()["paths"].items()
        for method in ops
    }
    # every application route is in the schema; only the schema's own pages are not
    assert documented == {(p, m) for p, m in routes if p not in DOCS}


PRINCIPALS: tuple[Role | str | None, ...] = (None, WRONG, *Role)


@pytest.mark.parametrize("carrier", ["header", "cookie"])
def test_matrix(site: Site, carrier: str) -> None:
    """Every row x (no token, unknown token, each role), token as header or cookie;
    every cell's status, answer and audit rows (all failing cells are listed)."""
    failures: list[str] = []
    for (path, method), rule in TABLE.items():
        for who in PRINCIPALS:
            label = f"{method} {path} as {who or 'nobody'} ({carrier})"
            try:
                _cell(site, rule, who, carrier)
            except AssertionError as exc:
                failures.append(f"{label}: {exc}")
    assert not failures, f"{len(failures)} cells fail:\n" + "\n".join(failures)


def _cell(site: Site, rule: Rule, who: Role | str | None, carrier: str) -> None:
    mark = site.audit_mark()
    resp = rule.call(site, site.creds(who, carrier))
    new = site.audit_since(mark)
    permitted = rule.allowed is None or (isinstance(who, Role) and who in rule.allowed)
    refused = rule.denied if isinstance(who, Role) else rule.anonymous
    want = rule.ok if permitted else refused
    assert resp.status_code == want, f"{resp.status_code} != {want}: {resp.text[:120]!r}"
    if want in (301, 302, 303, 307):
        _is_login_redirect(site, resp)
    elif permitted and rule.check is not None:
        rule.check(site, resp)
    if not (permitted and rule.audit is not None):
        assert new == [], f"unexpected audit rows {new}"  # denials, pages: nothing
        return
    assert isinstance(who, Role)
    mine = [(action, d) for actor, action, d in new if actor == site.actor(who)]
    others = [(actor, action, d) for actor, action, d in new if actor != site.actor(who)]
    assert [a for a, _ in mine] == [rule.audit], f"audit rows {new}"
    if rule.patient:
        assert mine[0][1].get("patient") == site.pseudonym, f"audit rows {new}"
    # an upload's import also writes the store's own row, for the same patient
    expect = [("gateway", "ingest", site.pseudonym)] if rule.audit == "upload" else []
    assert [(a, b, d.get("patient")) for a, b, d in others] == expect, f"audit rows {new}"


def test_login_sets_the_cookie_that_opens_the_kiosk_page(site: Site) -> None:
    for role in Role:
        resp = site.client.post(site.url + "/login", data={"token": site.tokens[role]})
        assert resp.status_code == 303 and resp.headers["location"] == "/", role
        cookie = resp.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        page = site.client.get(site.url + "/", headers={"Cookie": cookie.split(";")[0]})
        assert page.status_code == (200 if role in UPLOADERS else 303), role
    for bad in (WRONG, sha(site.tokens[Role.ADMIN]), site.tokens[Role.ADMIN].swapcase()):
        resp = site.client.post(site.url + "/login", data={"token": bad})
        assert resp.status_code == 401 and "Unknown token" in resp.text
        assert "set-cookie" not in resp.headers


def test_token_handling(site: Site) -> None:
    metrics = f"{site.url}/api/patients/{site.pseudonym}/metrics"
    admin = site.tokens[Role.ADMIN]
    chw = site.tokens[Role.CHW]

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def cookie(token: str) -> dict[str, str]:
        return {"Cookie": f"{COOKIE}={token}"}

    cases: list[tuple[str, dict[str, str], int]] = [
        ("no credentials", {}, 401),
        ("unknown bearer", bearer(WRONG), 401),
        ("token in another case", bearer(admin.swapcase()), 401),
        ("the configured SHA-256 as token", bearer(sha(admin)), 401),
        ("token with a character less", bearer(admin[:-1]), 401),
        ("scheme without a token", {"Authorization": "Bearer"}, 401),
        ("Basic scheme", {"Authorization": f"Basic {admin}"}, 401),
        ("bare token, no scheme", {"Authorization": admin}, 401),
        ("empty cookie", cookie(""), 401),
        ("cookie under another name", {"Cookie": f"token={admin}"}, 401),
        ("scheme in lower case", {"Authorization": f"bearer {admin}"}, 200),
        ("scheme in upper case", {"Authorization": f"BEARER {admin}"}, 200),
        # the header decides when present: a good cookie does not rescue a bad header
        ("bad header, good cookie", {**bearer(WRONG), **cookie(admin)}, 401),
        ("good header, bad cookie", {**bearer(admin), **cookie(WRONG)}, 200),
        # the header's role is the caller's role, whatever the cookie holds
        ("header role wins", {**bearer(chw), **cookie(admin)}, 200),
    ]
    mark = site.audit_mark()
    for label, headers, want in cases:
        assert site.client.get(metrics, headers=headers).status_code == want, label
    new = site.audit_since(mark)
    assert [(a, action) for a, action, _ in new] == [
        (site.actor(Role.ADMIN), "read-metrics"),
        (site.actor(Role.ADMIN), "read-metrics"),
        (site.actor(Role.ADMIN), "read-metrics"),
        (site.actor(Role.CHW), "read-metrics"),
    ]
    # so an admin's cookie does not turn a CHW's request into an upload right
    assert _upload(site, {**bearer(chw), **cookie(admin)}).status_code == 403


def test_a_revoked_token_is_refused_on_the_next_request(tmp_path: Path) -> None:
    """No session outlives the token: removing its hash refuses header and cookie alike
    (the cookie has no expiry of its own; it carries the token, checked every time)."""
    token = secrets.token_urlsafe(24)
    hashes = {sha(token): Role.CLINICIAN}
    config = Config(site="clinic-a", gateway_id="k", data_dir=tmp_path, timezone="UTC")
    server, thread, url = serve(create_app(config, hashes))
    try:
        path = url + "/api/patients/p-0000000000000000/metrics"
        carriers = ({"Authorization": f"Bearer {token}"}, {"Cookie": f"{COOKIE}={token}"})
        assert [httpx.get(path, headers=h).status_code for h in carriers] == [404, 404]
        del hashes[sha(token)]
        assert [httpx.get(path, headers=h).status_code for h in carriers] == [401, 401]
    finally:
        server.should_exit = True
        thread.join(10)


def test_refused_upload_keeps_the_file_name_out_of_the_audit(site: Site) -> None:
    mark = site.audit_mark()
    resp = site.client.post(
        site.url + "/api/uploads",
        headers=site.creds(Role.KIOSK, "cookie"),
        files={"file": (f"{MRN}_{LAST}_notes.txt", b"just some notes\n", "text/plain")},
        data={"patient": MRN},
    )
    assert resp.status_code == 422
    assert [(a, action) for a, action, _ in site.audit_since(mark)] == [
        (site.actor(Role.KIOSK), "upload-refused")
    ]


def test_no_token_or_local_identity_in_audit_or_logs(site: Site) -> None:
    """Runs last in the module: everything the requests above wrote is searched."""
    audit = site.audit_text()
    logs = "\n".join(site.tap.lines)
    # the tap is live: the server's access log of a patient read is in it
    assert f"/api/patients/{site.pseudonym}/metrics" in logs
    assert site.pseudonym in audit
    actors = {line.split(" ")[1] for line in audit.splitlines()}
    assert actors <= {"gateway"} | {site.actor(r) for r in Role}
    # what must never be written: name, record number, the uploaded file's name, and
    # any token in clear (not even half of one); only the hash prefix names a caller
    forbidden = {f"phi {s!r}": s for s in (*PHI, PHI_FILE_NAME)}
    for role, token in site.tokens.items():
        forbidden |= {f"{role} token": token, f"{role} token, first half": token[:16]}
        forbidden[f"{role} token, second half"] = token[-16:]
    leaks = [
        f"{name} in {where}"
        for where, text in (("audit", audit.lower()), ("logs", logs.lower()))
        for name, secret in forbidden.items()
        if secret.lower() in text
    ]
    assert leaks == []  # (labels only: the assertion must not print a token either)
