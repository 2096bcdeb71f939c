"""Collect classic CareLink ``Current*`` rows into one SettingsSnapshot per upload.

At every upload the classic CareLink export lists the pump's settings as ``Current*``
raw records of the same second: basal patterns (``CurrentBasalProfilePattern``, whose
``Raw-ID`` the ``CurrentBasalProfile`` rows name in ``PATTERN_DATUM_ID``), the active
pattern, carb ratios, sensitivities (``ORIGINAL_UNITS`` on the pattern row), BG
targets and the insulin action time (minutes). Times of day are ``START_TIME`` in ms.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from drivers._core.records import ScheduleEntry, SettingsSnapshot
from drivers._core.units import mmoll_to_mgdl
from drivers.exports.carelink import columns as col
from drivers.exports.carelink.parse import CLRow
from drivers.exports.libreview.values import parse_number


@dataclass(slots=True)
class _Upload:
    device_id: str
    time: datetime
    line: int
    patterns: dict[str, str] = field(default_factory=dict)  # pattern Raw-ID -> name
    basal: dict[str, list[ScheduleEntry]] = field(default_factory=dict)  # Raw-ID -> entries
    active: str | None = None
    carb: list[ScheduleEntry] = field(default_factory=list)
    isf: list[ScheduleEntry] = field(default_factory=list)
    low: list[ScheduleEntry] = field(default_factory=list)
    high: list[ScheduleEntry] = field(default_factory=list)
    isf_mmol: bool = False
    target_mmol: bool = False
    action_s: int | None = None


def _entry(v: dict[str, str], key: str, *, mmol: bool = False) -> ScheduleEntry | None:
    value = parse_number(v.get(key, ""))
    start = parse_number(v.get("START_TIME", ""))
    if value is None or start is None:
        return None
    return ScheduleEntry(start_s=int(start // 1000), value=mmoll_to_mgdl(value) if mmol else value)


class SettingsCollector:
    """Accumulates ``Current*`` rows; :meth:`snapshots` yields the finished records."""

    def __init__(self) -> None:
        self._uploads: dict[str, _Upload] = {}

    def add(self, row: CLRow, raw: str, v: dict[str, str], device_id: str, when: datetime) -> None:
        """Take one ``Current*`` row (unknown ``Current*`` types are ignored)."""
        upload_id = row.get(col.RAW_UPLOAD_ID) or "?"
        up = self._uploads.setdefault(upload_id, _Upload(device_id, when, row.line))
        pattern = v.get("PATTERN_DATUM_ID", "")
        if raw == "CurrentBasalProfilePattern":
            up.patterns[row.get(col.RAW_ID)] = v.get("PATTERN_NAME", "")
        elif raw == "CurrentBasalProfile" and (e := _entry(v, "RATE")) is not None:
            up.basal.setdefault(pattern, []).append(e)
        elif raw == "CurrentActiveBasalProfilePattern":
            up.active = v.get("PATTERN_NAME") or None
        elif raw == "CurrentCarbRatio" and (e := _entry(v, "AMOUNT")) is not None:
            up.carb.append(e)
        elif raw == "CurrentInsulinSensitivityPattern":
            up.isf_mmol = "mmol" in v.get("ORIGINAL_UNITS", "")
        elif raw == "CurrentBGTargetRangePattern":
            up.target_mmol = "mmol" in v.get("ORIGINAL_UNITS", "")
        elif raw == "CurrentInsulinSensitivity" and (e := _entry(v, "AMOUNT", mmol=up.isf_mmol)):
            up.isf.append(e)
        elif raw == "CurrentBGTargetRange":
            lo = _entry(v, "AMOUNT_LOW", mmol=up.target_mmol)
            hi = _entry(v, "AMOUNT_HIGH", mmol=up.target_mmol)
            if lo is not None and hi is not None:
                up.low.append(lo)
                up.high.append(hi)
        elif raw == "CurrentInsulinActionCurve":
            minutes = parse_number(v.get("AMOUNT", ""))
            up.action_s = int(minutes * 60) if minutes is not None else None

    def snapshots(self) -> Iterator[tuple[int, SettingsSnapshot]]:
        """``(line, snapshot)`` per upload that listed any schedule."""
        for upload_id, up in self._uploads.items():
            schedules = {
                up.patterns.get(pid, pid): tuple(sorted(entries, key=lambda e: e.start_s))
                for pid, entries in up.basal.items()
            }
            if not (schedules or up.carb or up.isf or up.low):
                continue

            def ordered(xs: list[ScheduleEntry]) -> tuple[ScheduleEntry, ...]:
                return tuple(sorted(xs, key=lambda e: e.start_s))

            yield (
                up.line,
                SettingsSnapshot(
                    device_id=up.device_id,
                    source_index=f"settings:upload:{upload_id}",
                    device_time=up.time,
                    active_schedule=up.active,
                    basal_schedules_u_per_h=schedules,
                    carb_ratios_g_per_u=ordered(up.carb),
                    sensitivities_mgdl_per_u=ordered(up.isf),
                    target_low_mgdl=ordered(up.low),
                    target_high_mgdl=ordered(up.high),
                    insulin_action_s=up.action_s,
                ),
            )
