"""Tag features, recommendations and campaign results on the tiny lake, extended here with product
tags (messy on purpose), a treatment/control campaign whose outcome is worked out by hand, shoppers
who buy two products together and a customer nobody else resembles."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from shop.contract import CAMPAIGN_ASSIGNMENTS, CAMPAIGNS, PRODUCTS
from tests.dbt import lake, reference
from tests.dbt.runner import DbtHome

D1, D2, D3, D4, D5 = lake.EVENT_DAYS
LAST = lake.DAYS[-1]
ts = lake.ts

TAGS = {
    "p1": "Eco-Friendly, premium",
    "p2": None,
    "p3": "eco-friendly,,eco-friendly",
    "p4": "  winter ",
    "p5": "",
    "p6": "eco-friendly,winter",
    "p7": None,
    "p8": "gift",
    "p9": "eco-friendly",  # never seen in an event
}
CAMPAIGN_SENT = ts(D3, 7, 0)


def event(event_id: str, at, event_type: str, **fields) -> dict:
    return {"event_id": event_id, "event_ts": at, "event_type": event_type, **fields}


def extra_events() -> list[dict]:
    def bought(event_id, at, who, product, price, quantity=1, order=None, **fields):
        return event(event_id, at, "purchase", product_id=product, price=price, quantity=quantity,
                     order_id=order or f"o-{event_id}", **{**who, **fields})

    return [
        # campaign k1, sent on day 3 at 07:00 to t1..t4 (treatment) and u1..u4 (control)
        event("t1-v", ts(D1, 9, 0), "product_view", customer_id="t1", product_id="p1"),
        bought("t1-b", ts(D4, 10, 0), {"customer_id": "t1"}, "p1", 50.0),
        event("t2-v", ts(D2, 9, 0), "product_view", customer_id="t2", product_id="p2"),
        bought("t2-early", ts(D3, 6, 0), {"customer_id": "t2"}, "p2", 99.0),  # before the send
        bought("t2-b", ts(D5, 12, 0), {"customer_id": "t2"}, "p2", 20.0, quantity=2),
        event("at3-v", ts(D1, 9, 0), "product_view", anonymous_id="at3", product_id="p3"),
        bought("at3-b", ts(D4, 9, 0), {"anonymous_id": "at3"}, "p3", 10.0),  # anonymous, identified as t3 later
        event("at3-id", ts(D5, 9, 0), "identify", anonymous_id="at3", customer_id="t3"),
        bought("t4-r", ts(D4, 9, 0), {"customer_id": "t4"}, "p1", 50.0, quantity=-1),  # a return is no conversion
        event("u1-v", ts(D2, 9, 0), "product_view", customer_id="u1", product_id="p1"),
        bought("u1-b", ts(D5, 8, 0), {"customer_id": "u1"}, "p4", 30.0),
        event("u2-v", ts(D1, 9, 0), "product_view", customer_id="u2", product_id="p2"),
        # y1 and y2 buy p1 with p6; x1 bought p1 on the last event day and looked at p5
        bought("y1-b1", ts(D2, 10, 0), {"customer_id": "y1"}, "p1", 100.0, order="oy1"),
        bought("y1-b2", ts(D2, 10, 0), {"customer_id": "y1"}, "p6", 60.0, order="oy1"),
        bought("y2-b1", ts(D3, 10, 0), {"customer_id": "y2"}, "p1", 100.0, order="oy2"),
        bought("y2-b2", ts(D3, 10, 0), {"customer_id": "y2"}, "p6", 60.0, order="oy2"),
        bought("x1-b", ts(D5, 11, 0), {"customer_id": "x1"}, "p1", 100.0),
        event("x1-v", ts(D5, 11, 5), "product_view", customer_id="x1", product_id="p5"),
        # z1 only looked at a product nobody else touched: nothing co-occurs, popular products fill in
        event("z1-v", ts(D5, 12, 0), "product_view", customer_id="z1", product_id="p99", category="garden"),
        # g1 browses mostly eco-friendly products, and one event without a product id
        *[event(f"g1-{i}", ts(day, 14, i), "product_view", customer_id="g1", product_id=product)
          for i, (day, product) in enumerate([(D2, "p1"), (D2, "p3"), (D3, "p6"), (D4, "p2"), (D4, "p3")])],
        event("g1-x", ts(D4, 15, 0), "product_view", customer_id="g1"),
    ]


def dimensions() -> dict[str, pl.DataFrame]:
    frames = lake.dimensions()
    products = pl.concat([
        frames["products"].drop("tags"),
        pl.DataFrame({"product_id": ["p9"], "category": ["garden"]}),
    ], how="diagonal")
    frames["products"] = products.with_columns(
        pl.col("product_id").replace_strict(TAGS, return_dtype=pl.String).alias("tags")
    ).select(PRODUCTS.schema.names()).cast(PRODUCTS.schema)
    frames["campaigns"] = pl.concat([
        frames["campaigns"],
        pl.from_dicts([{"campaign_id": "k1", "channel": "email", "offer_type": "discount", "discount_pct": 15.0}],
                      schema=CAMPAIGNS.schema),
    ])
    assignments = [{"campaign_id": "k1", "customer_id": c, "group": g, "sent_ts": CAMPAIGN_SENT}
                   for c, g in [("t1", "treatment"), ("t2", "treatment"), ("t3", "treatment"), ("t4", "treatment"),
                                ("u1", "control"), ("u2", "control"), ("u3", "control"), ("u4", "control")]]
    frames["campaign_assignments"] = pl.concat([
        frames["campaign_assignments"], pl.from_dicts(assignments, schema=CAMPAIGN_ASSIGNMENTS.schema),
    ])
    return frames


TABLES = ("marts.customer_tag_features", "marts.customer_recommendations", "marts.campaign_results")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    home = tmp_path_factory.mktemp("tagged")
    lake.write_events(home, lake.all_events() + extra_events())
    lake.write_dimensions(home, dimensions())
    dbt = DbtHome(home)
    result = dbt.run_ok("build")
    state = {"build_failures": [r.node.unique_id for r in result.result.results
                                if str(r.status) not in ("success", "pass", "no-op")]}
    state["full"] = {t: dbt.frame(f"select * from {t}") for t in TABLES}
    # an older window rebuilt: the latest recommendations / results are refreshed, not joined by old ones
    dbt.run_ok("run", window=(lake.DAYS[1].isoformat(), lake.DAYS[2].isoformat()))
    state["older_window"] = {t: dbt.frame(f"select * from {t}") for t in TABLES}
    dbt.run_ok("run", "--select", "customer_recommendations", "campaign_results",
               vars={"recommendations_top_n": 2, "campaign_outcome_days": 2})
    state["short"] = {t: dbt.frame(f"select * from {t}") for t in TABLES[1:]}
    dbt.state = state
    return dbt


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def test_new_marts_have_enforced_contracts_documented_columns_and_data_tests(built):
    nodes = built.manifest.nodes.values()
    models = {n.name: n for n in nodes if n.resource_type == "model"}
    tested = {model for n in nodes if n.resource_type == "test" for model in n.depends_on.nodes}
    for name in ("customer_tag_features", "customer_recommendations", "campaign_results"):
        model = models[name]
        assert model.config.contract.enforced and model.schema == "marts" and "partitioned" in model.tags
        assert model.columns and all(c.description and c.data_type for c in model.columns.values()), name
        assert model.unique_id in tested, name
    for name in ("int_product_tags", "int_visitor_product_daily", "int_product_pairs_daily"):
        assert models[name].description and all(c.description for c in models[name].columns.values())
    # data tests of the new models ran on this lake's tags, campaign and co-purchases, and passed
    assert built.state["build_failures"] == []


# ---- tag features -------------------------------------------------------------------------------

def product_tags() -> pl.DataFrame:
    return (
        pl.DataFrame({"product_id": list(TAGS), "tags": list(TAGS.values())}, schema={"product_id": pl.String, "tags": pl.String})
        .with_columns(pl.col("tags").str.split(","))
        .explode("tags")
        .with_columns(pl.col("tags").str.strip_chars().str.to_lowercase().alias("tag"))
        .filter(pl.col("tag").is_not_null() & (pl.col("tag") != ""))
        .select("product_id", "tag")
        .unique()
    )


def tag_features_as_of(events: pl.DataFrame, as_of: date) -> pl.DataFrame:
    keyed = reference.keyed_as_of(events, reference.identity_links(events), as_of).filter(
        pl.col("event_date") > as_of - timedelta(days=90))
    views = keyed.filter(pl.col("event_type") == "product_view")
    all_views = views.group_by("key").agg(
        pl.len().alias("all_views"),
        (pl.col("event_date") > as_of - timedelta(days=7)).sum().alias("all_views_7d"),
        (pl.col("event_date") == as_of).sum().alias("all_views_1d"))
    recent = pl.col("event_date") > as_of - timedelta(days=30)
    tag_views = views.join(product_tags(), on="product_id").group_by("key", "tag").agg(
        (pl.col("event_date") == as_of).sum().alias("views_1d"),
        (pl.col("event_date") > as_of - timedelta(days=7)).sum().alias("views_7d"),
        recent.sum().alias("views_30d"), pl.len().alias("views_90d"))
    sold = keyed.filter((pl.col("event_type") == "purchase") & (pl.col("quantity").fill_null(1) > 0)).with_columns(
        pl.coalesce("order_id", "event_id").alias("order"))
    tag_orders = sold.join(product_tags(), on="product_id").group_by("key", "tag").agg(
        pl.struct("visitor_key", "event_date", "order").n_unique().alias("orders_90d"))
    return (
        tag_views.join(tag_orders, on=["key", "tag"], how="full", coalesce=True)
        .join(all_views, on="key", how="left")
        .with_columns(
            pl.col("views_1d", "views_7d", "views_30d", "views_90d", "orders_90d").fill_null(0),
            pl.lit(as_of).alias("as_of_date"),
        )
        .with_columns(
            (pl.col("views_90d") / pl.col("all_views")).alias("share_of_views_90d"),
            (pl.col("views_7d") / pl.col("all_views_7d").replace(0, None)).alias("share_of_views_7d"),
            (pl.col("views_1d") / pl.col("all_views_1d").replace(0, None)).alias("share_of_views_1d"),
        )
        .select(pl.col("key").alias("customer_id"), "as_of_date", "tag", "views_1d", "views_7d", "views_30d", "views_90d",
                "orders_90d", "share_of_views_1d", "share_of_views_7d",
                "share_of_views_90d")
    )


def test_tag_shares_match_an_independent_polars_computation(built):
    events = reference.lake_events(built.home)
    expected = pl.concat([tag_features_as_of(events, day) for day in lake.DAYS])
    actual = built.state["full"]["marts.customer_tag_features"]
    assert_frame_equal(canonical(actual), canonical(expected.select(actual.columns)), check_dtypes=False,
                       check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    assert set(actual["tag"]) == {"eco-friendly", "premium", "winter", "gift"}
    g1 = actual.filter((pl.col("customer_id") == "g1") & (pl.col("as_of_date") == LAST) & (pl.col("tag") == "eco-friendly"))
    # 4 of g1's 6 product views were on eco-friendly products (p1, p3, p6, p3); p2 and the unknown one were not
    assert g1.select("views_90d", "share_of_views_90d").row(0) == (4, pytest.approx(4 / 6))
    # t3's anonymous eco purchase counts for t3 only from the identify on day 5
    t3 = actual.filter((pl.col("customer_id") == "t3") & (pl.col("tag") == "eco-friendly")).sort("as_of_date")
    assert t3["as_of_date"].to_list() == [D5, LAST] and t3["orders_90d"].to_list() == [1, 1]


# ---- recommendations ----------------------------------------------------------------------------

def test_recommendations_never_include_a_product_bought_in_the_last_30_days(built):
    recs = built.state["full"]["marts.customer_recommendations"]
    assert recs["as_of_date"].unique().to_list() == [LAST]
    events = reference.lake_events(built.home)
    keyed = reference.keyed_as_of(events, reference.identity_links(events), LAST)
    bought = keyed.filter(
        (pl.col("event_type") == "purchase") & (pl.col("quantity").fill_null(1) > 0)
        & (pl.col("event_date") > LAST - timedelta(days=30))
    ).select(pl.col("key").alias("customer_id"), "product_id").unique()
    assert bought.height > 20
    assert recs.join(bought, on=["customer_id", "product_id"]).height == 0
    x1 = recs.filter(pl.col("customer_id") == "x1").sort("rank")
    assert "p1" not in x1["product_id"].to_list()
    assert x1.row(0, named=True) | {"score": None} == {
        "customer_id": "x1", "as_of_date": LAST, "rank": 1, "product_id": "p6", "category": "books",
        "score": None, "reason": "co_purchase"}
    assert x1["score"][0] >= 2  # y1 and y2 bought p1 with p6


def test_recommendations_are_ranked_top_n_for_active_identified_customers(built):
    recs = built.state["full"]["marts.customer_recommendations"]
    assert not recs["customer_id"].str.starts_with("anon:").any()
    per_customer = recs.group_by("customer_id").agg(pl.col("rank").sort(), pl.col("product_id").n_unique().alias("n"))
    assert all(ranks == list(range(1, len(ranks) + 1)) and len(ranks) <= 5 for ranks in per_customer["rank"].to_list())
    assert (per_customer["n"] == per_customer["rank"].list.len()).all()
    assert {"c1", "x1", "z1", "t3"} <= set(recs["customer_id"])
    tiers = {"co_purchase": 1, "co_view": 2, "popular": 3}
    for _, rows in recs.sort("rank").group_by("customer_id"):
        order = [tiers[r] for r in rows["reason"]]
        assert order == sorted(order)
    # z1 shares nothing with anyone: popular products, its top category (garden) first
    z1 = recs.filter(pl.col("customer_id") == "z1").sort("rank")
    assert z1.height == 5 and set(z1["reason"]) == {"popular"}
    assert z1["category"][0] == "garden"
    short = built.state["short"]["marts.customer_recommendations"]
    assert short["rank"].max() == 2
    assert_frame_equal(canonical(short), canonical(recs.filter(pl.col("rank") <= 2)))


def test_rebuilding_an_older_window_changes_nothing(built):
    # tag features: the window D2..D3 replaced with the same rows; recommendations and campaign results:
    # still the one snapshot of the last day, recomputed identically (deterministic tie-breaks)
    for table in TABLES:
        assert_frame_equal(canonical(built.state["older_window"][table]), canonical(built.state["full"][table]),
                           check_exact=True)


# ---- campaign results ---------------------------------------------------------------------------

def k1(frame: pl.DataFrame, breakdown: str = "all", value: str = "all") -> dict[str, dict]:
    rows = frame.filter((pl.col("campaign_id") == "k1") & (pl.col("breakdown") == breakdown)
                        & (pl.col("breakdown_value") == value))
    return {r["assignment_group"]: r for r in rows.iter_rows(named=True)}


def test_campaign_uplift_and_its_confidence_interval_by_hand(built):
    results = built.state["full"]["marts.campaign_results"]
    k = k1(results)
    treatment, control = k["treatment"], k["control"]
    # treatment: t1 (day 4), t2 (day 5; its day-3 purchase came before the send), t3 (anonymous, linked
    # on day 5) converted, t4 only returned; control: u1 only. Revenue 50 + 2 x 20 + 10 vs 30.
    assert (treatment["customers"], treatment["converters"], treatment["revenue"]) == (4, 3, 100.0)
    assert (control["customers"], control["converters"], control["revenue"]) == (4, 1, 30.0)
    assert treatment["conversion_rate"] == 0.75 and control["conversion_rate"] == 0.25
    assert treatment["revenue_per_customer"] == 25.0 and control["revenue_per_customer"] == 7.5
    # uplift 0.75 - 0.25 = 0.5; se = sqrt(0.75 * 0.25 / 4 + 0.25 * 0.75 / 4) = sqrt(0.09375) = 0.306186;
    # 1.959964 * 0.306186 = 0.600114
    for row in (treatment, control):
        assert row["uplift"] == pytest.approx(0.5)
        assert row["uplift_ci_low"] == pytest.approx(-0.100114, abs=1e-6)
        assert row["uplift_ci_high"] == pytest.approx(1.100114, abs=1e-6)
        assert row["revenue_per_customer_uplift"] == pytest.approx(17.5)
    # sent on day 3 with a 14-day outcome window: not over by day 6
    assert treatment["outcome_end_date"] == D3 + timedelta(days=14) and treatment["is_complete"] is False
    assert (treatment["channel"], treatment["offer_type"], treatment["outcome_days"]) == ("email", "discount", 14)


def test_campaign_outcome_window_and_completeness_follow_the_var(built):
    k = k1(built.state["short"]["marts.campaign_results"])
    # 2 days after day 3 07:00: t1 (day 4 10:00) and t3 (day 4 09:00) count, t2 (day 5 12:00) and u1 (day 5 08:00) not
    assert (k["treatment"]["converters"], k["control"]["converters"]) == (2, 0)
    # se = sqrt(0.5 * 0.5 / 4 + 0) = 0.25; 1.959964 * 0.25 = 0.489991
    assert k["treatment"]["uplift_ci_low"] == pytest.approx(0.010009, abs=1e-6)
    assert k["treatment"]["uplift_ci_high"] == pytest.approx(0.989991, abs=1e-6)
    assert k["treatment"]["is_complete"] is True and k["treatment"]["outcome_end_date"] == D5


def test_campaign_results_by_top_category_before_the_send(built):
    results = built.state["full"]["marts.campaign_results"]
    # t1 and u1 viewed electronics, t2 and u2 books, t3 (through its anonymous id) garden; t4, u3, u4 nothing
    electronics, books = k1(results, "top_category", "electronics"), k1(results, "top_category", "books")
    garden, none = k1(results, "top_category", "garden"), k1(results, "top_category", "(none)")
    assert {g: (r["customers"], r["converters"]) for g, r in electronics.items()} == {"treatment": (1, 1), "control": (1, 1)}
    assert {g: (r["customers"], r["converters"]) for g, r in books.items()} == {"treatment": (1, 1), "control": (1, 0)}
    assert books["treatment"]["uplift"] == 1.0 and electronics["control"]["uplift"] == 0.0
    assert set(garden) == {"treatment"} and garden["treatment"]["uplift"] is None
    assert {g: r["customers"] for g, r in none.items()} == {"treatment": 1, "control": 2}
    # a campaign with a treatment group only has no uplift
    p1 = results.filter((pl.col("campaign_id") == "p1") & (pl.col("breakdown") == "all"))
    assert p1["assignment_group"].to_list() == ["treatment"] and p1["uplift"].to_list() == [None]
