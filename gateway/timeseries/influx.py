"""Glucose series to an InfluxDB-API server through influxdb-client (optional).

Measurement ``glucose``; tags ``site``, ``patient`` (pseudonym), ``sample_type``
(cgm/smbg/calibration) and, for out-of-range readings, ``special`` (high/low);
fields ``mgdl`` for numeric readings, and ``limit_mgdl`` -- the sensor's reporting
limit -- for High/Low readings, which carry no ``mgdl`` value (never faked).
Written in batches with the synchronous write API, so a failed batch raises.
"""

from __future__ import annotations

from collections.abc import Sequence

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError

from drivers._core.records import GlucoseSample, Record
from gateway.timeseries.settings import InfluxConfig

__all__ = ["InfluxConfig", "TimeSeriesError", "glucose_points", "write_glucose"]


class TimeSeriesError(Exception):
    """The time-series server refused or could not be reached."""


def glucose_points(records: Sequence[Record], *, site: str, pseudonym: str) -> list[Point]:
    """One point per glucose sample with a resolved UTC time."""
    points: list[Point] = []
    for rec in records:
        if not isinstance(rec, GlucoseSample) or rec.time_utc is None:
            continue
        point = (
            Point("glucose")
            .tag("site", site)
            .tag("patient", pseudonym)
            .tag("sample_type", rec.sample_type)
            .time(rec.time_utc, WritePrecision.S)
        )
        if rec.glucose_mgdl is not None:
            point = point.field("mgdl", float(rec.glucose_mgdl))
        elif rec.special is not None and rec.reporting_limit_mgdl is not None:
            point = point.tag("special", rec.special).field(
                "limit_mgdl", float(rec.reporting_limit_mgdl)
            )
        else:
            continue
        points.append(point)
    return points


def write_glucose(
    config: InfluxConfig, records: Sequence[Record], *, site: str, pseudonym: str
) -> int:
    """Write the glucose series in batches; returns the number of points written."""
    points = glucose_points(records, site=site, pseudonym=pseudonym)
    try:
        with InfluxDBClient(url=config.url, token=config.token, org=config.org) as client:
            writer = client.write_api(write_options=SYNCHRONOUS)
            for start in range(0, len(points), config.batch_size):
                writer.write(
                    bucket=config.bucket,
                    record=points[start : start + config.batch_size],
                    write_precision=WritePrecision.S,
                )
    except (ApiException, HTTPError, OSError) as exc:
        raise TimeSeriesError(f"cannot write to {config.url}: {exc}") from exc
    return len(points)
