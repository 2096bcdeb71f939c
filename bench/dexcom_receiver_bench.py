"""Dexcom receiver benchmark: a 90-day download and incremental syncs, over a real pty.

Data: one synthetic CGM trace (simulators/cgm_trace, seed fixed, 90 days, ~25,800
readings and a daily calibration) in a virtual receiver (simulators/cgm/dexcom_receiver),
read by the driver through pyserial on the pseudo-terminal, exactly as a kiosk reads
``/dev/ttyACM0``. For each receiver model (G4: 13-byte EGVs, G6: 25-byte EGVs) and for
1 and 4 pages per READ_DATABASE_PAGES request we time:

* full: identity + every history page, decoded and normalized (``read_history()``);
* +5 min: one new reading, then ``read_history(since=cursor)`` (the home hub's poll);
* +1 day: a day of new readings, then ``read_history(since=cursor)``;
* nothing new: ``read_history(since=cursor)`` again.

Round trips, bytes each way and wall time are printed; a real receiver adds its own
answer latency per round trip (tidepool allows 1 s; a few ms is typical on USB), so the
round-trip count is the number that transfers to hardware. Run:
``.venv/bin/python bench/dexcom_receiver_bench.py``.
"""

from __future__ import annotations

import time
from datetime import date

from drivers._core.capabilities import Cursor
from drivers._core.records import GlucoseSample
from drivers.cgm.dexcom_receiver import DexcomReceiver
from simulators.cgm.dexcom_receiver import G4, G6, ReceiverDatabase, ReceiverModel, VirtualReceiver
from simulators.cgm_trace import cgm_trace

DAYS = 90
TZ = "Europe/Madrid"


def _row(
    label: str, rx: DexcomReceiver, before: tuple[int, int, int], seconds: float, records: int
) -> None:
    trips = rx.round_trips - before[0]
    bytes_in = rx.transport.bytes_in - before[1]
    bytes_out = rx.transport.bytes_out - before[2]
    print(
        f"  {label:<12} {records:>7} records {trips:>6} round trips "
        f"{bytes_in:>10,} B in {bytes_out:>7,} B out {seconds * 1000:>9.1f} ms"
    )


def _mark(rx: DexcomReceiver) -> tuple[int, int, int]:
    return rx.round_trips, rx.transport.bytes_in, rx.transport.bytes_out


def run(model: ReceiverModel, pages_per_read: int, series: list[GlucoseSample]) -> None:
    """One model / request size: full download, then three incremental syncs."""
    split_day = len(series) - 288 - 10
    db = ReceiverDatabase(model)
    db.add_samples(series[:split_day])
    print(f"{model.product_id}, {pages_per_read} page(s) per request")
    cursor: Cursor | None = None
    with (
        VirtualReceiver(db) as virtual,
        DexcomReceiver(virtual.port, pages_per_read=pages_per_read) as rx,
    ):
        for label, new in (
            ("full", None),
            ("+1 day", series[split_day:-1]),
            ("+5 min", series[-1:]),
            ("nothing new", []),
        ):
            if new is not None:
                db.add_samples(new)
            before, start = _mark(rx), time.perf_counter()
            batch = rx.read_history(since=cursor)
            cursor = batch.cursor
            _row(label, rx, before, time.perf_counter() - start, len(batch.records))
        assert not virtual.violations


def main() -> None:
    """Run every combination and print the table."""
    series = cgm_trace(days=DAYS, seed=90, tz=TZ, start=date(2026, 1, 5)).records
    print(f"{DAYS}-day trace: {len(series)} samples")
    for model in (G4, G6):
        for pages in (1, 4):
            run(model, pages, series)


if __name__ == "__main__":
    main()
