"""Round trips: records -> simulators.exports.glooko (ZIP of CSVs) -> importer."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from drivers._core.records import (
    BasalSegment,
    Bolus,
    BolusCalculation,
    DeviceEvent,
    Food,
    GlucoseSample,
    Record,
)
from drivers.exports import glooko
from simulators.exports.glooko import write_glooko_files, write_glooko_zip

T0 = datetime(2026, 1, 1, 7, 0)


def _records() -> list[Record]:
    out: list[Record] = []
    for i in range(5):
        t = T0 + timedelta(minutes=5 * i)
        out.append(
            GlucoseSample(
                device_id="glooko:cgm:g7abc",
                source_index=f"cgm:{t.isoformat()}:{110 + i}",
                device_time=t,
                sample_type="cgm",
                glucose_mgdl=float(110 + i),
            )
        )
    t = T0 + timedelta(minutes=7, seconds=30)
    out.append(
        GlucoseSample(
            device_id="glooko:meter:m1",
            source_index=f"bg:{t.isoformat()}:131",
            device_time=t,
            sample_type="smbg",
            glucose_mgdl=131.0,
            annotations=("bg/meter-linked",),
        )
    )
    t = T0 + timedelta(hours=1)
    out.append(
        Bolus(
            device_id="glooko:pump:p1",
            source_index=f"bolus:{t.isoformat()}:5.5",
            device_time=t,
            subtype="dual",
            programmed_u=4.5,
            delivered_u=4.5,
            extended_programmed_u=1.0,
            extended_delivered_u=1.0,
            calculation=BolusCalculation(carbs_g=45.0, bg_mgdl=140.0, carb_ratio_g_per_u=10.0),
        )
    )
    t = T0 + timedelta(hours=2)
    out.append(
        BasalSegment(
            device_id="glooko:pump:p1",
            source_index=f"basal:{t.isoformat()}:0.75",
            device_time=t,
            basal_type="temp",
            rate_u_per_h=0.75,
            duration_s=1800,
            percent=50.0,
        )
    )
    t = T0 + timedelta(hours=3)
    out.append(
        Food(
            device_id="glooko:pump:p1",
            source_index=f"carbs:{t.isoformat()}:20",
            device_time=t,
            carbs_g=20.0,
        )
    )
    out.append(
        DeviceEvent(
            device_id="glooko:pump:p1",
            source_index=f"alarm:{t.isoformat()}:site change",
            device_time=t,
            event_type="site-change",
            detail="Site Change",
        )
    )
    return sorted(out, key=lambda r: (r.device_time, r.kind, r.source_index))


@pytest.mark.parametrize("units", ["mg/dl", "mmol/l"])
def test_zip_round_trip(units: str) -> None:
    records = _records()
    result = glooko.parse_zip(write_glooko_zip(records, units=units), "export.zip")
    assert not result.skipped
    got = [r.to_dict() for r in result.records]
    want = [r.to_dict() for r in records]
    if units == "mg/dl":
        assert got == want
    else:  # one-decimal mmol/L: values within 1 mg/dL, everything else equal
        for g, w in zip(got, want, strict=True):
            if g["kind"] == "glucose" or (g["kind"] == "bolus" and g["calculation"]):
                continue
            assert g == w
        assert len(got) == len(want)


def test_each_csv_alone() -> None:
    for name, data in write_glooko_files(_records()).items():
        text = data.decode()
        assert glooko.sniff(text), name
        assert glooko.parse(text, name).records
