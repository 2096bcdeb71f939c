"""Coverage-guided fuzzing of every glucogate decoder and importer (atheris / libFuzzer).

Usage (from the repository root, after ``pip install -e '.[fuzz]'``)::

    python fuzz/fuzz_targets.py --list                      # the targets
    python fuzz/fuzz_targets.py export -max_total_time=3600 # fuzz one target for an hour
    python fuzz/fuzz_targets.py export crash-<sha1>          # replay one input

The oracle is the project's error contract (``drivers/_core/errors.py``): every input
either decodes or raises a :class:`~drivers._core.errors.DriverError`. Any other
exception escaping a target (``ValueError``, ``IndexError``, ``OverflowError``,
``KeyError``, ``RecursionError`` ...) is a finding and makes libFuzzer write a
``crash-*`` file. See ``fuzz/README.md``.

The targets and their seeds live in this module so that the Hypothesis tests
(``tests/drivers/test_fuzz_all_decoders.py``) fuzz exactly the same entry points in CI.
Seeds come from the simulators' encoders and from captures kept in the repository
(``tests/drivers/cgm/dexcom_receiver/data/g4_capture.txt``, a real G4 receiver); with
``--real DIR`` the heads of the real vendor exports in ``DIR`` (e.g.
``shared/fixtures/real``) are added to the ``export`` corpus on this machine only.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make drivers/ and simulators/ importable
    sys.path.insert(0, str(REPO))

from drivers._core.errors import DriverError  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "corpus"
EXPORT_SEED_BYTES = 6000
"""Export seeds are cut to about this many bytes (at a line end): libFuzzer mutates
small inputs far faster, and every format announces itself in its first lines."""

OUR_ERRORS: tuple[type[BaseException], ...] = (DriverError,)
"""What a decoder may raise on bad input; anything else escaping is a finding."""


@dataclass(frozen=True, slots=True)
class Target:
    """One fuzz entry point: ``run(data)`` decodes ``data`` as far as the product would."""

    name: str
    run: Callable[[bytes], object]
    doc: str


# -- the entry points --------------------------------------------------------------------


def run_export(data: bytes) -> object:
    """``read_export`` on an upload's bytes: size/BOM/encoding, content detection, every
    importer's sniffer, the matching parser (CSV/TSV/JSON/zip), normalization."""
    from drivers.exports import read_export

    return read_export("fuzz.csv", data=data)


def run_dexcom_frames(data: bytes) -> object:
    """Dexcom receiver serial stream: ``split_frames`` and every answer-payload decoder."""
    from drivers.cgm.dexcom_receiver import messages as m
    from drivers.cgm.dexcom_receiver.decode import decode_page_header, decode_pages
    from drivers.cgm.dexcom_receiver.frames import frame_length, parse_frame, split_frames

    frames, _tail = split_frames(data)
    for decoder in (parse_frame, frame_length):
        _swallow(decoder, data)
    for frame in frames:
        for payload_decoder in (
            m.decode_u32,
            m.decode_i32,
            m.decode_page_range,
            m.decode_xml_attrs,
            m.decode_partition_info,
            m.decode_pages_request,
            decode_page_header,
            decode_pages,
        ):
            _swallow(payload_decoder, frame.payload)
    return frames


def run_dexcom_capture(data: bytes) -> object:
    """A saved Dexcom upload (``HistoryBatch.raw``) replayed: ``decode_capture`` then
    ``normalize`` of every record, as a re-import of a stored upload does."""
    from drivers.cgm.dexcom_receiver.decode import decode_capture
    from drivers.cgm.dexcom_receiver.normalize import normalize

    capture = decode_capture(data)
    records = [rec for page in capture.pages for _, rec in page.records]
    return normalize(records, device_id="dexcom:g4:fuzz")


def run_tandem_frames(data: bytes) -> object:
    """Tandem pump serial stream: ``split_frames``, ``parse_frame`` and every message."""
    from drivers.pumps.tandem import messages as m
    from drivers.pumps.tandem.frames import frame_length, parse_frame, split_frames

    frames, _tail, _bad = split_frames(data)
    for decoder in (parse_frame, frame_length):
        _swallow(decoder, data)
    for frame in frames:
        for payload_decoder in (
            m.CommandAck.decode,
            m.VersionInfo.decode,
            m.LogSize.decode,
            m.LogEntry.decode,
            m.IdpList.decode,
            m.IdpProfile.decode,
            m.decode_log_entry_request,
            m.decode_multi_request,
        ):
            _swallow(payload_decoder, frame.payload)
    return frames


def run_tandem_capture(data: bytes) -> object:
    """A saved Tandem upload replayed: ``decode_capture``, typed events, ``normalize``
    (with the profile names from the capture's IDP answers)."""
    from drivers.pumps.tandem.decode import decode_capture
    from drivers.pumps.tandem.events import pump_time
    from drivers.pumps.tandem.normalize import device_info, normalize, settings_snapshot

    capture = decode_capture(data)
    names = {idp: p.name for idp, p in capture.profiles.items()}
    out = normalize(capture.events, device_id="tandem:tslim-x2:fuzz", profile_names=names)
    if capture.version is not None and capture.clock is not None:
        device_info(capture.version, pump_time(capture.clock))
    if capture.profiles and capture.settings_clock is not None:
        ids = capture.idp_list.profile_ids if capture.idp_list is not None else ()
        settings_snapshot(
            capture.profiles,
            ids[0] if ids else None,
            device_id="tandem:tslim-x2:fuzz",
            clock=pump_time(capture.settings_clock),
        )
    return out


def _ble_history(kind: str, data: bytes) -> object:
    """A BLE capture (``drivers.transports.ble`` format) replayed through a profile's own
    history reader: prelude characteristics decoded into its state, data notifications
    through its ``decode``/``merge``, then its ``finish`` (normalize, cursor, meta)."""
    from drivers.ble import racp, uuids
    from drivers.ble.history import Progress
    from drivers.transports.ble import BleOptions, decode_capture

    entries = decode_capture(data)
    history: Any
    prelude: dict[str, Callable[[Any, bytes], None]]
    dialect = racp.SIG
    if kind == "cgms":
        from drivers.ble.cgms import messages as cm
        from drivers.ble.cgms.session import _CgmsHistory

        history = _CgmsHistory("fuzz", BleOptions(), lambda: datetime(2026, 1, 1, tzinfo=UTC))

        def e2e(h: Any) -> bool:
            return bool(h.feature.e2e_crc)

        prelude = {
            uuids.CGM_FEATURE: lambda h, v: setattr(h, "feature", cm.decode_feature(v)),
            uuids.CGM_STATUS: lambda h, v: setattr(h, "status", cm.decode_status(v, e2e=e2e(h))),
            uuids.CGM_SESSION_START_TIME: lambda h, v: setattr(
                h, "start", cm.decode_session_start(v, e2e=e2e(h))
            ),
            uuids.CGM_SESSION_RUN_TIME: lambda h, v: setattr(
                h, "run_time_h", cm.decode_run_time(v, e2e=e2e(h))
            ),
        }
        data_uuids = {uuids.CGM_MEASUREMENT}
    elif kind == "gls":
        from drivers.ble.gls import messages as gm
        from drivers.ble.gls.session import _GlsHistory

        history = _GlsHistory("fuzz", BleOptions())
        history.features = 0
        prelude = {
            uuids.GLUCOSE_FEATURE: lambda h, v: setattr(h, "features", gm.decode_feature(v)),
        }
        data_uuids = {uuids.GLUCOSE_MEASUREMENT, uuids.GLUCOSE_CONTEXT}
    else:
        from drivers.ble.ids import messages as im
        from drivers.ble.ids.session import _IdsHistory

        history = _IdsHistory("fuzz", BleOptions())

        def e2e(h: Any) -> bool:
            return bool(h.features.e2e)

        prelude = {
            uuids.IDD_FEATURES: lambda h, v: setattr(h, "features", im.decode_features(v)),
            uuids.IDD_STATUS: lambda h, v: setattr(h, "status", im.decode_status(v, e2e=e2e(h))),
            uuids.IDD_STATUS_CHANGED: lambda h, v: setattr(
                h, "status_changed", im.decode_status_changed(v, e2e=e2e(h))
            ),
            uuids.IDD_ANNUNCIATION_STATUS: lambda h, v: setattr(
                h, "annunciation", im.decode_annunciation(v, e2e=e2e(h))
            ),
        }
        data_uuids = {uuids.IDD_HISTORY_DATA}
        dialect = racp.IDD
    history.device_id = f"fuzz:{kind}:1"
    progress: Progress[Any] = Progress()
    for _kind, short, value in entries:
        uuid = uuids.uuid16(short)
        if uuid in prelude:
            prelude[uuid](history, value)
        elif uuid in data_uuids:
            for key, item in history.decode(uuid, value):
                progress.add(key, item, history.merge)
        elif short in (0x2A52, 0x2B27):  # a RACP indication (SIG / IDD control point)
            racp.decode_response(value, dialect)
    return history.finish(progress.items, None)


def run_ble_cgms(data: bytes) -> object:
    """CGM Service: feature, status, session start/run time, measurements, history."""
    return _ble_history("cgms", data)


def run_ble_gls(data: bytes) -> object:
    """Glucose Service: feature, measurement + context pairing, history."""
    return _ble_history("gls", data)


def run_ble_ids(data: bytes) -> object:
    """Insulin Delivery Service: features, status, annunciation, history events."""
    return _ble_history("ids", data)


def run_ble_fields(data: bytes) -> object:
    """Shared BLE codecs on one value: first octet picks RACP request/response in the
    SIG or IDD dialect, E2E-CRC split, or a field run (SFLOAT, FLOAT, Date Time, zoned
    time) read through :class:`~drivers.ble.reader.Reader`."""
    from drivers.ble import racp
    from drivers.ble.date_time import read_date_time, read_zoned
    from drivers.ble.e2e_crc import split_crc
    from drivers.ble.reader import Reader
    from drivers.ble.sfloat import decode_float, decode_sfloat

    if not data:
        return None
    which, value = data[0] % 7, data[1:]
    if which == 0:
        return racp.decode_response(value, racp.SIG)
    if which == 1:
        return racp.decode_response(value, racp.IDD)
    if which == 2:
        return racp.decode_request(value, racp.SIG)
    if which == 3:
        return racp.decode_request(value, racp.IDD)
    if which == 4:
        return split_crc(value, what="fuzz", check=True)
    reader = Reader(value, "fuzz")
    out: list[object] = []
    while reader.remaining:
        step = reader.u8("op") % 5
        if step == 0:
            out.append(read_date_time(reader))
        elif step == 1:
            out.append(read_zoned(reader))
        elif step == 2:
            out.append(decode_sfloat(reader.u16()).number())
        elif step == 3:
            out.append(decode_float(reader.uint(4)).number())
        else:
            out.append(reader.sfloat().number())
    return out


def run_ble_capture(data: bytes) -> object:
    """The BLE capture container alone (``drivers.transports.ble.decode_capture``)."""
    from drivers.transports.ble import decode_capture

    return decode_capture(data)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("export", run_export, run_export.__doc__ or ""),
        Target("dexcom-frames", run_dexcom_frames, run_dexcom_frames.__doc__ or ""),
        Target("dexcom-capture", run_dexcom_capture, run_dexcom_capture.__doc__ or ""),
        Target("tandem-frames", run_tandem_frames, run_tandem_frames.__doc__ or ""),
        Target("tandem-capture", run_tandem_capture, run_tandem_capture.__doc__ or ""),
        Target("ble-cgms", run_ble_cgms, run_ble_cgms.__doc__ or ""),
        Target("ble-gls", run_ble_gls, run_ble_gls.__doc__ or ""),
        Target("ble-ids", run_ble_ids, run_ble_ids.__doc__ or ""),
        Target("ble-fields", run_ble_fields, run_ble_fields.__doc__ or ""),
        Target("ble-capture", run_ble_capture, run_ble_capture.__doc__ or ""),
    )
}


def _swallow(decoder: Callable[[bytes], object], data: bytes) -> None:
    """Run a sub-decoder whose refusal of this input is expected (only our errors)."""
    with contextlib.suppress(*OUR_ERRORS):
        decoder(data)


def check(target: str, data: bytes) -> None:
    """Run one input; our own errors are the contract, anything else propagates."""
    with contextlib.suppress(*OUR_ERRORS):
        TARGETS[target].run(data)


# -- seeds -------------------------------------------------------------------------------


@cache
def _scenario() -> Any:
    from simulators.patient import presets
    from simulators.patient.scenario import Scenario

    return Scenario(
        presets.preset("new_pump_start"), days=1, seed=7, tz="Europe/Berlin", start=date(2025, 3, 1)
    )


def _head(data: bytes, limit: int = EXPORT_SEED_BYTES) -> bytes:
    """The first lines of an export, cut at a line end near ``limit`` bytes."""
    if len(data) <= limit:
        return data
    cut = data.rfind(b"\n", 0, limit)
    return data[: cut + 1] if cut > 0 else data[:limit]


def _export_seeds() -> Iterator[bytes]:
    from simulators.exports import (
        carelink,
        dexcom_clarity,
        glooko,
        libreview,
        nightscout,
        tandem,
        tidepool,
    )

    sc = _scenario()
    recs = list(sc.records)
    cgm = [r for r in recs if r.device_id == sc.cgm_id][:36]  # three hours of CGM
    pump = [r for r in recs if r.device_id == sc.pump_id]
    both = cgm + pump
    settings = [r for r in pump if r.kind == "settings"]
    yield dexcom_clarity.write_clarity(cgm)
    yield dexcom_clarity.write_clarity(cgm, units="mmol/L", quoted=False, bom=False, crlf=True)
    yield libreview.write_libreview(cgm)
    yield libreview.write_libreview(cgm, locale="eu", units="mmol/L", clinic=True)
    yield libreview.write_libreview(cgm, locale="es", units="mmol/L")
    yield libreview.write_reader_txt(cgm)
    yield libreview.write_reader_txt(cgm, language="es", units="mg/dL")
    yield carelink.write_modern(both)
    yield carelink.write_modern(both, locale="us")
    yield carelink.write_modern(cgm, guardian=True)
    yield carelink.write_classic(both)
    yield carelink.write_ipro2(cgm)  # UTF-16LE with BOM, tab-separated
    yield nightscout.write_entries_json(cgm)
    yield nightscout.write_entries_json(cgm[:6], legacy_strings=True)
    yield nightscout.write_entries_text(cgm, delimiter="\t")
    yield nightscout.write_treatments_json(pump)
    yield nightscout.write_profile_json(settings)
    yield tandem.write_tconnect(both)
    yield tidepool.write_tidepool(both)
    yield glooko.write_glooko_zip(both)


def real_export_seeds(real: Path) -> Iterator[bytes]:
    """Heads of the real vendor exports under ``real`` (e.g. ``shared/fixtures/real``)."""
    for path in sorted(real.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".csv", ".txt", ".json", ".tsv", ".zip"):
            data = path.read_bytes()
            yield data if path.suffix.lower() == ".zip" else _head(data)


def _g4_answers() -> list[bytes]:
    """Answer frames of the real G4 receiver capture kept with the driver tests."""
    path = REPO / "tests/drivers/cgm/dexcom_receiver/data/g4_capture.txt"
    if not path.exists():
        return []
    rows = [
        line.split(",", 1)
        for line in path.read_text(encoding="ascii").splitlines()
        if line and not line.startswith("#")
    ]
    return [bytes.fromhex(h) for d, h in rows if d == "in"]


def _dexcom_sim_captures() -> Iterator[bytes]:
    from drivers.cgm.dexcom_receiver.frames import build_frame
    from drivers.cgm.dexcom_receiver.messages import RecordType, encode_xml_element
    from simulators.cgm.dexcom_receiver.database import MODELS, ReceiverDatabase

    sc = _scenario()
    samples = [r for r in sc.records if r.kind == "glucose"][:40]
    for model in MODELS.values():
        db = ReceiverDatabase(model)
        db.add_samples(samples)
        header = encode_xml_element(
            "FirmwareHeader", {"ProductId": model.product_id, "FirmwareVersion": "1"}
        )
        out = bytearray(build_frame(1, header))
        for rtype in (RecordType.MANUFACTURING_DATA, RecordType.EGV_DATA, RecordType.METER_DATA):
            pages = db.page_range(rtype)
            if pages is not None:
                for n in range(pages.first, min(pages.last, pages.first + 1) + 1):
                    out += build_frame(1, db.page(rtype, n))
        yield bytes(out)


def _dexcom_seeds() -> Iterator[bytes]:
    answers = _g4_answers()
    if answers:
        yield b"".join(answers)
        yield from answers
    yield from _dexcom_sim_captures()


def _tandem_seeds() -> Iterator[bytes]:
    from datetime import timedelta

    from drivers.pumps.tandem import messages as m
    from drivers.pumps.tandem.events import encode_event
    from drivers.pumps.tandem.frames import build_frame
    from simulators.pumps.tandem.history import build_log, default_profiles, generate

    start = datetime(2025, 3, 1)
    log = build_log(generate(5, start=start, days=1), until=start + timedelta(hours=23))
    events = log.events[:120]
    profiles = default_profiles()
    version = m.VersionInfo("105900", "1.0", 90_000_123, 1_004_000, "A", 90_000_124, "B", 1_004_000)
    head = build_frame(m.Response.VERSION_TE, version.encode(), 541_000_000)
    head += build_frame(
        m.Response.LOG_SIZE_TE, m.LogSize(len(events), events[0].seq, events[-1].seq).encode()
    )
    head += build_frame(
        m.Response.IDP_LIST_TE, m.IdpList(len(profiles), tuple(sorted(profiles))).encode()
    )
    for profile in profiles.values():
        head += build_frame(m.Response.IDP_TE, profile.encode(), 541_000_000)
    body = b"".join(
        build_frame(m.Response.LOG_ENTRY_TE, encode_event(e).encode(), e.timestamp) for e in events
    )
    yield head + body
    yield head + body[:2000]
    yield build_frame(m.Response.COMMAND_ACK, m.CommandAck(0x18, 0).encode())


def _ble_seeds(kind: str) -> Iterator[bytes]:
    from drivers.ble import uuids
    from drivers.transports.ble import encode_capture
    from simulators.ble import from_scenario as fs

    sc = _scenario()
    peripherals: list[Any]
    if kind == "cgms":
        peripherals = fs.virtual_cgms(sc)[:1] + fs.virtual_cgms(sc, e2e_crc=False)[:1]
        statics = [
            uuids.CGM_FEATURE,
            uuids.CGM_STATUS,
            uuids.CGM_SESSION_START_TIME,
            uuids.CGM_SESSION_RUN_TIME,
        ]
    elif kind == "gls":
        peripherals = [fs.virtual_meter(sc), fs.virtual_meter(sc, molar=True)]
        statics = [uuids.GLUCOSE_FEATURE]
    else:
        peripherals = [fs.virtual_pump(sc), fs.virtual_pump(sc, e2e=False)]
        statics = [uuids.IDD_FEATURES, uuids.IDD_STATUS, uuids.IDD_ANNUNCIATION_STATUS]
    for p in peripherals:
        entries = [("R", u, p.read_value(u, paired=True)) for u in statics if u in p.chars]
        notes = [("N", u, v) for _key, values in p.stored() for u, v in values]
        yield encode_capture(entries + notes[:40])
        yield encode_capture(entries + notes[-8:])


def _ble_field_seeds() -> Iterator[bytes]:
    from drivers.ble import racp
    from drivers.ble.date_time import ZonedLocalTime, encode_date_time, encode_zoned
    from drivers.ble.e2e_crc import append_crc
    from drivers.ble.sfloat import encode_float, encode_sfloat

    when = datetime(2025, 3, 30, 2, 30)
    for which, dialect in ((0, racp.SIG), (1, racp.IDD)):
        for resp in (
            racp.NumberResponse(12),
            racp.CodeResponse(racp.Op.REPORT, racp.Result.SUCCESS),
        ):
            yield bytes([which]) + racp.encode_response(resp, dialect)
    for which, dialect in ((2, racp.SIG), (3, racp.IDD)):
        for req in (
            racp.report(racp.Operator.ALL),
            racp.report(racp.Operator.GE, 0x01, 1234),
            racp.report_number(racp.Operator.LAST),
        ):
            yield bytes([which]) + racp.encode_request(req, dialect)
    yield bytes([4]) + append_crc(b"\x10\x20\x30\x40")
    fields = (
        b"\x00"
        + encode_date_time(when)
        + b"\x01"
        + encode_zoned(ZonedLocalTime(when, 60, 60))
        + b"\x02"
        + encode_sfloat(5.5).to_bytes(2, "little")
        + b"\x03"
        + encode_float(-0.125).to_bytes(4, "little")
    )
    yield bytes([5]) + fields


def seeds(target: str) -> list[bytes]:
    """Valid inputs for ``target``, built from the simulators' encoders and captures."""
    if target == "export":
        return list(_export_seeds())
    if target in ("dexcom-frames", "dexcom-capture"):
        return list(_dexcom_seeds())
    if target in ("tandem-frames", "tandem-capture"):
        return list(_tandem_seeds())
    if target in ("ble-cgms", "ble-gls", "ble-ids"):
        return list(_ble_seeds(target[4:]))
    if target == "ble-fields":
        return list(_ble_field_seeds())
    if target == "ble-capture":
        return [s for kind in ("cgms", "gls", "ids") for s in _ble_seeds(kind)]
    raise KeyError(target)


def write_corpus(target: str, directory: Path, real: Path | None = None) -> int:
    """Write the seeds of ``target`` into ``directory`` (named by content hash)."""
    import hashlib

    directory.mkdir(parents=True, exist_ok=True)
    items = seeds(target)
    if target == "export" and real is not None:
        items += list(real_export_seeds(real))
    for data in items:
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return len(items)


# -- the script --------------------------------------------------------------------------


def _import_drivers() -> None:
    """Import every module under ``drivers/`` (so that it can be instrumented)."""
    import importlib
    import pkgutil

    import drivers

    for info in pkgutil.walk_packages(drivers.__path__, "drivers."):
        importlib.import_module(info.name)


def main(argv: list[str]) -> int:
    """``fuzz_targets.py TARGET [--real DIR] [libFuzzer args...]``; ``--list`` lists."""
    if len(argv) < 2 or argv[1] in ("-h", "--help", "--list"):
        for t in TARGETS.values():
            print(f"{t.name:16} {t.doc.splitlines()[0]}")
        return 0 if len(argv) >= 2 else 2
    target = argv[1]
    if target not in TARGETS:
        print(f"unknown target {target!r}; one of: {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    rest = argv[2:]
    real: Path | None = None
    if "--real" in rest:
        i = rest.index("--real")
        real = Path(rest[i + 1])
        del rest[i : i + 2]
    import atheris  # type: ignore[import-untyped]  # only needed here: the Hypothesis tests import this module without it

    with atheris.instrument_imports(include=["drivers"]):
        _import_drivers()  # coverage feedback from drivers/ only (not simulators, stdlib)
    # Positional files mean "replay these inputs". Otherwise the seeds are written into
    # the first corpus directory given (created if missing), by default
    # fuzz/corpus/<target>/, which libFuzzer then grows. -merge runs are left alone.
    positional = [a for a in rest if not a.startswith("-")]
    replay = any(Path(a).is_file() for a in positional)
    if not replay and not any(a.startswith("-merge") for a in rest):
        if not positional:
            rest.append(str(CORPUS / target))
            positional = rest[-1:]
        write_corpus(target, Path(positional[0]), real)
    run = TARGETS[target].run

    def one_input(data: bytes) -> None:
        with contextlib.suppress(*OUR_ERRORS):
            run(data)

    atheris.Setup([argv[0], *rest], one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
