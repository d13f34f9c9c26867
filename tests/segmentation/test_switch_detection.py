"""switch_detection: which switches a membership history shows, on hand-made frames."""

from datetime import date, timedelta

import polars as pl
import pytest

from segmentation.rules import parse_segments
from segmentation.switch_detection import (expected_interest_shift, membership_moves, segment_interests,
                                           switch_detection)

D = date(2025, 3, 10)
TECH, HOME, PREMIUM = "category:tech", "category:home", "tag:premium"


def history(*rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"segment": pl.String, "customer_id": pl.String, "valid_from": pl.Date,
                                      "valid_to": pl.Date}, orient="row")


SWITCHES = pl.DataFrame({"customer_id": ["a", "b", "c", "d"], "switch_date": [D] * 4,
                         "gain_interest": [TECH, TECH, HOME, PREMIUM]})
TIED = {"browsing_tech_now": frozenset({TECH}), "high_intent_tech": frozenset({TECH}),
        "browsing_home_now": frozenset({HOME}), "browsing_premium_now": frozenset({PREMIUM})}


def test_an_entry_into_a_segment_of_the_gained_interest_within_the_window_detects_the_switch():
    moves = membership_moves(history(
        ("browsing_tech_now", "a", D + timedelta(days=1), None),        # a: entered the day after
        ("browsing_tech_now", "b", D - timedelta(days=20), D + timedelta(days=3)),  # b: member long before
        ("high_intent_tech", "b", D + timedelta(days=5), None),        # b: entered 5 days after
        ("browsing_tech_now", "c", D, None),                           # c: not c's gained interest
        ("browsing_home_now", "d", D - timedelta(days=9), D - timedelta(days=1)),  # d: left home: not counted
        ("browsing_premium_now", "d", D + timedelta(days=2), None),    # d: entered two days after
    ), TIED)
    within_1 = switch_detection(SWITCHES, moves, 1).sort("customer_id")
    assert within_1["detected"].to_list() == [True, False, False, False]
    assert within_1["detected_on"].to_list()[0] == D + timedelta(days=1)
    assert switch_detection(SWITCHES, moves, 0)["detected"].sum() == 0
    assert switch_detection(SWITCHES, moves, 2).sort("customer_id")["detected"].to_list() == [True, False, False, True]
    assert switch_detection(SWITCHES, moves, 7).sort("customer_id")["detected"].to_list() == [True, True, False, True]
    # placebo: the same customers 20 days earlier; b's entry on D - 20 falls in that window
    placebo = switch_detection(SWITCHES, moves, 1, shift_days=-20).sort("customer_id")
    assert placebo["detected"].to_list() == [False, True, False, False]


def test_moves_list_entries_on_valid_from_and_exits_the_day_after_valid_to():
    moves = membership_moves(history(("browsing_home_now", "d", D, D + timedelta(days=2)),
                                     ("untied_segment", "d", D, None)), TIED)
    assert sorted(moves.select("move", "on").rows()) == [("entered", D), ("left", D + timedelta(days=3))]
    with pytest.raises(ValueError):
        switch_detection(SWITCHES, moves, -1)


def test_segments_are_tied_to_the_categories_and_tags_their_rules_name():
    config = parse_segments("""
version: 1
segments:
  - {name: now, description: d, owner: o, rule: "category_views('tech', 1) >= 2 and category_view_share('tech', 1) >= 0.5"}
  - {name: top, description: d, owner: o, rule: "p_purchase_30d >= 0.5 and (top_category = 'outerwear' or next_category in ('home', 'beauty'))"}
  - {name: eco, description: d, owner: o, rule: "tag_view_share(' Eco-Friendly', 7) >= 0.5 and not frequency > 3"}
  - {name: plain, description: d, owner: o, rule: "frequency >= 2 and country = 'DE'"}
""")
    assert segment_interests(config) == {"now": {TECH}, "top": {"category:outerwear", HOME, "category:beauty"},
                                         "eco": {"tag:eco-friendly"}}


def test_expected_shift_finds_the_interest_a_switch_moves_browsing_to():
    products = pl.DataFrame({
        "subcategory": ["laptops", "tablets", "skincare", "skincare", "kitchen", "coats", "tops", "running"],
        "category": ["tech", "tech", "beauty", "beauty", "home", "outerwear", "fashion", "sports"],
        "brand": ["Voltix", "Lumiq", "Glow Daily", "Velour", "Oakhaus", "Nordvik", "Streetly", "Summit Pro"],
        "tags": [None, "premium", "eco-friendly", "premium", "premium,eco-friendly", "winter", None, "premium"]})
    switches = pl.DataFrame({"customer_id": ["eco_to_tech", "tech_to_tech", "deal_to_premium"], "switch_date": [D] * 3,
                             "from_persona": ["eco_enthusiast", "tech_enthusiast", "deal_seeker"],
                             "to_persona": ["tech_enthusiast", "tech_enthusiast", "loyal_premium"],
                             "from_focus": ["skincare", "laptops", "tops"], "to_focus": ["laptops", "laptops", "tops"]})
    shift = {r["customer_id"]: r for r in expected_interest_shift(switches, products).iter_rows(named=True)}
    assert shift["eco_to_tech"]["gain_interest"] == TECH and shift["eco_to_tech"]["gain"] > 0.5
    assert shift["deal_to_premium"]["gain_interest"] == PREMIUM and shift["deal_to_premium"]["gain"] > 0.3
    assert shift["tech_to_tech"]["gain"] == pytest.approx(0.0, abs=1e-12)  # nothing changed
