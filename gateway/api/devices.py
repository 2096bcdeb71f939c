"""The kiosk's device path: list what is plugged in, upload it with live progress.

* ``GET /api/devices`` serial ports and BLE devices, each with the driver it matched or
  why none did (:mod:`gateway.ingest.detect`, shared with ``glucogate detect``), and
  the id of an upload running from it. ``?ble_s=0`` skips the BLE scan.
* ``POST /api/devices/uploads`` ``{"port"| "ble", "driver", "patient"}`` starts an
  upload in a background thread (202 with its id and URLs); 409 while the same device
  is uploading, 404 for a port this kiosk does not list.
* ``GET /api/devices/uploads/{id}/events`` the upload's events as server-sent events
  (``id``/``event``/``data``; honours ``Last-Event-ID``; ends after ``done``/``failed``).
* ``GET /api/devices/uploads/{id}`` the current state, for a browser that reconnects.

Roles: kiosk, educator and admin. Every request is audited; the patient's local
identity is never echoed, logged or audited (only the site pseudonym is).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from drivers._core.errors import DriverError
from gateway.api.auth import Principal, Role, require
from gateway.api.device_uploads import (
    BLE_DRIVERS,
    SERIAL_DRIVERS,
    DeviceBusy,
    Target,
    UploadJob,
    Uploads,
    run_upload,
)
from gateway.config import Config
from gateway.identity import load_or_create_secret, patient_pseudonym
from gateway.ingest.detect import detect_devices, detect_serial
from gateway.store.sqlite import Store

DEVICE_UPLOADERS = (Role.KIOSK, Role.EDUCATOR, Role.ADMIN)
MAX_SCAN_S = 10.0
POLL_S = 0.05
KEEPALIVE_S = 15.0


class UploadRequest(BaseModel):
    """Body of ``POST /api/devices/uploads``: exactly one of ``port`` and ``ble``."""

    port: str | None = Field(default=None, max_length=256)
    ble: str | None = Field(default=None, max_length=64)
    driver: str = Field(max_length=64)
    patient: str = Field(min_length=1, max_length=128)


def device_router(config: Config, tokens: Mapping[str, Role]) -> APIRouter:
    """The device endpoints for one gateway (uploads live as long as the app)."""
    router = APIRouter()
    uploads = Uploads()
    uploaders = Depends(require(tokens, *DEVICE_UPLOADERS))

    def audit(who: Principal, action: str, detail: dict[str, object]) -> None:
        with Store(config.store_path) as db:
            db.audit(who.actor, action, detail)

    def job_or_404(upload_id: str) -> UploadJob:
        job = uploads.get(upload_id)
        if job is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such upload")
        return job

    @router.get("/api/devices")
    def list_devices(
        who: Principal = uploaders,
        ble_s: Annotated[float | None, Query(ge=0, le=MAX_SCAN_S)] = None,
    ) -> dict[str, Any]:
        try:
            found = detect_devices(
                configured=config.kiosk.ports,
                ble_backend=config.kiosk.ble_backend,
                ble_timeout_s=config.kiosk.ble_scan_s if ble_s is None else ble_s,
            )
        except DriverError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
        out = found.as_json()
        for row in out["serial"]:
            row["upload"] = uploads.running_for(Target(str(row["driver"]), port=row["port"]))
        for row in out["ble"]:
            row["upload"] = uploads.running_for(Target(str(row["driver"]), ble=row["address"]))
        audit(who, "list-devices", {"serial": len(out["serial"]), "ble": len(out["ble"])})
        return out

    @router.post("/api/devices/uploads", status_code=status.HTTP_202_ACCEPTED)
    def start_upload(body: UploadRequest, who: Principal = uploaders) -> dict[str, Any]:
        target = _target(body, config)
        local_id = _local_id(config, body.patient.strip())
        try:
            job = uploads.start(target, who.actor, lambda j: run_upload(j, config, local_id))
        except DeviceBusy as busy:
            audit(who, "device-upload-refused", {"device": target.label, "busy": busy.upload_id})
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"{target.label} is already uploading (upload {busy.upload_id})",
            ) from busy
        audit(
            who,
            "device-upload-start",
            {"upload": job.id, "device": target.label, "driver": target.driver},
        )
        return {
            "id": job.id,
            "state_url": f"/api/devices/uploads/{job.id}",
            "events_url": f"/api/devices/uploads/{job.id}/events",
        }

    @router.get("/api/devices/uploads/{upload_id}")
    def upload_state(upload_id: str, who: Principal = uploaders) -> dict[str, Any]:
        job = job_or_404(upload_id)
        audit(who, "read-device-upload", {"upload": upload_id, **_patient_of(job)})
        return job.as_json()

    @router.get("/api/devices/uploads/{upload_id}/events")
    def upload_events(
        upload_id: str,
        request: Request,
        who: Principal = uploaders,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> Response:
        job = job_or_404(upload_id)
        seen = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
        audit(who, "watch-device-upload", {"upload": upload_id, "after": seen, **_patient_of(job)})
        if job.state != "running" and seen >= len(job.events):
            return Response(status_code=status.HTTP_204_NO_CONTENT)  # EventSource stops
        return StreamingResponse(
            _stream(job, seen, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return router


def _patient_of(job: UploadJob) -> dict[str, object]:
    """``{"patient": pseudonym}`` once the job's events carry the patient (its ``done``
    event), so the audit entry of a read names whose data was read; else empty."""
    for event in job.events_after(0):
        if event["type"] == "done":
            return {"patient": event["patient"]}
    return {}


def _target(body: UploadRequest, config: Config) -> Target:
    if (body.port is None) == (body.ble is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give either port or ble")
    if body.port is not None:
        if body.driver not in SERIAL_DRIVERS:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"driver for a serial port: one of {', '.join(SERIAL_DRIVERS)}",
            )
        try:
            listed = {d.port for d in detect_serial(config.kiosk.ports) if d.present}
        except DriverError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
        if body.port not in listed:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no serial port {body.port} on this kiosk"
            )
        return Target(body.driver, port=body.port)
    if body.driver not in BLE_DRIVERS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"driver for a BLE device: one of {', '.join(BLE_DRIVERS)}",
        )
    return Target(body.driver, ble=body.ble)


def _local_id(config: Config, patient: str) -> str:
    """The local identity for a typed local id, or for the pseudonym of a stored patient."""
    with Store(config.store_path) as db:
        if db.patient_by_pseudonym(patient) is None:
            return patient
        row = db.db.execute(
            "SELECT local_id FROM patients WHERE pseudonym = ?", (patient,)
        ).fetchone()
    local_id = str(row[0])
    # the store's pseudonym must be the one this site's key gives the local id
    secret = load_or_create_secret(config.key_path)
    if patient_pseudonym(secret, config.site, local_id) != patient:
        raise HTTPException(status.HTTP_409_CONFLICT, "pseudonym from another site key")
    return local_id


async def _stream(job: UploadJob, seen: int, request: Request) -> AsyncIterator[str]:
    """The job's events after ``seen`` as SSE frames, until its final event."""
    yield "retry: 2000\n\n"
    idle = 0.0
    while True:
        for event in job.events_after(seen):
            seen = event["id"]
            yield f"id: {seen}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n"
            if event["type"] in ("done", "failed"):
                return
            idle = 0.0
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)
        idle += POLL_S
        if idle >= KEEPALIVE_S:
            idle = 0.0
            yield ": keep-alive\n\n"
