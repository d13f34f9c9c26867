"""The dbt project built on a tiny lake: structure, correctness against an independent polars
computation, identity stitching, point-in-time snapshots, window replacement and retention."""

from __future__ import annotations

import hashlib
import time
from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from orchestration.partitions import dbt_window_environment
from orchestration.resources import environment_set
from tests.dbt import lake, reference
from tests.dbt.runner import DbtHome, assert_same_tables

D1, D2, D3, D4, D5, D6 = (d.isoformat() for d in lake.DAYS)
PARTITIONED = {
    "stg_events", "int_identity_map", "int_anonymous_visitors", "int_sessions", "int_order_lines", "int_visitor_daily_activity",
    "int_visitor_category_daily", "customer_daily_activity", "customer_category_daily",
    "customer_features", "customer_category_features",
    "int_visitor_product_daily", "int_product_pairs_daily", "customer_tag_features", "customer_recommendations",
    "campaign_results",
}
# the date column each partitioned table is windowed on
WINDOW_COLUMN = {
    "staging.stg_events": "event_date", "intermediate.int_identity_map": "linked_date",
    "intermediate.int_sessions": "session_date", "intermediate.int_order_lines": "order_date",
    "intermediate.int_visitor_daily_activity": "activity_date", "intermediate.int_visitor_category_daily": "activity_date",
    "marts.customer_daily_activity": "activity_date", "marts.customer_category_daily": "activity_date",
    "marts.customer_features": "as_of_date", "marts.customer_category_features": "as_of_date",
}


def day_rows(tables: dict[str, pl.DataFrame], day: str) -> dict[str, pl.DataFrame]:
    return {
        name: frame.filter(pl.col(WINDOW_COLUMN[name]) == date.fromisoformat(day))
        for name, frame in tables.items() if name in WINDOW_COLUMN
    }


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """The whole lake built by a plain `dbt build` (no vars: the window defaults to every loaded day)."""
    dbt = DbtHome(lake.write_lake(tmp_path_factory.mktemp("full")))
    started = time.monotonic()
    dbt.result = dbt.run_ok("build")
    dbt.seconds = time.monotonic() - started
    return dbt


@pytest.fixture(scope="module")
def daily(tmp_path_factory, full):
    """The same lake built one daily window at a time, then re-run, shrunk and pruned; every
    intermediate state the tests look at is recorded here."""
    dbt = DbtHome(lake.write_lake(tmp_path_factory.mktemp("daily")))
    state = {}
    for day in (D1, D2, D3, D4, D5, D6):
        dbt.run_ok("run", window=(day, day))
        if day == D2:
            state["keys_before_identify"] = dbt.frame(
                "select customer_id, activity_date from marts.customer_daily_activity "
                "where customer_id in ('anon:a1', 'c2') order by 1, 2"
            )
    state["daily"] = dbt.tables()

    dbt.run_ok("run", window=(D2, D3))
    state["rerun"] = dbt.tables()

    # day 2 delivered again with fewer events: a9 and c1's day-2 activity are gone
    shrunk = [e for e in lake.all_events() if e["event_id"] not in {"a9-1", "a9-2", "c1-9", "c1-10", "c1-11", "c1-12"}]
    lake.write_events(dbt.home, shrunk, days=[lake.DAYS[1]])
    dbt.run_ok("run", window=(D2, D2))
    state["shrunk_day"] = dbt.tables()
    dbt.run_ok("run", window=(D3, D6))
    state["shrunk_all"] = dbt.tables()

    fresh = DbtHome(lake.write_lake(tmp_path_factory.mktemp("fresh"), shrunk))
    fresh.run_ok("run")
    state["fresh"] = fresh.tables()

    dbt.run_ok("run", window=(D5, D5), vars={
        "feature_retention_days": 1, "feature_anchor_every_days": 2, "feature_anchor_retention_days": 3,
    })
    state["retained"] = dbt.frame("select distinct as_of_date from marts.customer_features order by 1")
    state["retained_categories"] = dbt.frame("select distinct as_of_date from marts.customer_category_features order by 1")
    return state


def test_parse_tags_partitioned_models_and_declares_lake_sources(full):
    nodes = full.manifest.nodes.values()
    models = {n.name: n for n in nodes if n.resource_type == "model"}
    assert {name for name, n in models.items() if "partitioned" in n.tags} == PARTITIONED
    assert {n.schema for n in models.values()} == {"staging", "intermediate", "marts"}
    for name in ("customer_daily_activity", "customer_category_daily", "customer_features", "customer_category_features"):
        assert models[name].config.contract.enforced
        assert all(c.description for c in models[name].columns.values()), name
    assert all(n.description for n in models.values())
    sources = {s.name: s for s in full.manifest.sources.values() if s.source_name == "lake"}
    assert set(sources) == {"events", "customers", "products", "campaigns", "campaign_assignments"}
    assert "hive_partitioning" in sources["events"].config.meta["external_location"]
    assert sources["events"].loaded_at_field == "event_ts"
    assert any(s.source_name == "quarantine" for s in full.manifest.sources.values())


def test_build_runs_models_data_tests_and_unit_tests(full):
    results = full.result.result.results
    kinds = {}
    for r in results:
        kinds.setdefault(r.node.resource_type, []).append(str(r.status))
    assert len(kinds["model"]) == 21
    assert len(kinds["unit_test"]) >= 6 and len(kinds["test"]) >= 30
    assert all(status in ("success", "pass", "no-op") for statuses in kinds.values() for status in statuses)
    print(f"dbt build of the test lake: {full.seconds:.1f}s")


def test_custom_schemas_are_exact(full):
    schemas = set(full.frame("select distinct table_schema from information_schema.tables")["table_schema"])
    assert {"staging", "intermediate", "marts"} <= schemas
    assert not any(s.startswith("main_") for s in schemas)


def test_no_raw_email_downstream_only_its_hash(full):
    columns = full.frame(
        "select table_name, column_name from information_schema.columns "
        "where table_schema in ('staging', 'intermediate', 'marts') and column_name = 'email'"
    )
    assert columns.height == 0
    hashed = full.frame("select email_sha256 from staging.stg_customers where customer_id = 'c1'").item()
    assert hashed == hashlib.sha256(b"ann@example.com").hexdigest()
    assert full.frame("select email_sha256 from staging.stg_customers where customer_id = 'c3'").item() is None


def test_features_match_an_independent_polars_computation(full):
    events = reference.lake_events(full.home)
    assignments = pl.read_parquet(full.home / "lake" / "campaign_assignments" / "part-0.parquet")
    campaigns = pl.read_parquet(full.home / "lake" / "campaigns" / "part-0.parquet")
    expected = pl.concat([reference.features_as_of(events, assignments, campaigns, day) for day in lake.DAYS])
    columns = expected.columns
    actual = full.frame(f"select {', '.join(columns)} from marts.customer_features")
    key = ["customer_id", "as_of_date"]
    assert_frame_equal(
        actual.sort(key), expected.sort(key), check_dtypes=False, check_exact=False, rel_tol=1e-9, abs_tol=1e-9,
    )
    assert expected.height > 100 and expected["cart_abandonment_rate"].drop_nulls().n_unique() > 2


def test_daily_activity_matches_the_lake(full):
    events = reference.lake_events(full.home)
    links = reference.identity_links(events)
    keyed = reference.keyed_as_of(events, links, lake.DAYS[-1])
    expected = keyed.group_by(pl.col("key").alias("customer_id"), pl.col("event_date").alias("activity_date")).agg(
        pl.len().alias("events"),
        (pl.col("event_type") == "product_view").sum().alias("product_views"),
        (pl.col("device_type") == "mobile").sum().alias("events_mobile"),
    )
    actual = full.frame("select customer_id, activity_date, events, product_views, events_mobile from marts.customer_daily_activity")
    key = ["customer_id", "activity_date"]
    assert_frame_equal(actual.sort(key), expected.sort(key), check_dtypes=False)


def test_snapshots_are_point_in_time(full):
    c1 = full.frame(
        "select as_of_date, frequency, monetary, recency_days, emails_received from marts.customer_features "
        "where customer_id = 'c1' order by as_of_date"
    )
    # o1 (100 - 10 discount) on day 1, o2 (2 x 20) on day 2, one unit returned on day 3, o9 (900) on day 5
    assert c1["frequency"].to_list() == [1, 2, 2, 2, 3, 3]
    assert c1["monetary"].to_list() == [90.0, 130.0, 110.0, 110.0, 1010.0, 1010.0]
    assert c1["recency_days"].to_list() == [0, 0, 1, 2, 0, 1]
    assert c1["emails_received"].to_list() == [0, 1, 1, 1, 1, 1]

    keys = full.frame("select customer_id, as_of_date, is_identified, first_seen_date, events_total "
                      "from marts.customer_features where customer_id in ('anon:a1', 'c2') order by as_of_date")
    a1 = keys.filter(pl.col("customer_id") == "anon:a1")
    c2 = keys.filter(pl.col("customer_id") == "c2")
    # a1 is its own anonymous visitor until the identify on day 3, then part of c2
    assert a1["as_of_date"].to_list() == lake.DAYS[:2] and not a1["is_identified"].any()
    assert a1["events_total"].to_list() == [2, 3]
    assert c2["as_of_date"].to_list() == lake.DAYS and c2["is_identified"].all()
    # c2's own email open on day 1, then from day 3: + a1's 3 anonymous events + 2 on day 3
    assert c2["events_total"].to_list() == [1, 1, 6, 6, 6, 6]
    assert c2["first_seen_date"].to_list() == [lake.DAYS[0]] * 6


def test_identify_on_a_later_day_rekeys_earlier_activity(full, daily):
    before = daily["keys_before_identify"]
    assert before.rows() == [("anon:a1", lake.DAYS[0]), ("anon:a1", lake.DAYS[1]), ("c2", lake.DAYS[0])]
    for dbt_tables in (daily["daily"], full.tables()):
        activity = dbt_tables["marts.customer_daily_activity"]
        assert activity.filter(pl.col("customer_id") == "anon:a1").height == 0
        c2 = activity.filter(pl.col("customer_id") == "c2").sort("activity_date")
        assert c2["activity_date"].to_list() == lake.DAYS[:3]
        assert c2["is_identified"].all()
        categories = dbt_tables["marts.customer_category_daily"]
        assert categories.filter(pl.col("customer_id") == "anon:a1").height == 0
        assert categories.filter((pl.col("customer_id") == "c2") & (pl.col("activity_date") == lake.DAYS[0])).height == 1


def test_daily_windows_build_the_same_warehouse_as_one_window(full, daily):
    assert_same_tables(daily["daily"], full.tables())


def test_rerunning_a_window_gives_identical_tables(daily):
    assert_same_tables(daily["rerun"], daily["daily"], exact=True)


def test_a_day_rebuilt_with_fewer_rows_leaves_no_stale_rows(daily):
    rebuilt, fresh = day_rows(daily["shrunk_day"], D2), day_rows(daily["fresh"], D2)
    assert_same_tables(rebuilt, fresh)
    events = daily["shrunk_day"]["staging.stg_events"]
    assert events.filter(pl.col("event_id").is_in(["a9-1", "c1-11"])).height == 0
    features = rebuilt["marts.customer_features"]
    assert features.filter(pl.col("customer_id") == "anon:a9").height == 0
    # rebuilding the following days too gives exactly the warehouse of a fresh build
    assert_same_tables(daily["shrunk_all"], daily["fresh"])


def test_retention_keeps_recent_snapshots_and_fixed_anchors(daily):
    # window = day 5, retention 1 day -> day 4 kept; older ones only if anchors (even day number
    # since 1970-01-01) and not older than 3 days before day 5
    kept = daily["retained"]["as_of_date"].to_list()
    epoch = date(1970, 1, 1)
    expected = [
        d for d in lake.DAYS
        if d >= lake.DAYS[4] - timedelta(days=1)
        or ((d - epoch).days % 2 == 0 and d >= lake.DAYS[4] - timedelta(days=3))
    ]
    assert kept == expected and len(expected) < len(lake.DAYS)
    assert daily["retained_categories"]["as_of_date"].to_list() == expected


def test_data_tests_of_a_windowed_run_read_only_its_window(tmp_path):
    """The daily pipeline's `dbt build` tests the rows of its window (macros/test_window.sql),
    not the whole history every day; a run without a window still tests every row."""
    dbt = DbtHome(lake.write_lake(tmp_path))
    dbt.run_ok("run")
    with dbt.connect() as con:
        con.execute(f"insert into staging.stg_events select * from staging.stg_events where event_date = '{D1}' limit 1")
    assert not dbt.invoke("test", "--select", "stg_events", window=(D1, D1)).success
    assert not dbt.invoke("test", "--select", "stg_events").success
    assert dbt.invoke("test", "--select", "stg_events", window=(D6, D6)).success
    # the pipeline passes the window in the environment (orchestration.partitions.dbt_window_environment)
    for day, clean in ((D6, True), (D1, False)):
        with environment_set(dbt_window_environment(date.fromisoformat(day), date.fromisoformat(day))):
            assert dbt.invoke("test", "--select", "stg_events").success is clean, day
