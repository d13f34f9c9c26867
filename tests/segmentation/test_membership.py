import re
from datetime import date

import duckdb
import pytest

import segmentation.history as history_module
from segmentation.membership import SegmentBuildError, build_daily_segments, build_membership_history
from segmentation.history import HistoryError, prune_daily_segments
from segmentation.rules import SegmentConfigError, parse_segments
from tests.segmentation.warehouse import (add_category_views, add_clusters, add_features, add_scores, create_marts,
                                          days_ending, table_rows)

SEGMENTS_YAML = """
settings: {size_change_min_size: 1, size_change_threshold: 0.25, missing_inputs: %(policy)s}
segments:
  - {name: repeat_buyers, description: two or more orders, owner: crm, rule: "frequency >= 2"}
  - {name: buyers, description: any order, owner: crm, rule: "frequency >= 1"}
  - name: cart_abandoners
    description: abandoned carts
    owner: crm
    rule: cart_adds_30d >= 1 and cart_abandonment_rate >= 0.7 and days_since_last_seen <= 14
  - {name: lapsed, description: gone, owner: crm, rule: "days_since_last_seen > 90"}
  - name: high_intent_tech_shoppers
    description: likely tech buyers
    owner: merch
    rule: p_purchase_30d >= 0.6 and (top_category = 'tech' or category_views('tech', 30) >= 3)
%(extra)s"""
OWNED_TABLES = ("marts.customer_segments", "marts.segment_runs", "marts.segment_days", "marts.segment_definitions",
                "marts.segment_membership_history", "marts.segment_history_state", "marts.segment_transitions",
                "marts.segment_summary")
HISTORY_TABLES = ("marts.segment_membership_history", "marts.segment_transitions", "marts.segment_summary")


def config(policy="fail", extra=""):
    return parse_segments(SEGMENTS_YAML % {"policy": policy, "extra": extra})


def customer_day(i: int) -> dict[str, dict]:
    """Day i (0..4) of four customers; see the scenario in each test."""
    return {
        "a": {"frequency": 3, "days_since_last_seen": 1, "top_category": "tech", "revenue_30d": 100.0},
        "c-42": {"frequency": 1, "days_since_last_seen": 2, "top_category": "home", "revenue_30d": 20.0},
        "b": {"frequency": 1, "days_since_last_seen": 5 if i <= 2 else 100,
              "cart_adds_30d": 2 if i <= 2 else 0, "cart_abandonment_rate": 0.9 if i <= 2 else None},
        "d": {"frequency": 0, "days_since_last_seen": 1, "cart_adds_30d": 1 if i >= 3 else 0,
              "cart_abandonment_rate": 1.0 if i >= 3 else None},
    }


def warehouse(days: list[date], scores: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_marts(con, scores=scores)
    for i, d in enumerate(days):
        add_features(con, d, customer_day(i))
        if scores:
            add_scores(con, d, {"a": {"p_purchase_30d": 0.9}, "c-42": {"p_purchase_30d": 0.7},
                                "b": {"p_purchase_30d": 0.1}})
        if i >= 2:
            add_category_views(con, d, [("c-42", "tech", 5)])
    return con


def build(con, cfg, first: date, last: date):
    build_daily_segments(con, cfg, first, last)
    return build_membership_history(con, first, last, cfg.settings)


def snapshot(con, tables=OWNED_TABLES) -> dict:
    return {t: table_rows(con, t) for t in tables}


@pytest.fixture
def today() -> date:
    return duckdb.connect().execute("select current_date").fetchone()[0]


def members(con, d: date) -> set[tuple[str, str]]:
    return set(con.execute("select segment, customer_id from marts.customer_segments where as_of_date = ?", [d]).fetchall())


def test_daily_membership_overlaps_and_moves_are_recorded(today):
    days = days_ending(today, 5)
    con = warehouse(days)
    cfg = config()
    build(con, cfg, days[0], days[-1])

    assert members(con, days[0]) == {("repeat_buyers", "a"), ("buyers", "a"), ("high_intent_tech_shoppers", "a"),
                                     ("buyers", "c-42"), ("buyers", "b"), ("cart_abandoners", "b")}
    assert ("high_intent_tech_shoppers", "c-42") in members(con, days[2])  # via category_views('tech', 30)
    reasons = con.execute("select distinct reason, description from marts.customer_segments "
                          "where segment = 'lapsed'").fetchall()
    assert reasons == [("rule", "gone")]

    # b: cart_abandoners days 0-2 (one closed stretch), lapsed from day 3 (one open stretch)
    stretches = con.execute("""select segment, valid_from, valid_to, days from marts.segment_membership_history
                               where customer_id = 'b' and segment in ('cart_abandoners', 'lapsed') order by 2""").fetchall()
    assert stretches == [("cart_abandoners", days[0], days[2], 3), ("lapsed", days[3], None, 2)]
    moves = con.execute("""select as_of_date, transition, from_segment, to_segment from marts.segment_transitions
                           where customer_id = 'b' and as_of_date > ? order by 2""", [days[0]]).fetchall()
    assert moves == [(days[3], "entered", None, "lapsed"), (days[3], "exited", "cart_abandoners", None),
                     (days[3], "moved", "cart_abandoners", "lapsed")]

    summary = {(r[0], r[1]): r[2:] for r in con.execute(
        """select as_of_date, segment, size, entries, exits, previous_size, size_change, size_change_flag,
                  avg_p_purchase_30d, revenue_30d from marts.segment_summary""").fetchall()}
    assert summary[(days[3], "cart_abandoners")][:6] == (1, 1, 1, 1, 0.0, False)  # d in, b out
    assert summary[(days[2], "high_intent_tech_shoppers")][:6] == (2, 1, 0, 1, 1.0, True)  # doubled: flagged
    assert summary[(days[3], "lapsed")][:6] == (1, 1, 0, 0, None, True)  # from empty
    assert summary[(days[0], "repeat_buyers")][6:] == (0.9, 100.0)
    assert summary[(days[0], "cart_abandoners")][6:] == (0.1, None)


def test_the_documented_questions_are_single_queries(today):
    days = days_ending(today, 5)
    con = warehouse(days)
    build(con, config(), days[0], days[-1])
    queries = re.findall(r"^\s*(select .*?;)", history_module.__doc__, flags=re.S | re.M)
    assert len(queries) == 2
    who_entered, how_long = queries
    assert con.execute(who_entered).fetchall() == [("d",)]
    assert con.execute(how_long).fetchall() == [(days[2], 3)]


def test_rerunning_a_middle_day_is_idempotent(today):
    days = days_ending(today, 5)
    con = warehouse(days)
    cfg = config()
    build(con, cfg, days[0], days[-1])
    before = snapshot(con)
    build(con, cfg, days[2], days[2])
    assert snapshot(con) == before
    build(con, cfg, days[1], days[3])
    assert snapshot(con) == before


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [3, 0, 4, 2, 1], [1, 2, 3, 4, 0]])
def test_any_build_order_and_backfill_gives_the_same_history(today, order):
    days = days_ending(today, 5)
    reference = warehouse(days)
    cfg = config()
    build(reference, cfg, days[0], days[-1])
    con = warehouse(days)
    for i in order:
        build(con, cfg, days[i], days[i])
    assert snapshot(con, HISTORY_TABLES) == snapshot(reference, HISTORY_TABLES)
    assert snapshot(con) == snapshot(reference)


def test_backfilled_old_day_after_retention_keeps_history(today):
    days = days_ending(today, 5)
    reference = warehouse(days)
    cfg = config()
    build(reference, cfg, days[0], days[-1])

    con = warehouse(days)
    build(con, cfg, days[1], days[3])
    assert prune_daily_segments(con, days[3]) > 0  # daily rows of days 1-2 gone
    build(con, cfg, days[4], days[4])  # incremental: needs no old daily rows
    build(con, cfg, days[0], days[0])  # backfill before everything
    assert snapshot(con, HISTORY_TABLES) == snapshot(reference, HISTORY_TABLES)
    with pytest.raises(HistoryError, match="re-run build_daily_segments"):
        build_membership_history(con, days[1], days[2], cfg.settings)
    build(con, cfg, days[1], days[2])  # re-evaluated from features: fine again
    assert snapshot(con, HISTORY_TABLES) == snapshot(reference, HISTORY_TABLES)


def test_a_segment_added_to_the_yaml_appears_on_the_next_build_and_a_removed_one_closes(today):
    days = days_ending(today, 5)
    con = warehouse(days)
    build(con, config(), days[0], days[2])
    extra = '  - {name: tech_fans, description: tech, owner: merch, rule: "top_category = \'tech\'"}'
    cfg = config(extra=extra)
    build(con, cfg, days[3], days[3])
    assert ("tech_fans", "a") in members(con, days[3])
    assert con.execute("select valid_from, valid_to from marts.segment_membership_history "
                       "where segment = 'tech_fans'").fetchall() == [(days[3], None)]
    assert con.execute("select size, entries from marts.segment_summary where segment = 'tech_fans'").fetchall() == [(1, 1)]

    without_repeat = parse_segments(SEGMENTS_YAML.replace(
        '  - {name: repeat_buyers, description: two or more orders, owner: crm, rule: "frequency >= 2"}\n', "")
        % {"policy": "fail", "extra": extra})
    build(con, without_repeat, days[4], days[4])
    assert con.execute("select valid_from, valid_to from marts.segment_membership_history "
                       "where segment = 'repeat_buyers'").fetchall() == [(days[0], days[3])]
    assert con.execute("select as_of_date, transition from marts.segment_transitions "
                       "where from_segment = 'repeat_buyers'").fetchall() == [(days[4], "exited")]
    # re-running an old day with the new config does not erase the removed segment's past
    build(con, without_repeat, days[1], days[1])
    assert con.execute("select valid_from, valid_to from marts.segment_membership_history "
                       "where segment = 'repeat_buyers'").fetchall() == [(days[0], days[3])]


def test_missing_score_table_fails_clearly_or_skips_with_reason(today):
    days = days_ending(today, 3)
    con = warehouse(days, scores=False)
    with pytest.raises(SegmentConfigError) as info:
        build_daily_segments(con, config("fail"), days[0], days[-1])
    assert "segment 'high_intent_tech_shoppers': needs inputs missing from the warehouse: column 'p_purchase_30d'" \
        in str(info.value)
    assert con.execute("select count(*) from information_schema.tables where table_name = 'customer_segments'").fetchone()[0] == 0

    cfg = config("skip")
    result = build_daily_segments(con, cfg, days[0], days[-1])
    assert "p_purchase_30d" in result.skipped["high_intent_tech_shoppers"]
    build_membership_history(con, days[0], days[-1], cfg.settings)
    assert con.execute("select distinct status, skip_reason like '%p_purchase_30d%' from marts.segment_runs "
                       "where segment = 'high_intent_tech_shoppers'").fetchall() == [("skipped", True)]
    assert con.execute("select status from marts.segment_definitions where segment = 'high_intent_tech_shoppers'"
                       ).fetchone() == ("skipped",)
    assert ("buyers", "a") in members(con, days[0])
    assert con.execute("select count(*) from marts.segment_summary where segment = 'high_intent_tech_shoppers'").fetchone() == (0,)


def test_a_skipped_day_neither_extends_nor_closes_a_stretch(today):
    days = days_ending(today, 3)
    con = warehouse(days)
    cfg = config("skip")
    build(con, cfg, days[0], days[1])
    con.execute("alter table marts.customer_scores rename to customer_scores_offline")
    build(con, cfg, days[2], days[2])
    assert con.execute("""select valid_from, valid_to, days from marts.segment_membership_history
                          where segment = 'high_intent_tech_shoppers' and customer_id = 'a'""").fetchall() \
        == [(days[0], None, 2)]
    assert con.execute("select count(*) from marts.segment_transitions where transition = 'exited' "
                       "and from_segment = 'high_intent_tech_shoppers'").fetchone() == (0,)


def test_clusters_are_segments_and_cluster_moves_are_transitions(today):
    days = days_ending(today, 3)
    con = warehouse(days)
    for i, d in enumerate(days):
        add_clusters(con, d, {"a": (1, "Bargain Hunters!"), "b": (2, "Loyal VIPs") if i < 2 else (1, "Bargain Hunters!")})
    cfg = config()
    build(con, cfg, days[0], days[-1])
    assert {("cluster_bargain_hunters", "a"), ("cluster_loyal_vips", "b")} <= members(con, days[0])
    assert con.execute("select distinct reason, description from marts.customer_segments "
                       "where segment = 'cluster_loyal_vips'").fetchall() == [("cluster", "Behavioural cluster: Loyal VIPs")]
    assert con.execute("select transition, from_segment, to_segment from marts.segment_transitions "
                       "where customer_id = 'b' and transition = 'moved'").fetchall() \
        == [("moved", "cluster_loyal_vips", "cluster_bargain_hunters")]
    assert con.execute("select size, exits from marts.segment_summary where segment = 'cluster_loyal_vips' "
                       "and as_of_date = ?", [days[1]]).fetchone() == (1, 0)
    assert con.execute("select valid_to from marts.segment_membership_history where segment = 'cluster_loyal_vips'"
                       ).fetchall() == [(days[1],)]


def test_days_without_features_are_left_alone_and_features_are_required(today):
    days = days_ending(today, 3)
    con = warehouse(days[:2])
    cfg = config()
    build(con, cfg, days[0], days[1])
    before = snapshot(con)
    result = build_daily_segments(con, cfg, days[1] , days[2])
    assert result.days_without_features == [days[2]] and result.days_built == [days[1]]
    build_membership_history(con, days[1], days[2], cfg.settings)
    assert snapshot(con) == before
    with pytest.raises(SegmentBuildError, match="customer_features"):
        build_daily_segments(duckdb.connect(), cfg, days[0], days[0])


def test_hostile_category_text_is_only_data(today):
    days = days_ending(today, 1)
    con = warehouse(days)
    cfg = parse_segments("""segments:
  - name: odd
    description: x
    owner: y
    rule: "category_views('x'') or 1=1; drop table marts.customer_features; --', 30) >= 0 and frequency >= 3"
""")
    build(con, cfg, days[0], days[0])
    assert members(con, days[0]) == {("odd", "a")}
    assert con.execute("select count(*) from marts.customer_features").fetchone()[0] == 4


def test_the_shipped_segments_run_on_a_warehouse_with_every_known_column(today):
    from pathlib import Path

    from segmentation.columns import KNOWN_COLUMNS
    from segmentation.rules import load_segments

    sql_types = {"number": "DOUBLE", "string": "VARCHAR", "boolean": "BOOLEAN"}
    con = duckdb.connect()
    con.execute("create schema marts")
    for source, table in (("features", "customer_features"), ("scores", "customer_scores")):
        cols = [(n, sql_types[i.type]) for n, i in KNOWN_COLUMNS.items() if i.source == source]
        con.execute(f"create table marts.{table} (customer_id VARCHAR, as_of_date DATE, "
                    + ", ".join(f"{n} {t}" for n, t in cols) + ")")
        values = {"DOUBLE": "random() * 200", "VARCHAR": "(['tech', 'outerwear', 'home'])[1 + (i % 3)]",
                  "BOOLEAN": "i % 2 = 0"}
        con.execute(f"insert into marts.{table} select 'c' || i, ?::DATE, "
                    + ", ".join(values[t] for _, t in cols) + " from range(200) t(i)", [today])
    con.execute("update marts.customer_scores set p_purchase_30d = random(), p_churn = random(), discount_uplift = random() / 10")
    con.execute("""create table marts.customer_category_features as select 'c' || i as customer_id, ?::DATE as as_of_date,
                   'outerwear' as category, i % 3 as views_1d, i % 5 as views_7d, i % 7 as views_30d, 0 as views_prior_60d,
                   0 as orders_90d, 0.0 as revenue_90d, (i % 3) / 2.0 as share_of_views_1d, 0.5 as share_of_views_7d,
                   0.5 as share_of_views_90d, 1.0 as trend_ratio from range(200) t(i)""", [today])
    con.execute("""create table marts.customer_tag_features as select 'c' || i as customer_id, ?::DATE as as_of_date,
                   'eco-friendly' as tag, i % 2 as views_1d, i % 4 as views_7d, i % 5 as views_30d, i % 9 as views_90d,
                   0 as orders_90d, 0.1 as share_of_views_1d, 0.1 as share_of_views_7d,
                   (i % 9) / 10.0 as share_of_views_90d from range(200) t(i)""", [today])
    cfg = load_segments(Path(__file__).resolve().parents[2] / "segments.yml")
    result = build_daily_segments(con, cfg, today, today)
    assert result.skipped == {} and len(result.evaluated) == len(cfg.segments)
    build_membership_history(con, today, today, cfg.settings)
    sizes = dict(con.execute("select segment, size from marts.segment_summary").fetchall())
    assert set(sizes) == set(cfg.names())
    assert sizes["high_predicted_ltv"] == 20  # top decile of 200 distinct values
    assert 0 < sizes["high_intent_winter_shoppers"] < 200
    # today: 2 views (i % 3 == 2) at share 1.0; this week: 4 views (i % 5 == 4) at share 0.5
    assert sizes["browsing_outerwear_now"] == len({i for i in range(200) if i % 3 == 2 or i % 5 == 4})
