"""Map reader-software TXT rows to normalized records (the LibreView mapper, keyed by ID).

The reader TXT carries the same record types and value columns as LibreView plus type 6
= clock change (``Previous Time`` -> ``Updated Time``, a ``DeviceEvent(time-change)``)
and type 7 = sensor start. The dedup key starts with the reader's own record ``ID``
(``<ID>:<type>:<timestamp>[:<value>]``); the timestamp keeps keys of two readers apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from drivers.exports.freestyle_reader import columns as col
from drivers.exports.libreview.normalize import Context, LibreRow, Normalized, normalize_rows
from drivers.exports.libreview.parse import Row


def normalize(rows: Sequence[Row], *, units: str) -> Normalized:
    """Normalize reader rows (dates are ``YYYY/MM/DD``, so no day/month guess is needed)."""
    ctx = Context(
        units=units,
        day_first=True,
        default_model=col.DEFAULT_MODEL,
        default_serial="unknown",
        key_with_id=True,
    )
    libre_rows = [LibreRow(r.line, dict(zip(col.KEYS, r.fields, strict=False))) for r in rows]
    return normalize_rows(libre_rows, ctx)
