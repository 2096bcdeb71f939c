"""Round trips: records -> simulators.exports.tandem (t:connect layout) -> importer."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from drivers._core.records import BasalSegment, Bolus, BolusCalculation, GlucoseSample, Record
from drivers.exports import tandem
from simulators.exports.tandem import write_tconnect
from tests.fixtures.make_golden_other import read

T0 = datetime(2021, 4, 1, 0, 1, 33)
DEV = "tandem:tslim-x2:11111111"


def _records() -> list[Record]:
    out: list[Record] = []
    for i in range(6):
        t = T0 + timedelta(minutes=5 * i)
        out.append(
            GlucoseSample(
                device_id=DEV,
                source_index=f"egv:{t.isoformat()}:{150 + i}",
                device_time=t,
                sample_type="cgm",
                glucose_mgdl=float(150 + i),
            )
        )
    t = T0 + timedelta(minutes=2)
    out.append(
        GlucoseSample(
            device_id=DEV,
            source_index=f"bg:{t.isoformat()}:high",
            device_time=t,
            sample_type="smbg",
            glucose_mgdl=None,
            special="high",
            reporting_limit_mgdl=400.0,
            annotations=("cgm/high-out-of-range",),
        )
    )
    calc = BolusCalculation(
        carbs_g=60.0,
        bg_mgdl=180.0,
        carb_ratio_g_per_u=10.0,
        sensitivity_mgdl_per_u=40.0,
        target_low_mgdl=110.0,
        target_high_mgdl=110.0,
        iob_u=0.5,
        recommended_food_u=6.0,
        # the correction before IOB (180 - 110) / 40 = 1.75 U; the pump's total takes the
        # 0.5 U on board off the correction: 6.0 + 1.75 - 0.5 = 7.25 U (t:connect writes
        # the net 1.25 in CorrectionBolusSize)
        recommended_correction_u=1.75,
        recommended_total_u=7.25,
        user_changed=True,
    )
    out.append(
        Bolus(
            device_id=DEV,
            source_index="bolus:7001",
            device_time=T0 + timedelta(hours=1),
            subtype="normal",
            programmed_u=8.0,
            delivered_u=8.0,
            calculation=calc,
        )
    )
    out.append(
        Bolus(
            device_id=DEV,
            source_index="bolus:7002",
            device_time=T0 + timedelta(hours=2),
            subtype="dual",
            programmed_u=2.0,
            delivered_u=2.0,
            extended_programmed_u=3.0,
            extended_delivered_u=3.0,
            extended_duration_s=7200,
        )
    )
    for i, rate in enumerate((0.8, 1.1)):
        out.append(
            BasalSegment(
                device_id=DEV,
                source_index=f"basal:{(T0 + timedelta(hours=3 * i)).isoformat()}:{rate:g}",
                device_time=T0 + timedelta(hours=3 * i),
                basal_type="scheduled",
                rate_u_per_h=rate,
                duration_s=10800 if i == 0 else None,
                annotations=() if i == 0 else ("basal/unknown-duration",),
            )
        )
    return sorted(out, key=lambda r: (r.device_time, r.kind, r.source_index))


def test_round_trip() -> None:
    records = _records()
    text = write_tconnect(records).decode()
    assert tandem.sniff(text)
    result = tandem.parse(text, "t.csv")
    assert [s.reason.split(":")[0] for s in result.skipped] == ["IOB section"]
    assert [r.to_dict() for r in result.records] == [r.to_dict() for r in records]


def test_real_file_rewritten(real_fixtures: Path) -> None:
    path = real_fixtures / "tandem" / "tconnect_therapy_timeline_excerpt_from_tconnectsync_test.csv"
    first = read(path, tandem.parse).records
    again = tandem.parse(write_tconnect(first).decode(), "w").records
    assert [r.to_dict() for r in again] == [r.to_dict() for r in first]
