"""CareLink parsing on small hand-written files: errors, skipped rows, clock changes."""

from __future__ import annotations

import pytest

from drivers._core.errors import FileFormatError
from drivers._core.records import BasalSegment, DeviceEvent, GlucoseSample
from drivers.exports import carelink
from drivers.exports.carelink.columns import CLASSIC_HEADER, MODERN_HEADER

PREAMBLE = (
    "\ufeffLast Name;First Name;Patient ID;System ID;Start Date;End Date;Device;"
    "MiniMed 780G MMT-1886\r\n"
    '"Doe";"Jane";"";"";"02/11/2025 00:00:00";"08/11/2025 00:00:00";"Serial Number";NG1;\r\n'
    "Patient DOB;;;;;;CGM;Guardian 4\r\n\r\n"
)
MARKER = "-------;MiniMed 780G MMT-1886;{what};NG1;------- \r\n"


def modern(pump: list[dict[str, str]], sensor: list[dict[str, str]] = ()) -> str:  # type: ignore[assignment]
    out = PREAMBLE
    for what, rows in (("Pump", pump), ("Sensor", sensor)):
        out += MARKER.format(what=what) + ";".join(MODERN_HEADER) + "\r\n"
        for i, cells in enumerate(rows):
            out += (
                ";".join({"Index": f"{i},00000", **cells}.get(h, "") for h in MODERN_HEADER)
                + "\r\n"
            )
    return out


def test_bad_values_are_skipped_with_lines() -> None:
    text = modern(
        [
            {"Date": "2025/11/08", "Time": "06:00:00", "Basal Rate (U/h)": "0,6"},  # line 7
            {"Date": "2025/11/08", "Time": "05:00:00", "BG Reading (mg/dL)": "0"},  # line 8
            {"Date": "2025/13/08", "Time": "04:00:00", "BG Reading (mg/dL)": "100"},  # line 9
            {
                "Date": "2025/11/08",
                "Time": "03:00:00",
                "Bolus Volume Selected (U)": "-1",
                "Bolus Type": "Normal",
            },
        ],
        [{"Date": "2025/11/08", "Time": "02:00:00", "Sensor Glucose (mg/dL)": "2000"}],  # line 13
    )
    result = carelink.parse(text, file="c.csv")
    assert [line for line, _ in result.skipped] == [8, 9, 10, 13]
    assert len(result.records) == 1
    assert "Jane" not in repr(result) and "Doe" not in repr(result)


def test_time_change_and_suspend() -> None:
    text = modern(
        [
            {"Date": "2025/10/26", "Time": "03:10:00", "Suspend": "NORMAL_PUMPING"},
            {"Date": "2025/10/26", "Time": "02:59:00", "New Device Time": "2025/10/26 02:00:00"},
            {
                "Date": "2025/10/26",
                "Time": "02:40:00",
                "Basal Rate (U/h)": "0",
                "Suspend": "USER_SUSPEND",
            },
            {"Date": "2025/10/26", "Time": "02:00:00", "Basal Rate (U/h)": "0,8"},
        ]
    )
    recs = carelink.parse(text).records
    sched, susp, change, resume = recs
    assert isinstance(sched, BasalSegment) and sched.duration_s == 40 * 60
    assert isinstance(susp, BasalSegment) and susp.basal_type == "suspend"
    assert susp.duration_s == 30 * 60 and susp.scheduled_rate_u_per_h == 0.8
    assert isinstance(change, DeviceEvent) and change.event_type == "time-change"
    assert change.time_to is not None and change.time_to.isoformat() == "2025-10-26T02:00:00"
    assert isinstance(resume, DeviceEvent) and resume.event_type == "resume"


def test_sections_reversed_and_merged_in_device_order() -> None:
    text = modern(
        [{"Date": "2025/11/08", "Time": "06:00:00", "BG Reading (mg/dL)": "101"}],
        [
            {
                "Date": "2025/11/08",
                "Time": "06:05:00",
                "Sensor Glucose (mg/dL)": "102",
                "ISIG Value": "20,1",
            },
            {
                "Date": "2025/11/08",
                "Time": "05:55:00",
                "Sensor Glucose (mg/dL)": "100",
                "ISIG Value": "20,0",
            },
        ],
    )
    recs = carelink.parse(text).records
    assert [r.glucose_mgdl for r in recs if isinstance(r, GlucoseSample)] == [100.0, 101.0, 102.0]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("hello\nworld\n", 1),
        (PREAMBLE + MARKER.format(what="Pump"), 5),
        (modern([]), 9),
        (
            PREAMBLE
            + MARKER.format(what="Pump")
            + ";".join(MODERN_HEADER)
            + "\r\n0,0;2025/11/08;06:00",
            7,
        ),
        ("Data Range,1/1/14,to,1/2/14\n" + ",".join(CLASSIC_HEADER) + "\n", 3),
    ],
    ids=["not-carelink", "no-header", "no-rows", "truncated", "classic-no-rows"],
)
def test_file_errors(text: str, line: int) -> None:
    with pytest.raises(FileFormatError) as info:
        carelink.parse(text, file="c.csv")
    assert info.value.context["file"] == "c.csv"
    assert info.value.context["line"] == line
    assert "Jane" not in str(info.value)
