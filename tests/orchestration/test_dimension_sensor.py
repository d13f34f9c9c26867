"""The dimension-arrival sensor: which files count as a delivery, and the materializations it records."""

import os
import time
from datetime import datetime, timedelta, timezone

import dagster as dg

from orchestration.defs.ingest.dimension_sensor import (
    arrivals,
    decode_dimension_cursor,
    encode_dimension_cursor,
    landing_dimensions_sensor,
)
from shop.home import Home

NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
WEEK = timedelta(days=7)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1e9)


def test_an_arrival_is_a_new_or_rewritten_file_written_within_the_window():
    recent, old = _ns(NOW - timedelta(hours=1)), _ns(NOW - timedelta(days=30))
    seen = {"customers-001.csv": (10, recent)}
    assert arrivals(seen, dict(seen), NOW, WEEK) == []
    assert arrivals(seen, {**seen, "customers-002.csv": (5, recent)}, NOW, WEEK) == ["customers-002.csv"]
    assert arrivals(seen, {"customers-001.csv": (11, recent + 1)}, NOW, WEEK) == ["customers-001.csv"]
    # first sight of an old landing zone: the files are not a delivery, so a stale dimension stays stale
    assert arrivals({}, {"customers-000.csv": (5, old)}, NOW, WEEK) == []


def test_the_cursor_round_trips():
    seen = {"customers": {"a.csv": (1, 2)}, "products": {}}
    assert decode_dimension_cursor(encode_dimension_cursor(seen)) == seen
    assert decode_dimension_cursor(None) == {}


def _tick(cursor):
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        return landing_dimensions_sensor(context), context.cursor


def test_the_sensor_records_each_delivery_once_as_a_landing_materialization(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENTS_HOME", str(tmp_path))
    home = Home(tmp_path)
    nothing, cursor = _tick(None)
    assert isinstance(nothing, dg.SkipReason)

    old = home.landing / "customers" / "customers-000.csv"
    old.parent.mkdir(parents=True)
    old.write_text("customer_id\n1\n")
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    (home.landing / "products").mkdir()
    (home.landing / "products" / "products-001.csv").write_text("product_id\n1\n")

    result, cursor = _tick(cursor)
    assert isinstance(result, dg.SensorResult) and not result.run_requests
    [event] = result.asset_events
    assert event.asset_key == dg.AssetKey(["landing", "products"])
    assert event.metadata["new_files"].value == ["products-001.csv"]

    again, cursor = _tick(cursor)
    assert isinstance(again, dg.SkipReason)

    (home.landing / "customers" / "customers-001.csv").write_text("customer_id\n2\n")
    result, _ = _tick(cursor)
    assert [e.asset_key for e in result.asset_events] == [dg.AssetKey(["landing", "customers"])]
    assert result.asset_events[0].metadata["new_files"].value == ["customers-001.csv"]
