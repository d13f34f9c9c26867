"""How fast segment membership history shows a synthetic customer's persona switch (pure polars).

The simulator (shop/simulator) switches some customers' persona and focus subcategory on a known
day (ground_truth/switches.parquet). A switch is *shown* by marts.segment_membership_history when,
within N days of the switch, a stretch starts (the customer enters) in a segment tied to the
interest the switch raises most. Interests are categories ('category:tech') and product tags
('tag:premium'); a segment is tied to those its rule names (category_* / tag_* functions,
`top_category = 'x'`, ...). Exits are listed by `membership_moves` but not counted: short-window
segments are left on many ordinary days (a day's browsing ends), so an exit near a switch is weak evidence.

Which interest a switch raises follows from the simulator's own parameters
(`expected_interest_shift`): the share of product views each category / tag gets under the old
and the new persona and focus. Some switches barely change what a customer looks at (laptops ->
tablets keeps the same categories and tags): those are kept apart (`gain` below a threshold),
since no category or tag segment can show them. The placebo is the same measurement on the same
customers in windows before their switch, so chance entries are measured, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from segmentation.compiler import CATEGORY_FUNCTIONS, TAG_FUNCTIONS
from segmentation.expression import BoolOp, Call, Column, Compare, InList, IsNull, Literal, Node, Not, parse_rule
from segmentation.rules import SegmentConfig

CATEGORY_VALUED_COLUMNS = frozenset({"top_category", "trending_category", "next_category"})
PLACEBO_OFFSETS = (-12, -8)  # 2-day windows this many days before the switch: clear of it, inside the period


def category_interest(name: str) -> str:
    return f"category:{name}"


def tag_interest(name: str) -> str:
    return f"tag:{name.strip().lower()}"


def segment_interests(config: SegmentConfig) -> dict[str, frozenset[str]]:
    """segment name -> interests its rule names: category_*('x', ...) / tag_*('y', ...) calls and
    string literals compared with a category column (top_category = 'x', next_category in (...)).
    Segments naming none are left out."""
    tied = {d.name: frozenset(_named_interests(parse_rule(d.rule))) for d in config.segments}
    return {name: interests for name, interests in tied.items() if interests}


def _named_interests(node: Node) -> set[str]:
    if isinstance(node, Call):
        found = set().union(*(_named_interests(a) for a in node.args))
        first = node.args[0] if node.args else None
        if isinstance(first, Literal) and isinstance(first.value, str):
            if node.name in CATEGORY_FUNCTIONS:
                found.add(category_interest(first.value))
            elif node.name in TAG_FUNCTIONS:
                found.add(tag_interest(first.value))
        return found
    if isinstance(node, Compare):
        sides = (node.left, node.right)
        if any(isinstance(s, Column) and s.name in CATEGORY_VALUED_COLUMNS for s in sides):
            return {category_interest(s.value) for s in sides if isinstance(s, Literal) and isinstance(s.value, str)}
        return _named_interests(node.left) | _named_interests(node.right)
    if isinstance(node, InList) and isinstance(node.operand, Column) and node.operand.name in CATEGORY_VALUED_COLUMNS:
        return {category_interest(v.value) for v in node.values if isinstance(v.value, str)}
    if isinstance(node, BoolOp):
        return set().union(*(_named_interests(o) for o in node.operands))
    if isinstance(node, (Not, IsNull, InList)):
        return _named_interests(node.operand)
    return set()


def expected_interest_shift(switches: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """switches (customer_id, switch_date, from_persona, to_persona, from_focus, to_focus) + the
    interest whose expected share of the customer's product views rises most at the switch
    (`gain_interest`, `gain` in share points 0..1). Expected shares weigh each product as the
    simulator's product chooser does: persona category taste x brand tier taste x eco boost x focus
    boost on the focus subcategory (season and weekly sales left out: they act on everyone alike).
    `products`: category, subcategory, brand, tags (comma-separated) of every product."""
    from shop.simulator.catalog import BRANDS
    from shop.simulator.personas import CATEGORY_NAMES, PERSONA_INDEX, PersonaTable

    table = PersonaTable()
    tier_of = {brand: tier for tiers in BRANDS.values() for tier, names in enumerate(tiers) for brand in names}
    category = products["category"].to_list()
    subcategory = np.array(products["subcategory"].to_list(), dtype=object)
    tier = np.array([tier_of.get(b, 1) for b in products["brand"].to_list()])
    tags = [{tag_interest(t) for t in (text or "").split(",") if t.strip()} for text in products["tags"].to_list()]
    eco = np.array([tag_interest("eco-friendly") in t for t in tags])
    cat_index = np.array([CATEGORY_NAMES.index(c) if c in CATEGORY_NAMES else -1 for c in category])
    interests = sorted({category_interest(c) for c in category if c} | set().union(*tags))
    member = np.array([[category_interest(c) == i or i in t for c, t in zip(category, tags)] for i in interests],
                      dtype=float)  # interest x product

    def shares(persona: str, focus: str) -> np.ndarray:
        p = PERSONA_INDEX[persona]
        weight = (np.where(cat_index >= 0, table.category_weights[p][np.maximum(cat_index, 0)], 0.0)
                  * table.tier_weights[p][tier] * np.where(eco, table.eco_boost[p], 1.0)
                  * np.where(subcategory == focus, table.focus_boost[p], 1.0))
        return member @ weight / weight.sum()

    rows = []
    for r in switches.iter_rows(named=True):
        delta = shares(r["to_persona"], r["to_focus"]) - shares(r["from_persona"], r["from_focus"])
        up = int(np.argmax(delta))
        rows.append((r["customer_id"], interests[up], float(max(delta[up], 0.0))))
    shift = pl.DataFrame(rows, schema={"customer_id": pl.String, "gain_interest": pl.String, "gain": pl.Float64},
                         orient="row")
    return switches.join(shift, on="customer_id", how="left")


def membership_moves(history: pl.DataFrame, tied: dict[str, frozenset[str]]) -> pl.DataFrame:
    """Entries and exits of the tied segments, one row each: customer_id, interest, move
    ('entered' on valid_from, 'left' on the day after valid_to), on (date)."""
    pairs = pl.DataFrame([(s, i) for s, interests in tied.items() for i in sorted(interests)],
                         schema={"segment": pl.String, "interest": pl.String}, orient="row")
    rows = history.select("segment", "customer_id", "valid_from", "valid_to").join(pairs, on="segment")
    entered = rows.select("customer_id", "interest", pl.lit("entered").alias("move"), pl.col("valid_from").alias("on"))
    left = rows.filter(pl.col("valid_to").is_not_null()).select(
        "customer_id", "interest", pl.lit("left").alias("move"), (pl.col("valid_to") + timedelta(days=1)).alias("on"))
    return pl.concat([entered, left])


def switch_detection(switches: pl.DataFrame, moves: pl.DataFrame, within_days: int,
                     shift_days: int = 0) -> pl.DataFrame:
    """Per switch (customer_id, switch_date, gain_interest): `detected` when the customer entered a
    segment tied to gain_interest on a day in [switch_date + shift_days, switch_date + shift_days +
    within_days]; `detected_on` the first such day. shift_days < 0 moves the window before the
    switch (placebo)."""
    if within_days < 0:
        raise ValueError("within_days must be >= 0")
    window = switches.select(
        "customer_id", "switch_date", "gain_interest",
        (pl.col("switch_date") + timedelta(days=shift_days)).alias("_from"),
        (pl.col("switch_date") + timedelta(days=shift_days + within_days)).alias("_to"),
    )
    hits = (
        window.join(moves, on="customer_id")
        .filter(pl.col("on").is_between(pl.col("_from"), pl.col("_to"))
                & (pl.col("move") == "entered") & (pl.col("interest") == pl.col("gain_interest")))
        .group_by("customer_id", "switch_date")
        .agg(pl.col("on").min().alias("detected_on"))
    )
    return (
        window.drop("_from", "_to")
        .join(hits, on=["customer_id", "switch_date"], how="left")
        .with_columns(pl.col("detected_on").is_not_null().alias("detected"))
    )


@dataclass(frozen=True)
class LatencyReport:
    switched: int  # switches in the ground truth
    eligible: int  # switch raises one interest's expected share of views by >= min_gain; placebo windows in range
    detected: dict[int, int]  # within N days -> eligible switches detected
    placebo_rate: float  # share of eligible customers "detected" in 2-day windows before their switch
    active: int  # eligible with a product view within [switch_date, switch_date + 1]
    detected_active: int  # of them detected within 1 day
    placebo_active_rate: float  # the same among customers with a product view in the placebo window
    by_interest: dict[str, tuple[int, int]]  # gain interest -> (eligible, detected within 1 day)

    def rate(self, days: int) -> float:
        return self.detected[days] / self.eligible if self.eligible else 0.0

    @property
    def active_rate(self) -> float:
        return self.detected_active / self.active if self.active else 0.0

    def lines(self) -> list[str]:
        out = [f"switched customers: {self.switched}",
               f"eligible (the switch raises one category's or tag's expected share of views by >= the threshold; "
               f"placebo windows inside the period): {self.eligible}"]
        for days, n in sorted(self.detected.items()):
            out.append(f"  entered a segment of that interest within {days} day(s): {n} ({self.rate(days):.1%})")
        out.append(f"  placebo, same customers, 2-day windows {list(PLACEBO_OFFSETS)} days before: {self.placebo_rate:.1%}")
        out.append(f"  visited within 1 day of the switch: {self.active}; of them detected within 1 day: "
                   f"{self.detected_active} ({self.active_rate:.1%}); placebo among visitors: {self.placebo_active_rate:.1%}")
        out.append("  by interest (eligible, detected within 1 day): " + ", ".join(
            f"{k} {v[0]}/{v[1]}" for k, v in sorted(self.by_interest.items())))
        return out


def latency_report(switches: pl.DataFrame, history: pl.DataFrame, tied: dict[str, frozenset[str]],
                   products: pl.DataFrame, active_days: pl.DataFrame, first_day: date, last_day: date,
                   min_gain: float = 0.15, warmup_days: int = 7) -> LatencyReport:
    """The figures of `bench/switch_latency.py` and the integration test. `active_days`:
    (customer_id, day) with at least one product view. Switches whose placebo windows would start
    within `warmup_days` of the first evaluated day, or whose 1-day window passes the last, are left
    out (windowed features are not full there, and every first-day membership is an entry)."""
    earliest = first_day + timedelta(days=warmup_days - min(PLACEBO_OFFSETS))
    eligible = (expected_interest_shift(switches, products)
                .filter(pl.col("switch_date").is_between(earliest, last_day - timedelta(days=1)) & (pl.col("gain") >= min_gain)))
    moves = membership_moves(history, tied)

    def visitors(shift: int) -> pl.DataFrame:
        start = pl.col("switch_date") + timedelta(days=shift)
        return (eligible.select("customer_id", "switch_date").join(active_days, on="customer_id")
                .filter(pl.col("day").is_between(start, start + timedelta(days=1)))
                .select("customer_id").unique())

    def rate(frame: pl.DataFrame) -> float:
        return float(frame["detected"].mean()) if frame.height else 0.0

    placebo = [switch_detection(eligible, moves, 1, offset) for offset in PLACEBO_OFFSETS]
    placebo_active = pl.concat([p.join(visitors(o), on="customer_id") for p, o in zip(placebo, PLACEBO_OFFSETS)])
    one_day = switch_detection(eligible, moves, 1)
    one_day_active = one_day.join(visitors(0), on="customer_id")
    per_interest = one_day.group_by("gain_interest").agg(pl.len(), pl.col("detected").sum())
    return LatencyReport(
        switched=switches.height,
        eligible=eligible.height,
        detected={days: int(switch_detection(eligible, moves, days)["detected"].sum()) for days in (0, 1, 7)},
        placebo_rate=float(np.mean([rate(p) for p in placebo])),
        active=one_day_active.height,
        detected_active=int(one_day_active["detected"].sum()),
        placebo_active_rate=rate(placebo_active),
        by_interest={r[0]: (int(r[1]), int(r[2])) for r in per_interest.iter_rows()},
    )


def report_for_warehouse(con, ground_truth: Path, config: SegmentConfig, min_gain: float = 0.15) -> LatencyReport:
    """latency_report on a built warehouse (a read-only connection is enough) and the shop's ground truth."""
    switches = pl.read_parquet(ground_truth / "switches.parquet")
    first_day, last_day = con.execute("select min(as_of_date), max(as_of_date) from marts.segment_days").fetchall()[0]
    if first_day is None:
        raise ValueError("marts.segment_days is empty: build the segments first")

    def frame(sql: str) -> pl.DataFrame:
        return pl.from_arrow(con.sql(sql).to_arrow_table())

    history = frame("select segment, customer_id, valid_from, valid_to from marts.segment_membership_history")
    products = frame("select category, subcategory, brand, tags from staging.stg_products")
    active = frame("select distinct customer_id, as_of_date as day from marts.customer_category_features where views_1d > 0")
    return latency_report(switches, history, segment_interests(config), products, active, first_day, last_day,
                          min_gain=min_gain)
