"""FreeStyle Libre reader-software TXT: the two real files, clock changes, errors.

Expected counts were counted independently with awk (record type = 3rd tab field):

    awk -F'\\t' '$3 ~ /^[0-9]$/ {c[$3]++} END {for (k in c) print k, c[k]}' FILE

Type 0 + 1 -> cgm, 2 -> smbg, 5 -> food (non-numeric marker), 6 -> time-change,
7 -> sensor-start.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drivers._core.errors import FileFormatError
from drivers._core.records import DeviceEvent, count_by_kind
from drivers.exports import freestyle_reader, libreview
from tests.fixtures.golden_files import GOLDEN
from tests.fixtures.make_golden_libre_carelink import FIXTURES, decode, golden_for

EXPECTED_READER: dict[str, dict[str, int]] = {
    # type 0: 1265, 1: 189, 2: 4, 5: 11, 6: 1
    "freestyle_libre_reader_software_en_mmol_tab_crlf.txt": {
        "cgm": 1265 + 189,
        "smbg": 4,
        "food": 11,
        "device-event": 1,
    },
    # type 0: 1066, 1: 106, 6: 1, 7: 2
    "freestyle_libre_reader_software_es_tab_separated.txt": {
        "cgm": 1066 + 106,
        "device-event": 1 + 2,
    },
}


def _read(real_fixtures: Path, name: str) -> str:
    return decode((real_fixtures / "libreview" / name).read_bytes())


@pytest.mark.parametrize("name", sorted(EXPECTED_READER))
def test_reader_fixture_counts(real_fixtures: Path, name: str) -> None:
    text = _read(real_fixtures, name)
    assert freestyle_reader.sniff(text) and not libreview.sniff(text)
    result = freestyle_reader.parse(text, file=name)
    assert count_by_kind(result.records) == EXPECTED_READER[name]
    assert result.skipped == ()
    dumped = json.dumps([r.to_dict() for r in result.records])
    assert "bioRHYTHM" not in dumped and "TWO" not in dumped  # preamble lines


def test_reader_time_change(real_fixtures: Path) -> None:
    text = _read(real_fixtures, "freestyle_libre_reader_software_en_mmol_tab_crlf.txt")
    events = [r for r in freestyle_reader.parse(text).records if isinstance(r, DeviceEvent)]
    assert len(events) == 1
    ev = events[0]
    assert ev.event_type == "time-change" and ev.time_from is not None and ev.time_to is not None
    assert (ev.time_from.isoformat(), ev.time_to.isoformat()) == (
        "2019-02-21T13:55:00",
        "2019-02-21T13:57:00",
    )
    assert ev.source_index.startswith("85:6:")  # the reader's own record ID first


@pytest.mark.parametrize("golden", sorted(k for k in FIXTURES if k.startswith("freestyle")))
def test_golden(real_fixtures: Path, golden: str) -> None:
    rel, parse = FIXTURES[golden]
    expected = json.loads((GOLDEN / f"{golden}.json").read_text(encoding="utf-8"))
    assert golden_for(real_fixtures / rel, parse) == expected


HEADER = "\t".join(
    ["ID", "Time", "Record Type", "Historic Glucose (mg/dL)", "Scan Glucose (mg/dL)"]
    + [f"c{i}" for i in range(5, 17)]
    + ["Previous Time", "Updated Time"]
)


def _row(*cells: str) -> str:
    fields = list(cells) + [""] * (19 - len(cells))
    return "\t".join(fields) + "\n"


def test_bad_rows_and_errors() -> None:
    text = "Name line\n" + HEADER + "\n"
    text += _row("1", "2022/01/03 13:24", "0", "0")  # line 3: impossible
    text += _row("2", "2022/13/03 13:24", "0", "90")  # line 4: bad date
    text += _row("3", "2022/01/03 13:30", "6", *[""] * 14, "garbage", "2022/01/03 13:30")  # line 5
    text += _row("4", "2022/01/03 13:45", "1", "", "95")
    result = freestyle_reader.parse(text, file="r.txt")
    assert len(result.records) == 1
    assert [line for line, _ in result.skipped] == [3, 4, 5]
    with pytest.raises(FileFormatError) as info:
        freestyle_reader.parse("Name line\n" + HEADER + "\n", file="r.txt")
    assert info.value.context == {"file": "r.txt", "line": 3}
    with pytest.raises(FileFormatError):
        freestyle_reader.parse(
            HEADER.replace("(mg/dL)", "") + "\n" + _row("1", "2022/01/03 13:24", "0", "9")
        )
