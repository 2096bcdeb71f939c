"""The glucose series written through influxdb-client into a real VictoriaMetrics."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.timeseries.influx import InfluxConfig, TimeSeriesError, write_glucose
from tests.gateway.factories import cgm
from tests.harness.services import VictoriaMetrics, free_port
from tests.harness.tsdb import export_series

pytestmark = pytest.mark.services


def test_series_reads_back_with_values_times_and_flags(tsdb: VictoriaMetrics) -> None:
    high = replace(cgm(2, None), special="high", reporting_limit_mgdl=400.0)
    records = [cgm(0, 101.0), cgm(1, 99.5), high, cgm(3, 140.0)]
    n = write_glucose(
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
        write_glucose(InfluxConfig(url=url), [cgm(0)], site="s", pseudonym="p-aaaaaaaaaaaaaaaa")
