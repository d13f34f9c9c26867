"""The synthetic shop: determinism, contract conformance, planted behaviour and ground truth."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shop.contract import CAMPAIGN_ASSIGNMENTS, CAMPAIGNS, CUSTOMERS, DEVICE_TYPES, EVENT_TYPES, EVENTS, PRODUCTS
from shop.home import Home
from shop.simulator import default_start, generate
from shop.simulator.personas import PERSONA_NAMES, season_factor

TINY = dict(customers=300, days=30, start=dt.date(2025, 1, 6))
MEDIUM = dict(customers=1500, days=42, start=dt.date(2025, 1, 6))


def _run(root: Path, seed: int, **kw) -> tuple[Home, dict]:
    home = Home(root)
    return home, generate(home, seed=seed, **kw)


def _events(home: Home) -> pl.DataFrame:
    return pl.read_parquet(home.landing / "events" / "*" / "*.parquet", hive_partitioning=False).with_columns(
        pl.col("event_ts").dt.date().alias("date")
    )


def _truth(home: Home, name: str) -> pl.DataFrame:
    return pl.read_parquet(home.ground_truth / name)


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    ranks = pl.Series(score).rank("average").to_numpy()
    pos = y.astype(bool)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Home, dict]:
    return _run(tmp_path_factory.mktemp("tiny_a"), 42, **TINY)


@pytest.fixture(scope="module")
def medium(tmp_path_factory) -> tuple[Home, dict, pl.DataFrame]:
    home, summary = _run(tmp_path_factory.mktemp("medium"), 7, **MEDIUM)
    return home, summary, _events(home)


@pytest.fixture(scope="module")
def medium_personas(medium) -> pl.DataFrame:
    """Customers who never switched, with their persona."""
    home, _, _ = medium
    p = _truth(home, "personas.parquet")
    return p.filter(pl.len().over("customer_id") == 1).select("customer_id", "persona")


def _per_persona(events: pl.DataFrame, personas: pl.DataFrame) -> pl.DataFrame:
    buys = (pl.col("event_type") == "purchase") & (pl.col("quantity") > 0)
    return (
        events.join(personas, on="customer_id")
        .group_by("persona")
        .agg(
            (pl.col("event_type") == "product_view").sum().alias("views"),
            pl.col("order_id").filter(buys).n_unique().alias("orders"),
            pl.col("session_id").filter(pl.col("event_type") == "begin_checkout").n_unique().alias("checkouts"),
            pl.col("search_filters")
            .filter(pl.col("event_type") == "search")
            .fill_null("")
            .str.contains('"on_sale": true|"price_max"')
            .mean()
            .alias("price_filter_share"),
            (pl.col("discount_amount") > 0).filter(buys).mean().alias("discounted_line_share"),
            (pl.col("price") * pl.col("quantity") - pl.col("discount_amount")).filter(buys).sum().alias("revenue"),
        )
        .with_columns(
            (pl.col("views") / pl.col("orders")).alias("views_per_order"),
            (1 - pl.col("orders") / pl.col("checkouts")).alias("abandonment"),
            (pl.col("revenue") / pl.col("orders")).alias("aov"),
        )
    )


# --- determinism and the summary --------------------------------------------------------------------


def _files(home: Home) -> dict[str, bytes]:
    return {str(p.relative_to(home.root)): p.read_bytes() for p in sorted(home.root.rglob("*")) if p.is_file()}


def test_same_inputs_give_identical_bytes(tiny, tmp_path):
    home_a, summary_a = tiny
    home_b, summary_b = _run(tmp_path / "b", 42, **TINY)
    files_a, files_b = _files(home_a), _files(home_b)
    assert list(files_a) == list(files_b)
    assert len(files_a) == summary_a["files_written"] == 30 + 4 + 5 + 1  # days + dimensions + truth tables + meta.json
    differing = [name for name in files_a if files_a[name] != files_b[name]]
    assert differing == []
    assert {k: v for k, v in summary_a.items() if k != "paths"} == {
        k: v for k, v in summary_b.items() if k != "paths"
    }


def test_other_seed_gives_other_data(tiny, tmp_path):
    home_a, summary_a = tiny
    home_c, summary_c = _run(tmp_path / "c", 43, **TINY)
    day = "event_date=2025-01-10/events.parquet"
    a = (home_a.landing / "events" / day).read_bytes()
    c = (home_c.landing / "events" / day).read_bytes()
    assert a != c
    assert summary_a["events"] != summary_c["events"]


def test_summary_matches_files(tiny):
    home, summary = tiny
    events = _events(home)
    assert summary["events"] == events.height
    assert summary["customers"] == 300 and summary["days"] == 30
    assert summary["start"] == "2025-01-06" and summary["end"] == "2025-02-04"
    assert summary["event_counts"] == {t: events.filter(pl.col("event_type") == t).height for t in EVENT_TYPES}
    assert all((home.root / f).is_file() for f in summary["files"])
    assert summary["paths"]["ground_truth"] == str(home.ground_truth)


def test_default_start_ends_yesterday(tmp_path):
    before = default_start(3)
    summary = generate(Home(tmp_path), customers=5, days=3)
    assert summary["start"] in {before.isoformat(), default_start(3).isoformat()}
    assert default_start(3, today=dt.date(2026, 1, 10)) == dt.date(2026, 1, 7)


@pytest.mark.parametrize("kw", [dict(customers=0, days=5), dict(customers=5, days=0),
                                dict(customers=5, days=5, switch_share=1.5)])
def test_bad_arguments_are_refused(tmp_path, kw):
    with pytest.raises(ValueError):
        generate(Home(tmp_path), **kw)


def test_a_rerun_removes_its_stale_days(tmp_path):
    home = Home(tmp_path)
    generate(home, customers=20, days=3, start=dt.date(2025, 3, 1))
    foreign = home.landing_events_day("2025-03-01") / "import.csv"
    foreign.write_text("event_id\n")
    summary = generate(home, customers=20, days=2, start=dt.date(2025, 3, 2))
    days = sorted(p.parent.name for p in (home.landing / "events").glob("*/events.parquet"))
    assert days == ["event_date=2025-03-02", "event_date=2025-03-03"]
    assert summary["removed_stale_files"] == 1
    assert foreign.is_file()  # files the simulator did not write are left alone


# --- contract conformance ---------------------------------------------------------------------------------------


def test_event_files_follow_the_contract(tiny):
    home, _ = tiny
    folders = sorted((home.landing / "events").iterdir())
    assert [f.name for f in folders] == [f"event_date={dt.date(2025, 1, 6) + dt.timedelta(days=i)}" for i in range(30)]
    ids = []
    for folder in folders:
        frame = pl.read_parquet(folder / "events.parquet", hive_partitioning=False)
        assert frame.schema == EVENTS.schema
        day = dt.date.fromisoformat(folder.name.split("=")[1])
        assert frame.height > 0
        assert frame["event_ts"].dt.date().unique().to_list() == [day]
        assert frame["event_ts"].is_sorted()
        assert frame.select(pl.col(EVENTS.required).null_count()).sum_horizontal().item() == 0
        ids.append(frame["event_id"])
    all_ids = pl.concat(ids)
    assert all_ids.n_unique() == len(all_ids)


def test_event_values_are_valid(tiny):
    home, _ = tiny
    e = _events(home)
    assert set(e["event_type"].unique()) == set(EVENT_TYPES)
    assert e.filter(pl.col("customer_id").is_null() & pl.col("anonymous_id").is_null()).height == 0
    assert set(e["device_type"].drop_nulls().unique()) <= set(DEVICE_TYPES)
    assert e["device_type"].null_count() == 0
    assert set(e["country"].unique()) <= {"DE", "FR", "GB", "NL", "ES", "IT", "SE", "PL", "AT"}
    assert set(e["channel"].unique()) == {"web", "app", "ad", "email", "push"}
    for text in e["search_filters"].drop_nulls().unique():
        parsed = json.loads(text)
        assert isinstance(parsed, dict) and parsed
        assert set(parsed) <= {"price_max", "on_sale", "brand", "sort"}
    assert e.filter((pl.col("event_type") == "search") & pl.col("search_query").is_null()).height == 0
    assert e.filter(pl.col("dwell_seconds") < 0).height == 0
    # sessions: one customer/visitor each, no session for message opens
    assert e.filter(pl.col("event_type").is_in(["email_open", "email_click", "push_open"]))["session_id"].null_count() \
        == e.filter(pl.col("event_type").is_in(["email_open", "email_click", "push_open"])).height
    per_session = e.drop_nulls("session_id").group_by("session_id").agg(
        pl.col("anonymous_id").n_unique(), pl.col("customer_id").drop_nulls().n_unique()
    )
    assert per_session["customer_id"].max() <= 1


def test_purchases_and_returns(tiny):
    home, _ = tiny
    e = _events(home)
    p = e.filter(pl.col("event_type") == "purchase")
    assert p.select(["order_id", "product_id", "price", "quantity", "discount_amount", "customer_id"]).null_count() \
        .sum_horizontal().item() == 0
    sales, returns = p.filter(pl.col("quantity") > 0), p.filter(pl.col("quantity") < 0)
    assert (sales["discount_amount"] >= 0).all()
    assert (sales["discount_amount"] <= sales["price"] * sales["quantity"]).all()
    assert returns.height > 0
    # a return refers to an earlier purchase line of the same customer, order and product
    matched = returns.join(
        sales.select("order_id", "product_id", "customer_id", pl.col("event_ts").alias("bought"),
                     pl.col("quantity").alias("bought_qty")),
        on=["order_id", "product_id", "customer_id"],
    )
    assert matched.height == returns.height
    assert (matched["event_ts"] > matched["bought"]).all()
    assert (-matched["quantity"] == matched["bought_qty"]).all()
    # funnels: every order's session saw a product view, add to cart and checkout before the purchase
    orders = sales.select("session_id").unique()
    steps = e.join(orders, on="session_id").group_by("session_id").agg(
        (pl.col("event_type") == "product_view").any().alias("viewed"),
        (pl.col("event_type") == "add_to_cart").any().alias("added"),
        (pl.col("event_type") == "begin_checkout").any().alias("checkout"),
    )
    assert steps.select(pl.all_horizontal("viewed", "added", "checkout").all()).item()


def test_dimension_files_follow_the_contract(tiny):
    home, _ = tiny
    customers = pl.read_parquet(home.landing / "customers" / "customers.parquet")
    products = pl.read_parquet(home.landing / "products" / "products.parquet")
    campaigns = pl.read_parquet(home.landing / "campaigns" / "campaigns.parquet")
    assignments = pl.read_parquet(home.landing / "campaign_assignments" / "assignments.parquet")
    assert customers.schema == CUSTOMERS.schema
    assert products.schema == PRODUCTS.schema
    assert campaigns.schema == CAMPAIGNS.schema
    assignments_schema = CAMPAIGN_ASSIGNMENTS.schema
    assert assignments.schema == assignments_schema

    assert customers["customer_id"].is_unique().all()
    assert customers["email"].str.contains(r"^c\d{6,}@example\.com$").all()
    assert 0 < customers["email_opt_in"].sum() < customers.height
    assert 0 < customers["push_opt_in"].sum() < customers.height
    assert customers["country"].n_unique() > 3

    assert 200 <= products.height <= 600
    assert products["product_id"].is_unique().all()
    assert {"tech", "fashion", "outerwear", "home", "beauty", "sports"} == set(products["category"])
    assert {"laptops", "tablets", "phones", "accessories", "winter_coats"} <= set(products["subcategory"])
    assert products["tags"].drop_nulls().str.contains("eco-friendly").sum() > 20
    prices = products.group_by("category").agg(pl.col("list_price").min().alias("lo"), pl.col("list_price").max()
                                                .alias("hi"))
    assert (prices["hi"] > 2 * prices["lo"]).all()

    assert set(assignments["group"]) == {"treatment", "control"}
    assert assignments.select("campaign_id", "customer_id").is_unique().all()
    assert set(assignments["campaign_id"]) == set(campaigns["campaign_id"])
    # only customers who opted in to the campaign's channel are in an audience
    joined = assignments.join(campaigns, on="campaign_id").join(customers, on="customer_id")
    assert joined.height == assignments.height
    opted = pl.when(pl.col("channel") == "email").then(pl.col("email_opt_in")).otherwise(pl.col("push_opt_in"))
    assert joined.select(opted.all()).item()
    assert (campaigns["discount_pct"].is_between(0, 100)).all()


def test_ground_truth_is_beside_landing_not_inside(tiny):
    home, summary = tiny
    assert not home.ground_truth.resolve().is_relative_to(home.landing.resolve())
    names = {"personas.parquet", "daily_truth.parquet", "uplift.parquet", "switches.parquet",
             "identities.parquet", "meta.json"}
    assert {p.name for p in home.ground_truth.iterdir()} == names
    assert not any(p.name in names for p in home.landing.rglob("*"))
    meta = json.loads((home.ground_truth / "meta.json").read_text())
    assert meta["seed"] == 42 and meta["customers"] == 300
    assert [p["name"] for p in meta["personas"]] == list(PERSONA_NAMES)
    assert all(not f.startswith("ground_truth") for f in summary["files"] if f.startswith("landing"))


# --- planted behaviour -------------------------------------------------------------------------------------------


def test_personas_behave_differently(medium, medium_personas):
    _, _, events = medium
    s = {row["persona"]: row for row in _per_persona(events, medium_personas).iter_rows(named=True)}
    loyal, deal, window, abandoner = (s[p] for p in ("loyal_premium", "deal_seeker", "window_shopper",
                                                     "cart_abandoner"))
    # deal seekers filter by price / on-sale and buy with discounts
    assert deal["price_filter_share"] > 2 * loyal["price_filter_share"]
    assert deal["discounted_line_share"] > 0.6
    assert deal["discounted_line_share"] > loyal["discounted_line_share"] + 0.3
    # loyal premium: highest value orders among the broad shoppers
    assert loyal["aov"] > 1.5 * deal["aov"]
    # window shoppers look a lot per order
    assert window["views_per_order"] > 5 * loyal["views_per_order"]
    # cart abandoners begin checkouts they do not finish
    assert abandoner["abandonment"] > 0.7
    assert abandoner["abandonment"] > loyal["abandonment"] + 0.4


def test_category_enthusiasts(medium, medium_personas):
    home, _, events = medium
    products = pl.read_parquet(home.landing / "products" / "products.parquet")
    views = events.filter(pl.col("event_type") == "product_view").join(medium_personas, on="customer_id").join(
        products.select("product_id", "tags"), on="product_id"
    )
    share = views.group_by("persona").agg(
        (pl.col("category") == "tech").mean().alias("tech"),
        pl.col("tags").fill_null("").str.contains("eco-friendly").mean().alias("eco"),
        (pl.col("category") == "outerwear").mean().alias("outerwear"),
    )
    s = {row["persona"]: row for row in share.iter_rows(named=True)}
    assert s["tech_enthusiast"]["tech"] > 0.6
    assert s["eco_enthusiast"]["eco"] > 2 * s["loyal_premium"]["eco"]
    assert s["seasonal_shopper"]["outerwear"] > 2 * s["loyal_premium"]["outerwear"]


def test_lapsing_customers_fade(medium, medium_personas):
    _, _, events = medium
    lapsing = medium_personas.filter(pl.col("persona") == "lapsing")
    e = events.join(lapsing, on="customer_id")
    start = MEDIUM["start"]
    first = e.filter(pl.col("date") < start + dt.timedelta(days=14)).height
    last = e.filter(pl.col("date") >= start + dt.timedelta(days=28)).height
    assert last < 0.6 * first
    loyal = events.join(medium_personas.filter(pl.col("persona") == "loyal_premium"), on="customer_id")
    assert loyal.filter(pl.col("date") >= start + dt.timedelta(days=28)).height > 0.7 * loyal.filter(
        pl.col("date") < start + dt.timedelta(days=14)).height


def test_weekends_are_busier(medium):
    _, _, events = medium
    per_day = events.group_by("date").len().with_columns(pl.col("date").dt.weekday().alias("wd"))
    weekend = per_day.filter(pl.col("wd") >= 6)["len"].mean()
    weekday = per_day.filter(pl.col("wd") <= 4)["len"].mean()
    assert weekend > 1.05 * weekday


def test_new_visitors_are_anonymous_until_identify(medium):
    home, _, events = medium
    identities = _truth(home, "identities.parquet")
    customers = pl.read_parquet(home.landing / "customers" / "customers.parquet")
    assert identities.height > 100
    ident = events.filter(pl.col("event_type") == "identify")
    assert ident.select(pl.col("customer_id").null_count() + pl.col("anonymous_id").null_count()).item() == 0
    assert ident["customer_id"].is_unique().all()
    # the identify event links the anonymous_id of the truth to the customer, at sign-up
    linked = ident.select("customer_id", "anonymous_id", pl.col("event_ts").alias("identified_at"))
    assert linked.join(identities, on=["customer_id", "anonymous_id"]).height == ident.height == identities.height
    signup = customers.join(linked, on="customer_id")
    assert (signup["signup_ts"] == signup["identified_at"]).all()
    visits = events.filter(pl.col("anonymous_id").is_not_null()).join(linked.drop("customer_id"), on="anonymous_id")
    before = visits.filter(pl.col("event_ts") < pl.col("identified_at"))
    after = visits.filter(pl.col("event_ts") > pl.col("identified_at"))
    assert before.height > 0 and before["customer_id"].null_count() == before.height
    assert after["customer_id"].null_count() == 0
    # anonymous events exist only for new visitors
    anonymous = events.filter(pl.col("customer_id").is_null())
    assert anonymous.height > 0
    assert set(anonymous["anonymous_id"]) <= set(identities["anonymous_id"])
    assert anonymous.filter(pl.col("event_type") == "purchase").height == 0


def test_switches_are_recorded_and_visible(medium):
    home, summary, events = medium
    switches = _truth(home, "switches.parquet")
    personas = _truth(home, "personas.parquet")
    truth = _truth(home, "daily_truth.parquet")
    assert switches.height == summary["switches"] == round(0.1 * MEDIUM["customers"])
    rows = personas.group_by("customer_id").len()
    assert rows.filter(pl.col("len") == 2)["customer_id"].sort().to_list() == switches["customer_id"].sort().to_list()
    assert rows.height == MEDIUM["customers"]
    second = personas.filter(pl.len().over("customer_id") == 2).group_by("customer_id").agg(
        pl.col("valid_to").first().alias("to1"), pl.col("valid_from").last().alias("from2"),
        pl.col("persona").last().alias("p2"))
    check = second.join(switches, on="customer_id")
    assert (check["from2"] == check["switch_date"]).all()
    assert (check["to1"] == check["switch_date"] - dt.timedelta(days=1)).all()
    assert (check["p2"] == check["to_persona"]).all()
    # the daily truth labels follow the switch
    labelled = truth.join(switches, on="customer_id").with_columns(
        pl.when(pl.col("date") < pl.col("switch_date")).then(pl.col("from_persona")).otherwise(
            pl.col("to_persona")).alias("expected"))
    assert (labelled["persona"] == labelled["expected"]).all()
    # behaviour changes: premium taste after becoming loyal, new subcategory after a focus move
    products = pl.read_parquet(home.landing / "products" / "products.parquet").select("product_id", "subcategory")
    views = events.filter(pl.col("event_type") == "product_view").join(switches, on="customer_id").join(
        products, on="product_id").with_columns((pl.col("date") >= pl.col("switch_date")).alias("after"))
    to_loyal = views.filter((pl.col("to_persona") == "loyal_premium") & (pl.col("from_persona") != "loyal_premium"))
    price = {r["after"]: r["price"] for r in to_loyal.group_by("after").agg(pl.col("price").mean()).iter_rows(
        named=True)}
    assert price[True] > 1.3 * price[False]
    moved = views.filter(pl.col("from_persona") == pl.col("to_persona"))
    assert moved.height > 0
    share = {r["after"]: r for r in moved.group_by("after").agg(
        (pl.col("subcategory") == pl.col("to_focus")).mean().alias("new"),
        (pl.col("subcategory") == pl.col("from_focus")).mean().alias("old")).iter_rows(named=True)}
    assert share[True]["new"] > share[False]["new"] + 0.2
    assert share[True]["old"] < share[False]["old"] - 0.2


def test_campaigns_lift_discount_sensitive_customers(medium):
    home, _, events = medium
    assignments = pl.read_parquet(home.landing / "campaign_assignments" / "assignments.parquet")
    campaigns = pl.read_parquet(home.landing / "campaigns" / "campaigns.parquet")
    truth = _truth(home, "daily_truth.parquet")
    uplift = _truth(home, "uplift.parquet")
    assert campaigns.height == 3
    assert uplift.select("campaign_id", "customer_id", "group").sort("campaign_id", "customer_id").equals(
        assignments.select("campaign_id", "customer_id", "group").sort("campaign_id", "customer_id"))
    # only the treatment group gets messages
    messages = events.filter(pl.col("event_type").is_in(["email_open", "email_click", "push_open"]))
    got = messages.join(assignments, on=["campaign_id", "customer_id"], how="left")
    assert got["group"].to_list() and set(got["group"]) == {"treatment"}
    # purchase in the 7 days after the send: treatment vs control, per persona on the send day
    buys = events.filter((pl.col("event_type") == "purchase") & (pl.col("quantity") > 0)).select(
        "customer_id", pl.col("date").alias("bought")).unique()
    window = (
        assignments.with_columns(pl.col("sent_ts").dt.date().alias("sent"))
        .join(buys, on="customer_id", how="left")
        .group_by("campaign_id", "customer_id", "group", "sent")
        .agg(((pl.col("bought") > pl.col("sent")) & (pl.col("bought") <= pl.col("sent") + pl.duration(days=7)))
             .fill_null(False).any().alias("bought"))
        .join(truth.select("customer_id", pl.col("date").alias("sent"), "persona"), on=["customer_id", "sent"])
    )
    rate = {(r["persona"], r["group"]): r["bought"]
            for r in window.group_by("persona", "group").agg(pl.col("bought").mean()).iter_rows(named=True)}
    assert rate[("deal_seeker", "treatment")] > rate[("deal_seeker", "control")] + 0.1
    # the uplift truth ranks deal seekers far above loyal premium customers
    true = uplift.join(window.select("campaign_id", "customer_id", "persona"), on=["campaign_id", "customer_id"])
    mean = {r["persona"]: r["true_uplift"] for r in true.group_by("persona").agg(pl.col("true_uplift").mean())
            .iter_rows(named=True)}
    assert mean["deal_seeker"] > 5 * mean["loyal_premium"]
    assert (uplift["true_uplift"] >= 0).all()
    assert (uplift["p_window_treated"] <= 1).all()


def test_daily_truth_is_what_drew_the_purchases(medium):
    home, _, events = medium
    truth = _truth(home, "daily_truth.parquet")
    assert truth.height == MEDIUM["customers"] * MEDIUM["days"]
    assert truth.select("customer_id", "date").is_unique().all()
    bought = events.filter((pl.col("event_type") == "purchase") & (pl.col("quantity") > 0)).select(
        "customer_id", "date").unique().with_columns(pl.lit(1).alias("y"))
    joined = truth.join(bought, on=["customer_id", "date"], how="left").with_columns(pl.col("y").fill_null(0))
    assert joined["y"].sum() == bought.height  # every purchase day is a customer-day of the truth
    assert joined.filter((pl.col("p_purchase") == 0) & (pl.col("y") == 1)).height == 0
    p = joined["p_purchase"].to_numpy()
    expected, sd = p.sum(), np.sqrt((p * (1 - p)).sum())
    assert abs(joined["y"].sum() - expected) < 4 * sd
    # calibrated in bins, and informative
    edges = np.quantile(p, [0.2, 0.4, 0.6, 0.8])
    binned = joined.with_columns(pl.Series("bin", np.searchsorted(edges, p))).group_by("bin").agg(
        pl.col("p_purchase").sum(), pl.col("y").sum(), pl.len())
    for row in binned.iter_rows(named=True):
        assert abs(row["y"] - row["p_purchase"]) < 4 * np.sqrt(row["p_purchase"]) + 3
    assert _auc(joined["y"].to_numpy(), p) > 0.7
    # the campaign boost is only ever an increase
    assert (truth["p_purchase"] >= truth["p_purchase_base"]).all()


def test_outerwear_and_seasonal_shoppers_peak_in_winter(tmp_path):
    home, _ = _run(tmp_path, 3, customers=150, days=240, start=dt.date(2025, 6, 1))
    events = _events(home).with_columns(pl.col("event_ts").dt.month().alias("month"))
    views = events.filter(pl.col("event_type") == "product_view")
    share = {r["month"]: r["outerwear"] for r in views.group_by("month").agg(
        (pl.col("category") == "outerwear").mean().alias("outerwear")).iter_rows(named=True)}
    assert min(share[12], share[1]) > 3 * max(share[6], share[7])
    personas = _truth(home, "personas.parquet").filter(pl.len().over("customer_id") == 1)
    seasonal = events.join(personas.filter(pl.col("persona") == "seasonal_shopper"), on="customer_id")
    by_month = seasonal.group_by("month").len()
    n = {r["month"]: r["len"] for r in by_month.iter_rows(named=True)}
    assert n[12] > 3 * n[7]


def test_season_factor_peaks_in_january():
    doy = np.arange(1, 366)
    f = season_factor(doy, 0.8)
    assert doy[np.argmax(f)] == 10
    assert f.min() >= 0.05 and 180 <= doy[np.argmin(f)] <= 200
    assert np.allclose(season_factor(doy, 0.0), 1.0)
