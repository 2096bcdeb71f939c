"""The kiosk and care-team API (FastAPI).

* ``GET /`` the kiosk page (upload an export, progress bar, link to the report);
  ``GET/POST /login`` sign in with a token (sets an HttpOnly cookie).
* ``POST /api/uploads`` a vendor export (multipart ``file`` + ``patient``), size-limited;
  answers with the import JSON contract plus ``report_url``.
* ``GET /api/patients/{pseudonym}/metrics`` the metric catalogue as JSON.
* ``GET /reports/{pseudonym}/summary.html`` the summary page.
* ``/api/devices...`` detected devices and device uploads with live progress
  (:mod:`gateway.api.devices`).

Every request for patient data is audited in the store (role + token hash prefix,
action, pseudonym). Upload file names are never stored or logged.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse

from drivers._core.errors import DriverError
from drivers.transports.files import MAX_EXPORT_BYTES
from gateway.api.auth import COOKIE, Principal, Role, authenticate, require, token_hash
from gateway.api.devices import device_router
from gateway.api.kiosk_page import LOGIN, UPLOAD
from gateway.config import Config
from gateway.ingest.common import refresh_summary
from gateway.ingest.files import import_file
from gateway.reports.summary_html import render_summary
from gateway.store.sqlite import Patient, Store

READERS = (Role.KIOSK, Role.EDUCATOR, Role.CLINICIAN, Role.PHARMACIST, Role.CHW, Role.ADMIN)
UPLOADERS = (Role.KIOSK, Role.ADMIN)


def create_app(
    config: Config, tokens: Mapping[str, Role], max_upload_bytes: int = MAX_EXPORT_BYTES
) -> FastAPI:
    """The application for one gateway; ``tokens`` maps token SHA-256 -> role."""
    app = FastAPI(title="glucogate", version="1")
    app.include_router(device_router(config, tokens))
    readers = Depends(require(tokens, *READERS))
    uploaders = Depends(require(tokens, *UPLOADERS))

    def store() -> Store:
        return Store(config.store_path)

    def patient_or_404(db: Store, pseudonym: str) -> Patient:
        found = db.patient_by_pseudonym(pseudonym)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such patient")
        return found

    @app.get("/", response_class=HTMLResponse)
    def kiosk(request: Request) -> Any:
        who = authenticate(request, tokens)
        if who is None or who.role not in UPLOADERS:
            return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
        return UPLOAD

    @app.get("/login", response_class=HTMLResponse)
    def login_page() -> str:
        return LOGIN

    @app.post("/login")
    def login(token: Annotated[str, Form()]) -> Any:
        if token_hash(token) not in tokens:
            return HTMLResponse(
                LOGIN.replace("<form", "<p class=error>Unknown token.</p><form"),
                status.HTTP_401_UNAUTHORIZED,
            )
        response = RedirectResponse("/", status.HTTP_303_SEE_OTHER)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.post("/api/uploads")
    async def upload(
        file: UploadFile,
        patient: Annotated[str, Form()],
        who: Principal = uploaders,
    ) -> dict[str, Any]:
        data = await file.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            raise HTTPException(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                f"uploads are limited to {max_upload_bytes} bytes",
            )
        name = Path(file.filename or "upload").name
        with store() as db, tempfile.TemporaryDirectory() as tmp:
            try:
                report = import_file(
                    Path(tmp) / name, config, db, local_id=patient.strip(), data=data
                )
            except DriverError as exc:
                db.audit(who.actor, "upload-refused", {"reason": exc.message})
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc).replace(str(Path(tmp)) + "/", "")
                ) from exc
            db.audit(
                who.actor,
                "upload",
                {
                    "patient": report.patient.pseudonym,
                    "format": report.export.format,
                    "added": report.added,
                },
            )
        out = report.as_json()
        out["report_url"] = f"/reports/{report.patient.pseudonym}/summary.html"
        return out

    @app.get("/api/patients/{pseudonym}/metrics")
    def patient_metrics(pseudonym: str, who: Principal = readers) -> dict[str, Any]:
        with store() as db:
            found = patient_or_404(db, pseudonym)
            db.audit(who.actor, "read-metrics", {"patient": pseudonym})
            metrics = refresh_summary(config, db, found, changed=False, now_utc=_now())
        return {"patient": pseudonym, "metrics": metrics}

    @app.get("/reports/{pseudonym}/summary.html", response_class=HTMLResponse)
    def summary_report(pseudonym: str, who: Principal = readers) -> str:
        with store() as db:
            found = patient_or_404(db, pseudonym)
            db.audit(who.actor, "read-report", {"patient": pseudonym})
            metrics = refresh_summary(config, db, found, changed=False, now_utc=_now())
        return render_summary(
            metrics, patient=pseudonym, period="all stored data", source="glucogate store"
        )

    return app


def _now() -> datetime:
    return datetime.now(UTC)
