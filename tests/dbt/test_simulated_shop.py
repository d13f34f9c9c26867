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
    assert_category_picks_follow_category_features(expected)


def assert_category_picks_follow_category_features(tables: dict[str, pl.DataFrame]) -> None:
    """customer_features' top, second and trending categories, recomputed in polars from
    customer_category_features: most viewed in 90 days (ties by category), and the largest rise of the
    30-day share over the prior 60 days' (ties by category) when there were views before."""
    interest = tables["marts.customer_category_features"].with_columns(
        share_increase=pl.col("share_of_views_30d") - pl.col("share_of_views_prior_60d").fill_null(0))
    key = ["customer_id", "as_of_date"]
    viewed = (interest.filter(pl.col("views_90d") > 0).sort([*key, "views_90d", "category"], descending=[False, False, True, False])
              .group_by(key).agg(top_category=pl.col("category").first(), top_category_share=pl.col("share_of_views_90d").first(),
                                 second_category=pl.col("category").get(1, null_on_oob=True)))
    had_views_before = interest.group_by(key).agg(prior=pl.col("views_prior_60d").sum()).filter(pl.col("prior") > 0)
    trending = (interest.filter(pl.col("share_increase") > 0).join(had_views_before, on=key)
                .sort([*key, "share_increase", "category"], descending=[False, False, True, False])
                .group_by(key).agg(trending_category=pl.col("category").first(),
                                   trending_category_ratio=pl.col("trend_ratio").first()))
    columns = ["top_category", "top_category_share", "second_category", "trending_category", "trending_category_ratio"]
    features = tables["marts.customer_features"].select(*key, *columns).sort(key)
    expected = features.select(key).join(viewed, on=key, how="left").join(trending, on=key, how="left").select(features.columns)
    assert features["trending_category"].drop_nulls().len() > 0 and features["second_category"].drop_nulls().len() > 0
    assert_frame_equal(features, expected.sort(key), check_dtypes=False)


def day(offset: int) -> str:
    return (START + timedelta(days=offset)).isoformat()
