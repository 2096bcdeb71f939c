"""Import benchmark: parse + normalize + store of 90-day exports vs pandas.read_csv.

Data: one synthetic patient (``simulators.patient``, preset ``well_controlled``, seed
fixed) over 90 days, written by the portal-layout writers as a Dexcom Clarity CSV (its
CGM) and a Medtronic CareLink EU CSV (';', decimal comma, sections: the pump's boluses
with calculator data, basal, prime/rewind and settings, fingersticks, and the sensor
glucose, as a 780G export holds them). For each file we time, in one run on this
machine:

* glucogate end to end: content detection, decoding, parsing, normalizing, the time
  base, and the store transaction into a fresh SQLite file (``Store.ingest``);
* pandas: ``pandas.read_csv`` of the same bytes (for CareLink, of the sensor section,
  the largest, with the right separator and decimal), i.e. tokenizing only.

Goal (issue 3): <= 0.5 s end to end per file. Run: ``make bench`` or
``.venv/bin/python bench/import_bench.py`` (needs the ``bench`` extra for pandas).
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd

from drivers._core.timebase import resolve_times
from drivers.exports import read_export
from gateway.store.sqlite import Store
from simulators.exports.carelink import write_modern
from simulators.exports.dexcom_clarity import write_clarity
from simulators.patient.presets import well_controlled
from simulators.patient.scenario import Scenario

TZ = "Europe/Madrid"
DAYS = 90
REPEATS = 5


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def glucogate_import(path: Path, workdir: Path) -> int:
    export = read_export(path)
    records = resolve_times(export.records, TZ)
    db = workdir / f"bench-{time.perf_counter_ns()}.sqlite"
    with Store(db) as store:
        patient = store.patient("bench", "p-benchaaaaaaaaaaaa", TZ)
        store.ingest(patient, records, raw=export.raw, fmt=export.format, devices={})
    db.unlink()
    return len(records)


def pandas_read(data: bytes, **kwargs: object) -> int:
    return len(pd.read_csv(io.BytesIO(data), **kwargs))  # type: ignore[call-overload]


def main() -> None:
    scenario = Scenario(well_controlled(), days=DAYS, seed=90, tz=TZ, start=date(2026, 1, 5))
    timeline = scenario.records
    cgm = [r for r in timeline if r.device_id == scenario.cgm_id]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clarity = work / "clarity.csv"
        clarity.write_bytes(write_clarity(cgm))
        carelink = work / "carelink.csv"
        carelink.write_bytes(write_modern(timeline, locale="eu"))
        rows = []
        for name, path, pandas_kwargs in (
            ("Dexcom Clarity CSV", clarity, {"encoding": "utf-8-sig"}),
            (
                "CareLink EU CSV",
                carelink,
                {
                    "sep": ";",
                    "decimal": ",",
                    "skiprows": 6,
                    "encoding": "utf-8-sig",
                    "on_bad_lines": "skip",
                    "engine": "c",
                    "low_memory": False,
                },
            ),
        ):
            data = path.read_bytes()
            n = glucogate_import(path, work)
            ours = best_of(lambda p=path: glucogate_import(p, work))
            theirs = best_of(lambda d=data, k=pandas_kwargs: pandas_read(d, **k))
            rows.append((name, len(data), n, ours, theirs))
    print(f"import benchmark: {DAYS} days, one synthetic patient, best of {REPEATS} runs")
    print(
        f"{'file':<20}{'bytes':>10}{'records':>9}{'glucogate s':>13}{'pandas s':>10}"
        f"{'ratio':>8}  goal <= 0.5 s"
    )
    for name, size, n, ours, theirs in rows:
        verdict = "met" if ours <= 0.5 else "MISSED"
        print(
            f"{name:<20}{size:>10}{n:>9}{ours:>13.3f}{theirs:>10.3f}"
            f"{ours / theirs:>7.1f}x  {verdict}"
        )
    print(
        f"(median of the two ratios: {statistics.median(r[3] / r[4] for r in rows):.1f}x;"
        " pandas only tokenizes, glucogate also normalizes, resolves time and stores)"
    )


if __name__ == "__main__":
    main()
