"""Glucose, insulin, basal and carbohydrate series to an InfluxDB-API server through
influxdb-client (optional).

Every point has the tags ``site`` and ``patient`` (the site-scoped pseudonym, never a
name or record number); tags are low-cardinality labels, values are fields:

==============  ==========================================  ===============================
measurement     extra tags                                  fields
==============  ==========================================  ===============================
``glucose``     ``sample_type`` (cgm/smbg/calibration),     ``mgdl``; for High/Low readings
                ``special`` (high/low, only for those)      ``limit_mgdl`` (the sensor's
                                                            reporting limit), never a faked
                                                            ``mgdl``
``insulin``     ``source`` (pump/pen), ``subtype`` (pump:   ``delivered_u``; pump boluses
                normal/extended/dual; pen: rapid/long/...)  also ``programmed_u``,
                                                            ``extended_delivered_u`` (> 0),
                                                            ``recommended_u`` (calculator)
``basal``       ``basal_type`` (scheduled/temp/suspend/     ``rate_u_per_h``, ``duration_s``
                automated)                                  (when known); at segment start
``carbs``       ``source`` (the record's device kind)       ``g``
==============  ==========================================  ===============================

Times are the records' UTC instants at millisecond precision. Two points of one series
at the same instant would overwrite each other (e.g. two pen injections logged in the
same minute, which real Clarity exports contain): the second and later ones are moved
1 ms later each, so nothing is lost and the order is kept. Written in batches with the
synchronous write API, so a failed batch raises.
"""

from __future__ import annotations

from collections.abc import Sequence

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError

from drivers._core.records import BasalSegment, Bolus, Food, GlucoseSample, Injection, Record
from gateway.timeseries.settings import InfluxConfig

__all__ = ["InfluxConfig", "TimeSeriesError", "series_points", "write_series"]


class TimeSeriesError(Exception):
    """The time-series server refused or could not be reached."""


def series_points(records: Sequence[Record], *, site: str, pseudonym: str) -> list[Point]:
    """Points of every record with a resolved UTC time that has a series (see module)."""
    points: list[Point] = []
    taken: dict[tuple[object, ...], int] = {}
    for rec in records:
        if rec.time_utc is None:
            continue
        made = _point(rec)
        if made is None:
            continue
        measurement, tags, fields = made
        point = Point(measurement).tag("site", site).tag("patient", pseudonym)
        for key, value in tags:
            point = point.tag(key, value)
        for key, number in fields:
            point = point.field(key, number)
        ms = int(rec.time_utc.timestamp() * 1000)
        series = (measurement, tags, ms)
        bump = taken.get(series, 0)  # same series, same instant: 1 ms later each
        taken[series] = bump + 1
        points.append(point.time(ms + bump, WritePrecision.MS))
    return points


_Made = tuple[str, tuple[tuple[str, str], ...], list[tuple[str, float]]]


def _point(rec: Record) -> _Made | None:
    if isinstance(rec, GlucoseSample):
        tags: tuple[tuple[str, str], ...] = (("sample_type", rec.sample_type),)
        if rec.glucose_mgdl is not None:
            return "glucose", tags, [("mgdl", float(rec.glucose_mgdl))]
        if rec.special is not None and rec.reporting_limit_mgdl is not None:
            tags += (("special", rec.special),)
            return "glucose", tags, [("limit_mgdl", float(rec.reporting_limit_mgdl))]
        return None
    if isinstance(rec, Bolus):
        fields = [
            ("delivered_u", float(rec.delivered_u)),
            ("programmed_u", float(rec.programmed_u)),
        ]
        if rec.extended_delivered_u > 0:
            fields.append(("extended_delivered_u", float(rec.extended_delivered_u)))
        calc = rec.calculation
        if calc is not None and calc.recommended_total_u is not None:
            fields.append(("recommended_u", float(calc.recommended_total_u)))
        return "insulin", (("source", "pump"), ("subtype", rec.subtype)), fields
    if isinstance(rec, Injection):
        tags = (("source", "pen"), ("subtype", rec.insulin_type))
        return "insulin", tags, [("delivered_u", float(rec.insulin_u))]
    if isinstance(rec, BasalSegment):
        fields = [("rate_u_per_h", float(rec.rate_u_per_h))]
        if rec.duration_s is not None:
            fields.append(("duration_s", float(rec.duration_s)))
        return "basal", (("basal_type", rec.basal_type),), fields
    if isinstance(rec, Food) and rec.carbs_g is not None:
        return "carbs", (("source", rec.device_id.split(":", 1)[0]),), [("g", float(rec.carbs_g))]
    return None


def write_series(
    config: InfluxConfig, records: Sequence[Record], *, site: str, pseudonym: str
) -> int:
    """Write every series of ``records`` in batches; returns the number of points."""
    points = series_points(records, site=site, pseudonym=pseudonym)
    try:
        with InfluxDBClient(url=config.url, token=config.token, org=config.org) as client:
            writer = client.write_api(write_options=SYNCHRONOUS)
            for start in range(0, len(points), config.batch_size):
                writer.write(
                    bucket=config.bucket,
                    record=points[start : start + config.batch_size],
                    write_precision=WritePrecision.MS,
                )
    except (ApiException, HTTPError, OSError) as exc:
        raise TimeSeriesError(f"cannot write to {config.url}: {exc}") from exc
    return len(points)
