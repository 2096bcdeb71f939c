"""The care record's pages for the care team (FastAPI + Jinja2).

==========================================  ======  =====================================
path                                        method  what
==========================================  ======  =====================================
``/login``                                  GET/    sign in with a token (HttpOnly cookie,
                                            POST    as the kiosk: :mod:`gateway.api.auth`)
``/worklist`` (``?role=mine|all|<role>``)   GET     the priority groups with reasons, owners
                                                    and open findings
``/api/worklist?role=``                     GET     the same as JSON
``/api/outreach.csv?role=``                 GET     the outreach list (formula-safe CSV)
``/api/findings/{id}/acknowledge|resolve``  POST    only the finding's owning role or admin
``/patients/{pseudonym}``                   GET     summary, findings, plan, history, KPIs
``/api/patients/{pseudonym}/fhir``          GET     the summary as a FHIR R4 Bundle
``/patients/{pseudonym}/careplan``          GET/    the care-plan editor; POST saves a new
                                            POST    version (and publishes it retained)
==========================================  ======  =====================================

Roles: clinician, educator and admin read everything and edit care plans; pharmacist
and chw read (and act on their own findings); the kiosk has no access to the care
record. Without a token, pages redirect to ``/login`` and ``/api`` answers 401. Every
read of patient data and every change is written to the audit log
(:class:`gateway.record.views.AuditLog`) with the role and token-hash prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.api.auth import COOKIE, Principal, Role, authenticate, require, token_hash
from gateway.careplan.plan import (
    DEFAULT_OWNERS,
    LANGUAGES,
    METRICS,
    PRESETS,
    RESOURCE_KINDS,
    ROLES,
    CarePlanError,
)
from gateway.publish.mqtt import BrokerConfig, PublishError
from gateway.record.careplan_form import FOLLOW_UPS, PlanConflict, blank_plan, save_from_form
from gateway.record.fhir import FhirError, summary_bundle
from gateway.record.outreach import outreach_csv
from gateway.record.store import CareRecordStore, PatientView
from gateway.record.views import (
    RANGE_BARS,
    ROLE_SCOPES,
    AuditLog,
    build_worklist,
    days_since,
    find_patient,
    kpis_for,
    rows_for,
)
from gateway.record.worklist import GROUP_TITLES

log = logging.getLogger(__name__)

READERS = (Role.EDUCATOR, Role.CLINICIAN, Role.PHARMACIST, Role.CHW, Role.ADMIN)
EDITORS = (Role.EDUCATOR, Role.CLINICIAN, Role.ADMIN)
ACTIONS = {"acknowledge": "acknowledged", "resolve": "resolved"}

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(("html",)),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _page_guard(tokens: Mapping[str, Role], *allowed: Role) -> Callable[[Request], Principal]:
    """Like :func:`gateway.api.auth.require`, but a browser without a token is sent to
    the sign-in page (303) instead of getting a bare 401."""
    api_guard = require(tokens, *allowed)

    def dependency(request: Request) -> Principal:
        if authenticate(request, tokens) is None:
            target = quote(request.url.path, safe="/")
            raise HTTPException(
                status.HTTP_303_SEE_OTHER, headers={"Location": f"/login?next={target}"}
            )
        return api_guard(request)

    return dependency


def _local(path: str | None, default: str) -> str:
    """``path`` if it is a local absolute path (no open redirect), else ``default``."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return default


def create_record_app(
    store: CareRecordStore,
    tokens: Mapping[str, Role],
    *,
    broker: BrokerConfig | None = None,
    contacts: Mapping[str, Mapping[str, str]] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FastAPI:
    """The care team's application over one care-record store.

    Args:
        store: the care record (shared with the intake thread; it locks itself).
        tokens: token SHA-256 -> role, as ``[api.tokens]`` configures them.
        broker: where edited care plans are published (retained); None stores only.
        contacts: pseudonym -> contact preferences for the outreach list
            (``preference``, ``best_time``, ``language``), kept by the site.
        clock: "now" for the worklist's data recency and plan change times.
    """
    app = FastAPI(title="glucogate care record", version="1")
    audit = AuditLog(store)
    app.state.audit = audit
    api_readers = Depends(require(tokens, *READERS))
    page_readers = Depends(_page_guard(tokens, *READERS))
    page_editors = Depends(_page_guard(tokens, *EDITORS))

    def render(name: str, who: Principal | None, code: int = 200, **context: Any) -> HTMLResponse:
        html = _TEMPLATES.get_template(name).render(who=who, titles=GROUP_TITLES, **context)
        return HTMLResponse(html, code)

    def patient_or_404(pseudonym: str) -> PatientView:
        view = find_patient(store, pseudonym)
        if view is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such patient")
        return view

    def scoped_rows(who: Principal, role: str | None) -> tuple[str, list[Any]]:
        scope = role or ("all" if who.role is Role.ADMIN else "mine")
        if scope not in ("mine", "all", *ROLES):
            raise HTTPException(422, f"unknown role {scope!r}")
        return scope, rows_for(
            build_worklist(store, now=clock(), contacts=contacts), scope, who.role
        )

    # -- sign in -----------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/worklist", status.HTTP_303_SEE_OTHER)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(next: str | None = None) -> HTMLResponse:
        return render("login.html", None, next=_local(next, "/worklist"))

    @app.post("/login")
    def login(token: Annotated[str, Form()], next: Annotated[str, Form()] = "/worklist") -> Any:
        role = tokens.get(token_hash(token))
        if role is None or role not in READERS:
            return render(
                "login.html", None, 401, next=_local(next, "/worklist"), error="Unknown token."
            )
        response = RedirectResponse(_local(next, "/worklist"), status.HTTP_303_SEE_OTHER)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.post("/logout")
    def logout() -> RedirectResponse:
        response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
        response.delete_cookie(COOKIE)
        return response

    # -- worklist ----------------------------------------------------------------------
    @app.get("/worklist", response_class=HTMLResponse)
    def worklist_page(role: str | None = None, who: Principal = page_readers) -> HTMLResponse:
        scope, rows = scoped_rows(who, role)
        audit.add(who.actor, "read-worklist", {"scope": scope, "patients": len(rows)})
        return render(
            "worklist.html",
            who,
            rows=rows,
            scope=scope,
            roles=ROLES,
            owned=ROLE_SCOPES[who.role],
            admin=who.role is Role.ADMIN,
        )

    @app.get("/api/worklist")
    def worklist_json(role: str | None = None, who: Principal = api_readers) -> dict[str, Any]:
        scope, rows = scoped_rows(who, role)
        audit.add(who.actor, "read-worklist", {"scope": scope, "patients": len(rows)})
        return {"role": scope, "entries": [r.as_json() for r in rows]}

    @app.get("/api/outreach.csv")
    def outreach(role: str | None = None, who: Principal = api_readers) -> Response:
        scope, rows = scoped_rows(who, role)
        audit.add(who.actor, "export-outreach", {"scope": scope, "patients": len(rows)})
        return Response(
            outreach_csv([r.entry for r in rows]),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="outreach.csv"'},
        )

    @app.post("/api/findings/{finding_id}/{action}")
    async def finding_action(
        finding_id: int, action: str, request: Request, who: Principal = api_readers
    ) -> Any:
        if action not in ACTIONS:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no action {action!r}")
        with store.lock:
            found = [f for f in store.findings.open_for() if f["id"] == finding_id]
            if not found:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "no open finding with this id")
            finding = found[0]
            if finding["role"] not in ROLE_SCOPES[who.role]:
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    f"this finding belongs to the {finding['role']} role",
                )
            store.findings.set_status(finding_id, ACTIONS[action], by=who.actor, now=clock())
        audit.add(
            who.actor,
            f"finding-{action}",
            {"patient": finding["patient"], "finding": finding_id, "rule": finding["rule"]},
        )
        form = await request.form() if "form" in request.headers.get("content-type", "") else {}
        back = form.get("next")
        if isinstance(back, str):
            return RedirectResponse(_local(back, "/worklist"), status.HTTP_303_SEE_OTHER)
        return {"id": finding_id, "status": ACTIONS[action], "by": who.actor}

    # -- patient -----------------------------------------------------------------------
    @app.get("/patients/{pseudonym}", response_class=HTMLResponse)
    def patient_page(pseudonym: str, who: Principal = page_readers) -> HTMLResponse:
        view = patient_or_404(pseudonym)
        audit.add(who.actor, "read-patient", {"patient": pseudonym})
        rows = build_worklist(store, now=clock(), contacts=contacts)
        row = next(r for r in rows if r.entry.pseudonym == pseudonym and r.site == view.site)
        plan = store.careplan(view.site, pseudonym)
        summary = view.summary
        return render(
            "patient.html",
            who,
            view=view,
            summary=summary,
            metrics={} if summary is None else summary.get("metrics", {}),
            days_since=days_since(summary, clock()),
            bars=RANGE_BARS,
            row=row,
            owned=ROLE_SCOPES[who.role],
            plan=plan,
            history=store.careplan_history(view.site, pseudonym),
            kpis=kpis_for(store, view, meeting_targets=row.entry.group == "meeting"),
            can_edit=who.role in EDITORS,
        )

    @app.get("/api/patients/{pseudonym}/fhir")
    def patient_fhir(pseudonym: str, who: Principal = api_readers) -> JSONResponse:
        view = patient_or_404(pseudonym)
        audit.add(who.actor, "read-fhir", {"patient": pseudonym})
        if view.summary is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no summary received for this patient")
        window = view.summary["window"]
        try:
            bundle = summary_bundle(
                view.summary["metrics"],
                site=view.site,
                pseudonym=pseudonym,
                start=datetime.fromisoformat(window["start_utc"]).date(),
                end=datetime.fromisoformat(window["end_utc"]).date(),
                generated=datetime.fromisoformat(view.summary["generated_utc"]),
            )
        except FhirError as exc:
            raise HTTPException(422, str(exc)) from exc
        return JSONResponse(bundle, media_type="application/fhir+json")

    # -- care-plan editor --------------------------------------------------------------
    def editor(who: Principal, view: PatientView, code: int = 200, **extra: Any) -> HTMLResponse:
        plan = store.careplan(view.site, view.pseudonym)
        return render(
            "careplan.html",
            who,
            code,
            view=view,
            plan=plan or blank_plan(view.site, view.pseudonym, clock()),
            version=0 if plan is None else plan.version,
            presets=(*PRESETS, "custom"),
            languages=LANGUAGES,
            roles=ROLES,
            follow_ups=FOLLOW_UPS,
            default_owner=DEFAULT_OWNERS,
            kinds=RESOURCE_KINDS,
            metrics=METRICS,
            **extra,
        )

    @app.get("/patients/{pseudonym}/careplan", response_class=HTMLResponse)
    def careplan_page(pseudonym: str, who: Principal = page_editors) -> HTMLResponse:
        view = patient_or_404(pseudonym)
        audit.add(who.actor, "read-careplan", {"patient": pseudonym})
        return editor(who, view)

    @app.post("/patients/{pseudonym}/careplan")
    async def careplan_save(pseudonym: str, request: Request, who: Principal = page_editors) -> Any:
        view = patient_or_404(pseudonym)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            plan = save_from_form(
                store,
                broker,
                view.site,
                pseudonym,
                form,
                changed_by=who.actor,
                changed_at=clock(),
            )
        except CarePlanError as exc:
            audit.add(who.actor, "careplan-refused", {"patient": pseudonym, "field": exc.field})
            return editor(who, view, 422, error=exc)
        except (PlanConflict, ValueError) as exc:
            return editor(who, view, status.HTTP_409_CONFLICT, conflict=str(exc))
        except PublishError as exc:
            # stored (the version is the care record's truth) but not yet published
            log.warning("care plan for %s saved but not published: %s", pseudonym, exc)
            audit.add(who.actor, "careplan-unpublished", {"patient": pseudonym})
            return RedirectResponse(
                f"/patients/{pseudonym}?unpublished=1", status.HTTP_303_SEE_OTHER
            )
        audit.add(who.actor, "careplan-save", {"patient": pseudonym, "version": plan.version})
        return RedirectResponse(f"/patients/{pseudonym}", status.HTTP_303_SEE_OTHER)

    return app
