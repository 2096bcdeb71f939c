"""The glucose series written through influxdb-client into a real VictoriaMetrics."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.timeseries.influx import InfluxConfig, TimeSeriesError, write_series
from tests.gateway.factories import cgm
from tests.harness.services import VictoriaMetrics, free_port
from tests.harness.tsdb import export_series

pytestmark = pytest.mark.services


def test_series_reads_back_with_values_times_and_flags(tsdb: VictoriaMetrics) -> None:
    high = replace(cgm(2, None), special="high", reporting_limit_mgdl=400.0)
    records = [cgm(0, 101.0), cgm(1, 99.5), high, cgm(3, 140.0)]
    n = write_series(
        InfluxConfig(url=tsdb.url, batch_size=2),
        records,
        site="site-a",
        pseudonym="p-readbackaaaaaaaaa",
    )
    assert n == 4
    tsdb.flush()
    numeric = export_series(tsdb.url, '{__name__="glucose_mgdl",patient="p-readbackaaaaaaaaa"}')
    assert len(numeric) == 1
    assert numeric[0]["metric"]["sample_type"] == "cgm"
    assert numeric[0]["values"] == [101.0, 99.5, 140.0]
    # 2024-03-01T08:00:00Z and +5, +15 minutes, in milliseconds
    assert numeric[0]["timestamps"] == [1709280000000, 1709280300000, 1709280900000]
    flagged = export_series(
        tsdb.url, '{__name__="glucose_limit_mgdl",patient="p-readbackaaaaaaaaa"}'
    )
    assert [(s["metric"]["special"], s["values"], s["timestamps"]) for s in flagged] == [
        ("high", [400.0], [1709280600000])
    ]


def test_unreachable_server_raises_a_named_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TimeSeriesError, match="cannot write to"):
        write_series(InfluxConfig(url=url), [cgm(0)], site="s", pseudonym="p-aaaaaaaaaaaaaaaa")


def test_insulin_basal_and_carbs_series_read_back(tsdb: VictoriaMetrics) -> None:
    from datetime import UTC, datetime, timedelta

    from drivers._core.records import (
        BasalSegment,
        Bolus,
        BolusCalculation,
        Food,
        Injection,
    )

    t0 = datetime(2024, 3, 1, 12, 0)

    def at(minutes: int) -> dict[str, object]:
        local = t0 + timedelta(minutes=minutes)
        return {"device_time": local, "time_utc": local.replace(tzinfo=UTC), "utc_offset_s": 0}

    pump, pen = "tandem:tslim-x2:111", "clarity:app:222"
    records = [
        BasalSegment(
            device_id=pump,
            source_index="b1",
            basal_type="scheduled",
            rate_u_per_h=0.85,
            duration_s=3600,
            **at(0),
        ),
        BasalSegment(
            device_id=pump,
            source_index="b2",
            basal_type="temp",
            rate_u_per_h=0.4,
            duration_s=1800,
            percent=50.0,
            **at(60),
        ),
        Bolus(
            device_id=pump,
            source_index="x1",
            subtype="normal",
            programmed_u=4.5,
            delivered_u=4.0,
            calculation=BolusCalculation(carbs_g=45.0, recommended_total_u=4.5),
            **at(5),
        ),
        Food(device_id=pump, source_index="f1", carbs_g=45.0, **at(5)),
        # two long-acting injections logged in the same minute (as in a real Clarity
        # export): both must survive
        Injection(device_id=pen, source_index="i1", insulin_u=3.0, insulin_type="long", **at(10)),
        Injection(device_id=pen, source_index="i2", insulin_u=29.0, insulin_type="long", **at(10)),
    ]
    n = write_series(
        InfluxConfig(url=tsdb.url), records, site="site-a", pseudonym="p-pumpseriesaaaaaaa"
    )
    assert n == 6
    tsdb.flush()
    sel = 'patient="p-pumpseriesaaaaaaa"'
    rates = export_series(tsdb.url, f'{{__name__="basal_rate_u_per_h",{sel}}}')
    by_type = {s["metric"]["basal_type"]: (s["values"], s["timestamps"]) for s in rates}
    start_ms = 1709294400000  # 2024-03-01T12:00:00Z
    assert by_type == {
        "scheduled": ([0.85], [start_ms]),
        "temp": ([0.4], [start_ms + 3_600_000]),
    }
    delivered = export_series(tsdb.url, f'{{__name__="insulin_delivered_u",{sel}}}')
    by_source = {s["metric"]["source"]: (s["values"], s["timestamps"]) for s in delivered}
    assert by_source["pump"] == ([4.0], [start_ms + 300_000])
    assert by_source["pen"] == ([3.0, 29.0], [start_ms + 600_000, start_ms + 600_001])
    recommended = export_series(tsdb.url, f'{{__name__="insulin_recommended_u",{sel}}}')
    assert [s["values"] for s in recommended] == [[4.5]]
    carbs = export_series(tsdb.url, f'{{__name__="carbs_g",{sel}}}')
    assert [s["values"] for s in carbs] == [[45.0]]
