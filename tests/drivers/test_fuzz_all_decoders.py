"""Every decoder and importer, fuzzed: only the project's own errors may escape.

The entry points are the atheris harness's targets (``fuzz/fuzz_targets.py``), so CI and
the long runs fuzz the same code: ``read_export`` (detection + every importer), the
Dexcom receiver and Tandem pump frame streams and saved captures (decode + normalize),
the BLE CGM/Glucose/Insulin Delivery profiles replayed through their own history readers
(decode, merge, finish), and the shared BLE codecs (RACP, E2E-CRC, SFLOAT/FLOAT, Date
Time). Each target gets random bytes and mutated *valid* inputs: the seeds are written
by the simulators' encoders, a real G4 receiver capture, and (when ``shared/`` is beside
the checkout) the heads of the real vendor exports.

Oracle: an input either decodes or raises :class:`~drivers._core.errors.DriverError`
(``ProtocolError``/``ChecksumError``/``DecodeError``/``FileFormatError``/
``UnsupportedDevice``); any other exception fails the test.

Budget: ``max_examples`` = 150 random + 300 mutated inputs per target (10 targets), plus
400 mutated real exports: 46 tests in about 8 s of CPU (25 s wall clock on a loaded
2-core machine), inside the ~40 s CI budget. The long runs are atheris' job
(fuzz/README.md).
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.exports import ExportResult, read_export
from fuzz.fuzz_targets import TARGETS, check, real_export_seeds, seeds
from tests.conftest import shared_dir

RANDOM = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
MUTATED = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
REAL = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))

NAMES = sorted(TARGETS)
INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
"""Byte values at the edges of signed/unsigned fields, lengths and SFLOAT specials."""


OPS = ("flip", "edge", "insert", "delete", "truncate", "dup", "splice")
_DIGITS = re.compile(rb"[0-9]+")
ODD_NUMBERS = (
    "\u00b2".encode(),  # str.isdigit() is True, int() refuses it
    "\u0663".encode(),  # an Arabic-Indic digit: int() accepts it
    b"9" * 400,  # float() gives inf
    b"9" * 4400,  # beyond int()'s 4300-digit limit (ValueError)
    b"4294967296",  # 2**32
    b"-1",
    b"nan",
    b"1e309",
)
"""What the "number" mutation writes over a number: the crashes found so far were all
numbers a vendor never writes (see the regression tests at the end)."""


@cache
def seed_list(target: str) -> tuple[bytes, ...]:
    return tuple(seeds(target))


@cache
def real_exports() -> tuple[bytes, ...]:
    shared = shared_dir()
    real = shared / "fixtures" / "real" if shared is not None else None
    return tuple(real_export_seeds(real)) if real is not None and real.is_dir() else ()


@st.composite
def mutate(draw: st.DrawFn, pool: tuple[bytes, ...]) -> bytes:
    """A valid input from ``pool`` with 1-4 mutations (the kinds libFuzzer uses most)."""
    data = bytearray(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from([*OPS, "number", "number"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "number":  # rewrite the number at or after ``at`` (text formats)
            found = _DIGITS.search(bytes(data), at)
            if found is not None:
                data[found.start() : found.end()] = draw(st.sampled_from(ODD_NUMBERS))
        elif op == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif op == "edge" and data:
            data[at] = draw(st.sampled_from(INTERESTING))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[at:]
        elif op == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 64))]
        elif op == "splice":
            other = draw(st.sampled_from(pool))
            start = draw(st.integers(0, max(0, len(other) - 1)))
            data[at:] = other[start:]
    return bytes(data)


@pytest.mark.parametrize("target", NAMES)
@RANDOM
@given(data=st.binary(max_size=600))
def test_random_bytes_raise_only_driver_errors(target: str, data: bytes) -> None:
    check(target, data)


@pytest.mark.parametrize("target", NAMES)
@MUTATED
@given(data=st.data())
def test_mutated_valid_inputs_raise_only_driver_errors(target: str, data: st.DataObject) -> None:
    check(target, data.draw(mutate(seed_list(target))))


@pytest.mark.skipif(not real_exports(), reason="shared/fixtures/real is not beside the checkout")
@REAL
@given(data=st.data())
def test_mutated_real_exports_raise_only_driver_errors(data: st.DataObject) -> None:
    check("export", data.draw(mutate(real_exports())))


# -- the seeds are what they claim to be (else the mutations start from nothing) --------


EXPECTED_EXPORT_FORMATS = {
    "dexcom-clarity-csv",
    "libreview-csv",
    "freestyle-libre-reader-txt",
    "carelink-csv",
    "carelink-guardian-connect-csv",
    "carelink-classic-csv",
    "carelink-ipro2-csv",
    "nightscout-entries-json",
    "nightscout-entries-tsv",
    "nightscout-treatments-json",
    "nightscout-profile-json",
    "tandem-tconnect-csv",
    "tidepool-export-json",
    "glooko-zip",
}


def test_export_seeds_cover_every_importer_and_import_cleanly() -> None:
    results = [read_export("seed", data=data) for data in seed_list("export")]
    assert {r.format for r in results} == EXPECTED_EXPORT_FORMATS
    assert all(r.records for r in results)


@pytest.mark.parametrize("target", [n for n in NAMES if n != "export"])
def test_binary_seeds_decode_without_error(target: str) -> None:
    pool = seed_list(target)
    assert len(pool) >= 3
    for data in pool:
        TARGETS[target].run(data)  # a valid input raises nothing, not even DriverError


def test_device_seeds_reach_the_records() -> None:
    """The capture seeds are deep: they get through decoding into normalized records."""
    from drivers.cgm.dexcom_receiver.decode import decode_capture as dexcom_capture

    g4 = seed_list("dexcom-capture")[0]
    capture = dexcom_capture(g4)
    # the real G4 capture (tests/drivers/cgm/dexcom_receiver/test_decode.py's count)
    assert sum(len(p.records) for p in capture.pages) == 4 * 38 + 32 + 36 + 35
    tandem = TARGETS["tandem-capture"].run(seed_list("tandem-capture")[0])
    assert len(tandem.records) > 20  # type: ignore[attr-defined]
    for profile in ("ble-cgms", "ble-gls", "ble-ids"):
        batch = TARGETS[profile].run(seed_list(profile)[0])
        assert batch.records, profile  # type: ignore[attr-defined]


# -- regressions: findings of the fuzzers, kept as plain vectors -------------------------


@pytest.mark.parametrize(
    "transmitter_time",
    [
        "1" + "4" * 98 + "73",  # atheris, export target: OverflowError (int too large for C)
        "99999999999999",  # OverflowError: timedelta beyond 999999999 days
        "99999999999",  # OverflowError: anchor before year 1
        "\u00b2",  # ValueError: str.isdigit() accepts "²", int() does not
        "9" * 5000,  # ValueError: beyond Python's 4300-digit int() limit
    ],
)
def test_clarity_implausible_transmitter_time_is_imported_by_timestamp(
    transmitter_time: str,
) -> None:
    clean = seed_list("export")[1]  # simulator Clarity CSV, unquoted, CRLF, mmol/L
    lines = clean.decode().split("\r\n")
    at = next(i for i, line in enumerate(lines) if ",EGV," in line)
    fields = lines[at].split(",")
    assert fields[12].isdigit()  # the Transmitter Time (Long Integer) column
    fields[12] = transmitter_time
    lines[at] = ",".join(fields)
    got = read_export("clarity.csv", data="\r\n".join(lines).encode())
    want = read_export("clarity.csv", data=clean)
    # the row is not lost: same readings, same values, in timestamp order
    assert got.skipped == want.skipped == []

    def readings(result: ExportResult) -> list[tuple[object, object]]:
        return sorted((r.device_time, getattr(r, "glucose_mgdl", None)) for r in result.records)

    assert readings(got) == readings(want)


def _with_cell(seed: bytes, header_start: str, column: str, value: str) -> tuple[bytes, int]:
    """``seed`` (a CSV) with ``column`` of its first data row set to ``value``; the
    1-based line number of that row."""
    lines = seed.decode("utf-8-sig").split("\n")
    head = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    col = lines[head].split(",").index(column)
    fields = lines[head + 1].split(",")
    fields[col] = value
    lines[head + 1] = ",".join(fields)
    return "\n".join(lines).encode(), head + 2


ODD_INTEGERS = ["\u00b2", "\u0663", "9" * 5000]
"""Digits ``str.isdigit`` accepts but ``int`` refuses (superscript two), an Arabic-Indic
digit, and a number beyond ``int()``'s 4300-digit limit: each crashed an importer."""


@pytest.mark.parametrize("value", ODD_INTEGERS)
def test_libreview_odd_record_type_skips_the_row(value: str) -> None:
    seed = seed_list("export")[2]  # simulator LibreView CSV (US, mg/dL)
    data, line = _with_cell(seed, "Device,", "Record Type", value)
    got = read_export("libre.csv", data=data)
    assert [(s.line, s.reason) for s in got.skipped] == [(line, "unknown record type")]
    assert len(got.records) == len(read_export("libre.csv", data=seed).records) - 1


@pytest.mark.parametrize("value", ODD_INTEGERS)
def test_carelink_classic_odd_sequence_number_keeps_every_record(value: str) -> None:
    seed = seed_list("export")[10]  # simulator classic CareLink CSV
    data, _line = _with_cell(seed, "Index,", "Raw-Seq Num", value)
    got = read_export("carelink.csv", data=data)
    want = read_export("carelink.csv", data=seed)
    assert sorted(r.dedup_key for r in got.records) == sorted(r.dedup_key for r in want.records)


def test_odd_numbers_in_shared_value_parsers() -> None:
    from drivers.exports.carelink.values import duration_s
    from drivers.exports.libreview.values import parse_number
    from drivers.exports.nightscout.profile import _start_s

    for value in ODD_INTEGERS:
        assert duration_s(f"{value}:00:00") is None
        assert _start_s({"time": f"{value}:00"}) is None
    assert duration_s("1:30:00") == 5400
    assert _start_s({"time": "01:30"}) == 5400
    # 309+ digits overflow float() to inf; int(inf // 1000) crashed CareLink settings
    assert parse_number("9" * 400) is None
    assert parse_number("5,2") == 5.2


def test_nightscout_profile_odd_time_drops_the_entry() -> None:
    import json

    doc = {
        "_id": "a",
        "defaultProfile": "D",
        "startDate": "2025-03-01T00:00:00.000Z",
        "created_at": "2025-03-01T00:00:00.000Z",
        "units": "mmol",
        "store": {
            "D": {
                "basal": [{"time": "00:00", "value": 1.0}, {"time": "\u00b2:00", "value": 2.0}],
                "carbratio": [{"time": "00:00", "value": 10}],
                "sens": [{"time": "00:00", "value": 2}],
                "target_low": [{"time": "00:00", "value": 5}],
                "target_high": [{"time": "00:00", "value": 6}],
                "dia": 4,
                "timezone": "UTC",
                "units": "mmol",
            }
        },
    }
    got = read_export("profile.json", data=json.dumps([doc], ensure_ascii=False).encode())
    [snapshot] = got.records
    [(start_s, rate)] = [(e.start_s, e.value) for e in snapshot.basal_schedules_u_per_h["D"]]  # type: ignore[attr-defined]
    assert (start_s, rate) == (0, 1.0)
    assert "settings/implausible-entry" in snapshot.annotations


def test_glooko_zip_with_a_nameless_member_is_read() -> None:
    # atheris, export target: ZipInfo.is_dir() raised IndexError on an empty name
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("cgm_data_1.csv", b"Name:x\r\nTimestamp,CGM Glucose Value (mg/dl)\r\n")
        nameless = zipfile.ZipInfo("a.csv")
        zf.writestr(nameless, b"x")
        nameless.filename = ""  # the central directory is written at close: name length 0
    got = read_export("glooko.zip", data=buf.getvalue())
    assert (got.format, got.records) == ("glooko-zip", [])
