"""The tag_* rule functions: compiled like the category_* ones (literal tag, allowed windows, derived
column), looked up in marts.customer_tag_features by the daily build, and the shipped
eco_friendly_interest segment that uses them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from segmentation.columns import KNOWN_COLUMNS
from segmentation.compiler import MissingInputError, RuleError, TagMeasure, compile_rule
from segmentation.membership import build_daily_segments
from segmentation.rules import SegmentConfigError, load_segments, parse_segments, plan_segments
from tests.segmentation.warehouse import add_features, create_marts, days_ending

REPO = Path(__file__).resolve().parents[2]
ECO = "eco-friendly"


def alias(measure: str, tag: str = ECO) -> str:
    return f"tag__{measure}__{tag.encode().hex()}"


def test_tag_functions_become_derived_columns():
    compiled = compile_rule("tag_view_share('eco-friendly', 90) >= 0.3 and tag_views('eco-friendly', 30) > 2 "
                            "and tag_views('winter', 90) = 0 and tag_orders('eco-friendly', 90) >= 1")
    assert compiled.tags == {TagMeasure(ECO, "share_of_views_90d"), TagMeasure(ECO, "views_30d"),
                             TagMeasure("winter", "views_90d"), TagMeasure(ECO, "orders_90d")}
    assert compiled.categories == frozenset() and compiled.columns == frozenset()
    two = compile_rule("tag_view_share('eco-friendly', 90) >= 0.3 and tag_views('winter', 90) = 0")
    assert two.sql == f'(("{alias("share_of_views_90d")}" >= 0.3) AND ("{alias("views_90d", "winter")}" = 0))'


def test_tags_are_matched_trimmed_and_lower_case():
    compiled = compile_rule("tag_views(' Eco-Friendly ', 90) > 0")
    assert compiled.tags == {TagMeasure(ECO, "views_90d")}


@pytest.mark.parametrize("rule, problem", [
    ("tag_view_share('eco-friendly', 30) > 0.1", "days must be one of 1, 7, 90, got 30"),
    ("tag_views('eco-friendly', 14) > 1", "days must be one of 1, 7, 30, 90, got 14"),
    ("tag_views('eco-friendly', 30.5) > 1", "days must be one of 1, 7, 30, 90, got 30.5"),
    ("tag_orders('eco-friendly', 30) > 1", "days must be one of 90, got 30"),
    ("tag_views('eco-friendly') > 1", "takes 2 argument(s)"),
    ("tag_views(top_category, 30) > 1", "the tag must be a non-empty quoted string"),
    ("tag_views('  ', 30) > 1", "the tag must be a non-empty quoted string"),
    ("tag_views(1, 30) > 1", "the tag must be a non-empty quoted string"),
    ("tag_view_share('eco-friendly', 90) > 'a'", "cannot compare a number with a string"),
    ("tag_view_share('eco-friendly', 90)", "must be a condition"),
    ("tag_view_shares('eco-friendly', 90) > 0.1", "did you mean 'tag_view_share'"),
])
def test_bad_tag_calls_name_the_problem(rule, problem):
    with pytest.raises(RuleError) as info:
        compile_rule(rule)
    assert problem in str(info.value)


def test_a_missing_tag_table_is_a_missing_input_not_an_error():
    with pytest.raises(MissingInputError, match="marts.customer_tag_features"):
        compile_rule("tag_views('eco-friendly', 90) > 1", tag_available=False)
    # the category table's absence does not affect tag rules, nor the reverse
    assert compile_rule("tag_views('eco-friendly', 90) > 1", category_available=False).tags
    with pytest.raises(MissingInputError, match="customer_category_features"):
        compile_rule("category_views('tech', 30) > 1", tag_available=True, category_available=False)


def test_shipped_eco_segment_uses_the_tag_function():
    config = load_segments(REPO / "segments.yml")
    eco = next(s for s in config.segments if s.name == "eco_friendly_interest")
    compiled = compile_rule(eco.rule, KNOWN_COLUMNS)
    assert compiled.tags == {TagMeasure(ECO, "share_of_views_90d")}
    assert compiled.columns == {"product_views_30d"}
    assert "eco_view_share_90d" not in KNOWN_COLUMNS
    planned = plan_segments(config, KNOWN_COLUMNS, category_available=True, tag_available=False)
    skipped = {p.definition.name: p.skip_reason for p in planned if p.compiled is None}
    assert "marts.customer_tag_features" in skipped["eco_friendly_interest"]


def test_the_old_column_is_now_a_typo():
    text = "segments:\n  - {name: eco, description: d, owner: o, rule: 'eco_view_share_90d >= 0.3'}\n"
    with pytest.raises(SegmentConfigError, match="unknown column 'eco_view_share_90d'"):
        parse_segments(text)


def tag_warehouse(day, tags: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_marts(con, scores=False, categories=False)
    add_features(con, day, {
        "eco_fan": {"product_views_30d": 10},
        "mixed": {"product_views_30d": 8},
        "few_views": {"product_views_30d": 3},
        "untagged": {"product_views_30d": 12},
        "buyer": {"product_views_30d": 0},
    })
    if tags:
        con.execute("""create table marts.customer_tag_features (customer_id VARCHAR, as_of_date DATE, tag VARCHAR,
                       views_30d BIGINT, views_90d BIGINT, orders_90d BIGINT, share_of_views_90d DOUBLE)""")
        con.executemany("insert into marts.customer_tag_features values (?, ?, ?, ?, ?, ?, ?)", [
            ["eco_fan", day, ECO, 6, 9, 1, 0.6],
            ["eco_fan", day, "winter", 1, 1, 0, 0.1],
            ["mixed", day, ECO, 1, 2, 0, 0.2],
            ["mixed", day, "o'brien; drop table marts.customer_features; --", 3, 3, 0, 0.3],
            ["few_views", day, ECO, 3, 3, 0, 0.9],
            ["buyer", day, ECO, 0, 0, 2, None],
        ])
    return con


SEGMENTS = """
settings: {missing_inputs: %(policy)s}
segments:
  - name: eco_friendly_interest
    description: eco
    owner: merch
    rule: tag_view_share('eco-friendly', 90) >= 0.3 and product_views_30d >= 5
  - {name: no_eco_views, description: d, owner: o, rule: "tag_views('Eco-Friendly', 30) = 0"}
  - {name: eco_buyers, description: d, owner: o, rule: "tag_orders('eco-friendly', 90) >= 1"}
  - name: odd_tag
    description: d
    owner: o
    rule: "tag_views('O''Brien; drop table marts.customer_features; --', 90) >= 3"
  - {name: plain, description: d, owner: o, rule: "product_views_30d >= 10"}
"""


def members(con, day) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for segment, customer in con.execute(
            "select segment, customer_id from marts.customer_segments where as_of_date = ?", [day]).fetchall():
        out.setdefault(segment, set()).add(customer)
    return out


def test_daily_build_looks_tags_up_per_customer_and_day():
    day = days_ending(duckdb.connect().execute("select current_date").fetchone()[0], 1)[0]
    con = tag_warehouse(day)
    result = build_daily_segments(con, parse_segments(SEGMENTS % {"policy": "fail"}), day, day)
    assert result.skipped == {}
    got = members(con, day)
    # 0.6 share with 10 views; 'mixed' has 0.2, 'few_views' too few views, 'untagged' no eco row (no share)
    assert got["eco_friendly_interest"] == {"eco_fan"}
    # no row for the tag counts 0 views
    assert got["no_eco_views"] == {"untagged", "buyer"}
    assert got["eco_buyers"] == {"eco_fan", "buyer"}
    # the tag text is data, matched lower-cased; the table it names is untouched
    assert got["odd_tag"] == {"mixed"}
    assert con.execute("select count(*) from marts.customer_features").fetchone()[0] == 5


def test_without_the_tag_table_tag_segments_are_skipped_or_fail_per_policy():
    day = days_ending(duckdb.connect().execute("select current_date").fetchone()[0], 1)[0]
    con = tag_warehouse(day, tags=False)
    result = build_daily_segments(con, parse_segments(SEGMENTS % {"policy": "skip"}), day, day)
    assert set(result.skipped) == {"eco_friendly_interest", "no_eco_views", "eco_buyers", "odd_tag"}
    assert all("marts.customer_tag_features" in reason for reason in result.skipped.values())
    assert members(con, day) == {"plain": {"eco_fan", "untagged"}}
    with pytest.raises(SegmentConfigError, match="customer_tag_features"):
        build_daily_segments(tag_warehouse(day, tags=False), parse_segments(SEGMENTS % {"policy": "fail"}), day, day)
