"""Printable reports: one registry of report kinds, each one render function.

A report kind is a function ``render(request: ReportRequest, fmt: str) -> bytes`` that
returns the finished document (a self-contained HTML page as UTF-8, or a PDF) for one
patient. It is registered in :data:`REPORTS` by name, with the formats it can write and
the dotted path of the function, imported only when that kind is rendered (so that the
CLI starts without matplotlib). Adding a kind (the agreement report, the patient
handout) is one module with one render function and one line in :data:`REPORTS`;
``glucogate report --kind`` offers every registered name.

Every kind shows the patient's site pseudonym only, never a name or record number.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drivers._core.records import Record

if TYPE_CHECKING:
    from gateway.careplan.plan import CarePlan

DEFAULT_DAYS = 14
"""The default report period: the last 14 days of data, the consensus minimum for a
representative CGM profile (Battelino 2019, doi:10.2337/dci19-0028)."""


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What every report kind is given.

    Attributes:
        records: the patient's time-resolved records (``time_utc`` and
            ``utc_offset_s`` set), all devices, any order.
        patient: the site pseudonym shown on the report (``p-...``), never a name.
        tz: the patient's IANA time zone, for the dates printed.
        days: period length in days, ending at the last CGM reading.
        devices: device descriptions for the header (model names, no serials).
        source: where the data came from (export format or upload), for the footer.
        careplan: the patient's care plan (agreement report, handout); None: the
            consensus general targets, the site's default agreements, English.
    """

    records: Sequence[Record]
    patient: str
    tz: str = "UTC"
    days: int = DEFAULT_DAYS
    devices: tuple[str, ...] = ()
    source: str = ""
    careplan: CarePlan | None = None


Renderer = Callable[[ReportRequest, str], bytes]


@dataclass(frozen=True, slots=True)
class ReportKind:
    """A registered report: its formats and the ``module:function`` that renders it."""

    name: str
    formats: tuple[str, ...]
    renderer: str
    description: str

    def load(self) -> Renderer:
        """Import the render function."""
        module, _, func = self.renderer.partition(":")
        fn: Renderer = getattr(importlib.import_module(module), func)
        return fn


REPORTS: dict[str, ReportKind] = {
    "agp": ReportKind(
        "agp",
        ("html", "pdf"),
        "gateway.reports.agp:render",
        "consensus AGP report: statistics, time in ranges, AGP, daily profiles, events",
    ),
    "agreement": ReportKind(
        "agreement",
        ("html", "pdf"),
        "gateway.reports.agreement:render",
        "pump educators: care-plan items, bolus patterns by day, CGM vs meter agreement",
    ),
    "handout": ReportKind(
        "handout",
        ("html", "pdf"),
        "gateway.reports.handout:render",
        "one page for the patient in plain words, in the care plan's language",
    ),
}
"""Report kinds by name (the choices of ``glucogate report --kind``)."""


def render_report(kind: str, request: ReportRequest, fmt: str) -> bytes:
    """Render report ``kind`` as ``fmt`` ("html" or "pdf").

    Raises:
        ValueError: an unknown kind, or a format that kind does not write.
    """
    try:
        entry = REPORTS[kind]
    except KeyError:
        raise ValueError(f"unknown report kind {kind!r}; known: {', '.join(REPORTS)}") from None
    if fmt not in entry.formats:
        raise ValueError(f"report {kind!r} writes {', '.join(entry.formats)}, not {fmt!r}")
    return entry.load()(request, fmt)
