"""The dbt project on the synthetic shop, landed and loaded by the real simulator and loader:
data tests pass, features agree with the polars reference, and two daily windows build the same
warehouse as one."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from shop.home import Home
from tests.dbt import reference
from tests.dbt.runner import DbtHome, assert_same_tables

START = date(2025, 1, 1)
DAYS = 10


def simulated_home(path, days: int = DAYS, customers: int = 60):
    from shop.loader import load_dimensions, load_events
    from shop.simulator import generate

    home = Home(path).ensure()
    generate(home, customers=customers, days=days, start=START, seed=3)
    load_events(home, START, START + timedelta(days=days - 1))
    load_dimensions(home)
    return DbtHome(path)


@pytest.fixture(scope="module")
def shop_full(tmp_path_factory):
    dbt = simulated_home(tmp_path_factory.mktemp("shop_full"))
    dbt.run_ok("build")
    return dbt


def test_features_agree_with_the_lake(shop_full):
    events = reference.lake_events(shop_full.home)
    assignments = pl.read_parquet(shop_full.home / "lake" / "campaign_assignments" / "part-0.parquet")
    campaigns = pl.read_parquet(shop_full.home / "lake" / "campaigns" / "part-0.parquet")
    days = [START + timedelta(days=i) for i in range(DAYS)]
    expected = pl.concat([reference.features_as_of(events, assignments, campaigns, d) for d in days])
    actual = shop_full.frame(f"select {', '.join(expected.columns)} from marts.customer_features")
    key = ["customer_id", "as_of_date"]
    assert_frame_equal(actual.sort(key), expected.sort(key), check_dtypes=False, check_exact=False, rel_tol=1e-9, abs_tol=1e-6)
    assert expected["frequency"].sum() > 0 and expected["customer_id"].str.starts_with("anon:").any()


def test_two_windows_build_the_same_warehouse_as_one(tmp_path_factory, shop_full):
    dbt = simulated_home(tmp_path_factory.mktemp("shop_windows"))
    middle = START + timedelta(days=5)
    dbt.run_ok("run", window=(START.isoformat(), (middle - timedelta(days=1)).isoformat()))
    dbt.run_ok("run", window=(middle.isoformat(), (START + timedelta(days=DAYS - 1)).isoformat()))
    assert_same_tables(dbt.tables(), shop_full.tables())


LONG_DAYS = 100
KEEP_EVERY_SNAPSHOT = {"feature_retention_days": 1000}
FOLDED_MARTS = ("marts.customer_features", "marts.customer_category_features", "marts.customer_tag_features")


def test_windows_folded_over_every_horizon_equal_one_window(tmp_path_factory):
    """Later windows fold 7/30/60/90-day counts from the previous day's snapshot (+ the window's
    activity, - activity leaving a horizon): the windows below make each horizon's expiries cross
    a window boundary, and the result must equal one window over the 100 days."""
    whole = simulated_home(tmp_path_factory.mktemp("long_whole"), days=LONG_DAYS, customers=25)
    whole.run_ok("run", "--select", "+customer_features", "+customer_tag_features", window=(day(0), day(LONG_DAYS - 1)), vars=KEEP_EVERY_SNAPSHOT)
    folded = simulated_home(tmp_path_factory.mktemp("long_folded"), days=LONG_DAYS, customers=25)
    for first, last in ((0, 39), (40, 94), (95, 95), (96, LONG_DAYS - 1)):
        folded.run_ok("run", "--select", "+customer_features", "+customer_tag_features", window=(day(first), day(last)), vars=KEEP_EVERY_SNAPSHOT)
    expected, actual = whole.tables(), folded.tables()
    for table in FOLDED_MARTS:
        assert expected[table].height > 0 and table in actual
    assert_same_tables(actual, expected)


def day(offset: int) -> str:
    return (START + timedelta(days=offset)).isoformat()
