"""The outreach list: the worklist as CSV for phone and text follow-up.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula (CSV injection, CWE-1236). Every such cell is written with
a leading apostrophe, as OWASP recommends
(https://owasp.org/www-community/attacks/CSV_Injection), so a hostile value in a care
plan (a resource's name, a contact note) is shown, never executed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from gateway.record.worklist import GROUP_TITLES, WorklistEntry

COLUMNS = (
    "priority",
    "group",
    "patient",
    "role",
    "reason",
    "contact_preference",
    "language",
    "best_time",
)
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The text of one cell, neutralised if a spreadsheet would run it as a formula.

    >>> safe_cell("=HYPERLINK(\\"http://x\\")"), safe_cell("-5"), safe_cell("plain")
    ('\\'=HYPERLINK("http://x")', "'-5", 'plain')
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_TRIGGERS) else text


def outreach_csv(entries: Sequence[WorklistEntry]) -> str:
    """CSV text (RFC 4180 quoting, CRLF line ends) of the worklist in its order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for e in entries:
        row = (
            e.priority,
            GROUP_TITLES[e.group],
            e.pseudonym,
            e.role,
            e.reason,
            e.contact.get("preference", ""),
            e.contact.get("language", ""),
            e.contact.get("best_time", ""),
        )
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
