"""The benchmark's hand-written feature table: three engines, one answer, checked against the lake."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from bench import feature_table
from bench.harness import customers_for, parse_count, pipeline_build, prepare_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    home = tmp_path_factory.mktemp("features")
    summary = prepare_shop(home, customers=300, days=20, seed=7, start=date(2025, 3, 1))
    tables = {}
    for engine in feature_table.ENGINES:
        out = home / f"{engine}.parquet"
        feature_table.compute(engine, home / "lake", summary["last"], out)
        tables[engine] = pl.read_parquet(out)
    return home, summary, tables


def test_engines_agree(shop):
    _, _, tables = shop
    assert feature_table.disagreements(tables) == []
    assert tables["duckdb"].height > 250


def test_counts_match_the_lake(shop):
    home, summary, tables = shop
    events = pl.read_parquet(home / "lake" / "events" / "*" / "*.parquet", hive_partitioning=True)
    features = tables["duckdb"]
    assert features["events"].sum() == events.height == summary["events"]
    last7 = events.filter(pl.col("event_date") > summary["last"] - timedelta(days=7)).height
    assert features["events_7d"].sum() == last7
    assert features["customer_id"].n_unique() == features.height


def test_disagreements_are_reported(shop):
    _, _, tables = shop
    changed = tables["polars"].with_columns(pl.col("frequency") + 1)
    assert feature_table.disagreements({"duckdb": tables["duckdb"], "polars": changed}) == [
        "polars.frequency differs from duckdb.frequency"
    ]


def test_sizes():
    assert parse_count("10M") == 10_000_000
    assert parse_count("1.5m") == 1_500_000
    assert parse_count("500k") == 500_000
    assert customers_for(10_000_000, 30) == round(10_000_000 / (30 * 2.06))
    with pytest.raises(ValueError):
        parse_count("ten")


def test_the_daily_build_can_be_narrowed_to_one_mart(tmp_path):
    day = date(2025, 3, 20)
    whole = pipeline_build(tmp_path, day, day)
    narrowed = pipeline_build(tmp_path, day, day, only="+customer_features")
    assert whole[whole.index("--select") + 1] == "tag:partitioned"
    assert narrowed[narrowed.index("--select") + 1] == "+customer_features,tag:partitioned"  # intersection
    assert [a for a in whole if a != "tag:partitioned"] == [a for a in narrowed if "customer_features" not in a]
