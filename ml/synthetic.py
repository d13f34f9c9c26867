"""Synthetic inputs with planted answers, for tests and benchmarks of the ml layer.

`synthetic_features` draws a customer_features-shaped frame from a few personas;
`build_synthetic_warehouse` simulates daily activity, category purchases and a randomized discount
campaign, and derives the marts the ml layer reads (a small subset of the real columns, on purpose:
the models must cope with whatever columns a shop has).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

CATEGORIES = ("electronics", "fashion", "home", "beauty", "sports", "books")
DEVICES = ("mobile", "desktop", "tablet")
COUNTRIES = ("DE", "FR", "NL", "PL")

# persona -> (daily purchase rate, order value, sessions/30d, cart adds/30d, discount share, email open rate)
PERSONAS = {
    "loyal": (0.08, 90.0, 20.0, 8.0, 0.1, 0.5),
    "discount": (0.03, 40.0, 10.0, 6.0, 0.8, 0.6),
    "browser": (0.004, 30.0, 25.0, 2.0, 0.2, 0.2),
    "lapsing": (0.01, 60.0, 2.0, 0.3, 0.3, 0.05),
}


def synthetic_features(n: int, seed: int = 0, as_of: date = date(2025, 6, 1), personas: np.ndarray | None = None) -> pl.DataFrame:
    """A feature snapshot for `n` customers; column `persona` is the planted truth (drop it before fitting)."""
    rng = np.random.default_rng(seed)
    names = list(PERSONAS)
    if personas is None:
        personas = rng.choice(len(names), size=n, p=[0.2, 0.25, 0.35, 0.2])
    params = np.array([PERSONAS[names[i]] for i in range(len(names))])[personas]
    rate, value, sessions, carts, discount, opens = params.T
    tenure = rng.integers(10, 400, n).astype(np.float64)
    frequency = rng.poisson(rate * tenure)
    recency = np.where(frequency > 0, rng.exponential(1 / np.maximum(rate, 1e-3)).clip(0, tenure), np.nan)
    monetary = frequency * value * rng.lognormal(0, 0.3, n)
    sessions_30d = rng.poisson(sessions)
    top = rng.choice(len(CATEGORIES), size=n)
    return pl.DataFrame({
        "customer_id": [f"c{seed}_{i}" for i in range(n)],
        "as_of_date": [as_of] * n,
        "is_identified": rng.random(n) < 0.8,
        "tenure_days": tenure,
        "days_since_last_seen": rng.exponential(30 / np.maximum(sessions, 1)).round(),
        "recency_days": pl.Series(np.round(recency)).fill_nan(None),
        "frequency": frequency.astype(np.int64),
        "monetary": monetary,
        "avg_order_value": pl.Series(np.where(frequency > 0, monetary / np.maximum(frequency, 1), np.nan)).fill_nan(None),
        "orders_30d": rng.poisson(rate * 30),
        "orders_90d": rng.poisson(rate * 90),
        "revenue_90d": rng.poisson(rate * 90) * value,
        "sessions_30d": sessions_30d,
        "product_views_30d": rng.poisson(sessions * 4),
        "cart_adds_30d": rng.poisson(carts),
        "discount_revenue_share": np.clip(discount + rng.normal(0, 0.1, n), 0, 1),
        "email_open_rate": np.clip(opens + rng.normal(0, 0.1, n), 0, 1),
        "primary_device": pl.Series(np.array(DEVICES, dtype=object)[rng.choice(3, size=n, p=[0.6, 0.3, 0.1])].tolist(), dtype=pl.String),
        "country": pl.Series(np.array(COUNTRIES, dtype=object)[rng.choice(4, size=n)].tolist(), dtype=pl.String),
        "top_category": pl.Series(np.array(CATEGORIES, dtype=object)[top].tolist(), dtype=pl.String),
        "gender": pl.Series(np.array(["f", "m", None], dtype=object)[rng.choice(3, size=n)].tolist(), dtype=pl.String),
        "persona": pl.Series(np.array(names, dtype=object)[personas].tolist(), dtype=pl.String),
    })


def planted_purchase_probability(frame: pl.DataFrame) -> np.ndarray:
    """A known function of the features: recent, cart-adding, email-opening customers buy."""
    rec = frame.get_column("recency_days").fill_nan(None).fill_null(365).to_numpy()
    carts = frame.get_column("cart_adds_30d").to_numpy()
    opens = frame.get_column("email_open_rate").to_numpy()
    logit = -2.0 - 0.02 * rec + 0.35 * carts + 2.0 * opens
    return 1 / (1 + np.exp(-logit))


def _simulate(n: int, days: int, seed: int):
    rng = np.random.default_rng(seed)
    names = list(PERSONAS)
    persona = rng.choice(len(names), size=n, p=[0.2, 0.25, 0.35, 0.2])
    params = np.array([PERSONAS[k] for k in names])[persona]
    rate, value, sessions, carts, discount, opens = params.T
    start_day = rng.integers(0, days // 3, n)  # first seen
    stop_day = np.where(persona == 3, rng.integers(days // 3, days, n), days + 1)  # lapsing customers leave
    fav = rng.choice(len(CATEGORIES), size=n)
    return rng, persona, rate, value, sessions, carts, discount, opens, start_day, stop_day, fav


def _dates(start: date, offsets: np.ndarray) -> pl.Series:
    """start + offsets days, vectorized (a Python date per row needs gigabytes at a million customers)."""
    epoch_day = (start - date(1970, 1, 1)).days
    return pl.Series(offsets.astype(np.int32) + epoch_day).cast(pl.Date)


def _customer_ids(indexes: np.ndarray) -> pl.Series:
    """f"cust-{i:05d}" for each index, vectorized."""
    return pl.select(pl.format("cust-{}", pl.Series(indexes).cast(pl.String).str.zfill(5))).to_series()


def build_synthetic_warehouse(path: str | Path, n_customers: int = 600, days: int = 150, seed: int = 0,
                              start: date = date(2025, 1, 1), campaign_day: int | None = None,
                              snapshot_every: int = 7) -> dict:
    """Write a small DuckDB warehouse with marts.customer_daily_activity, marts.customer_category_daily,
    marts.customer_features (snapshots every `snapshot_every` days plus the last 3 days) and a
    randomized discount campaign in staging. Discount-loving customers respond to the discount."""
    rng, persona, rate, value, sessions, carts, discount, opens, first, stop, fav = _simulate(n_customers, days, seed)
    ids = np.array([f"cust-{i:05d}" for i in range(n_customers)], dtype=object)
    campaign_day = campaign_day if campaign_day is not None else days - 30
    treated = rng.random(n_customers) < 0.5
    day_idx = np.arange(days)
    alive = (day_idx[None, :] >= first[:, None]) & (day_idx[None, :] < stop[:, None])
    boost = np.ones((n_customers, days))
    window = (day_idx >= campaign_day) & (day_idx < campaign_day + 14)
    boost[:, window] += (treated * discount * 3.0)[:, None]  # uplift only for discount-sensitive, treated
    orders = rng.poisson(rate[:, None] * boost * alive)
    session_counts = rng.poisson((sessions / 30)[:, None] * alive)
    ci, di = np.nonzero(orders + session_counts)
    n_orders = orders[ci, di]
    revenue = n_orders * value[ci] * rng.lognormal(0, 0.2, len(ci))
    activity = pl.DataFrame({
        "customer_id": _customer_ids(ci),
        "activity_date": _dates(start, di),
        "orders": n_orders.astype(np.int64),
        "revenue": np.round(revenue, 2),
        "sessions": session_counts[ci, di].astype(np.int64),
        "cart_adds": rng.poisson(carts[ci] / 10 * (session_counts[ci, di] > 0)),
        "discount_orders": rng.binomial(n_orders, discount[ci]),
    })
    bought = activity.filter(pl.col("orders") > 0)
    same = rng.random(bought.height) < 0.7
    cat_index = np.where(same, fav[bought.get_column("customer_id").str.slice(5).cast(pl.Int64).to_numpy()],
                         rng.integers(0, len(CATEGORIES), bought.height))
    category_daily = bought.select(
        "customer_id", "activity_date", "orders", "revenue",
        pl.Series("category", np.array(CATEGORIES, dtype=object)[cat_index], dtype=pl.String),
    )
    customers = pl.DataFrame({
        "customer_id": ids,
        "first_seen_date": _dates(start, first),
        "primary_device": np.array(DEVICES, dtype=object)[rng.choice(3, size=n_customers, p=[0.6, 0.3, 0.1])],
        "country": np.array(COUNTRIES, dtype=object)[rng.choice(4, size=n_customers)],
        "email_open_rate": np.clip(opens + rng.normal(0, 0.1, n_customers), 0, 1),
    })
    end = start + timedelta(days=days - 1)
    snapshots = sorted({start + timedelta(days=d) for d in range(snapshot_every - 1, days, snapshot_every)}
                       | {end - timedelta(days=i) for i in range(3)})
    sent = start + timedelta(days=campaign_day)
    assignments = pl.DataFrame({
        "campaign_id": ["cmp-1"] * n_customers,
        "customer_id": ids,
        "group": np.where(treated, "treatment", "control"),
        "sent_ts": [datetime(sent.year, sent.month, sent.day, 9)] * n_customers,
    })
    campaigns = pl.DataFrame({"campaign_id": ["cmp-1"], "channel": ["email"], "offer_type": ["discount"],
                              "discount_pct": [15.0]})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        for schema in ("marts", "staging"):
            con.execute(f"create schema if not exists {schema}").fetchall()
        for name, frame in (("marts.customer_daily_activity", activity), ("marts.customer_category_daily", category_daily),
                            ("staging.stg_campaign_assignments", assignments), ("staging.stg_campaigns", campaigns),
                            ("main._customers", customers), ("main._category_daily", category_daily)):
            con.register("_frame", frame)
            con.execute(f"create or replace table {name} as select * from _frame").fetchall()
            con.unregister("_frame")
        con.register("_snapshots", pl.DataFrame({"as_of_date": snapshots}))
        con.execute(_FEATURES_SQL).fetchall()
        con.unregister("_snapshots")
        con.execute("drop table main._customers").fetchall()
        con.execute("drop table main._category_daily").fetchall()
    finally:
        con.close()
    return {"customers": n_customers, "start": start, "end": end, "snapshots": snapshots, "campaign_sent": sent,
            "persona": dict(zip(ids.tolist(), np.array(list(PERSONAS), dtype=object)[persona].tolist()))}


_FEATURES_SQL = """
create or replace table marts.customer_features as
with s as (select as_of_date from _snapshots),
cust as (
    select c.*, s.as_of_date from main._customers c cross join s where c.first_seen_date <= s.as_of_date
),
agg as (
    select s.as_of_date, a.customer_id,
        sum(a.orders) as frequency,
        sum(a.revenue) as monetary,
        max(case when a.orders > 0 then a.activity_date end) as last_order,
        max(a.activity_date) as last_seen,
        sum(case when a.activity_date > s.as_of_date - 30 then a.orders else 0 end) as orders_30d,
        sum(case when a.activity_date > s.as_of_date - 90 then a.orders else 0 end) as orders_90d,
        sum(case when a.activity_date > s.as_of_date - 90 then a.revenue else 0 end) as revenue_90d,
        sum(case when a.activity_date > s.as_of_date - 30 then a.sessions else 0 end) as sessions_30d,
        sum(case when a.activity_date > s.as_of_date - 30 then a.cart_adds else 0 end) as cart_adds_30d,
        sum(a.discount_orders) as discount_orders
    from s join marts.customer_daily_activity a on a.activity_date <= s.as_of_date
    group by all
),
topcat as (
    select s.as_of_date, d.customer_id, arg_max(d.category, d.orders) as top_category
    from s join main._category_daily d on d.activity_date <= s.as_of_date
    group by all
)
select c.customer_id, c.as_of_date,
    true as is_identified,
    c.first_seen_date,
    (c.as_of_date - c.first_seen_date) as tenure_days,
    (c.as_of_date - coalesce(a.last_seen, c.first_seen_date)) as days_since_last_seen,
    case when a.last_order is not null then c.as_of_date - a.last_order end as recency_days,
    coalesce(a.frequency, 0) as frequency,
    coalesce(a.monetary, 0) as monetary,
    case when a.frequency > 0 then a.monetary / a.frequency end as avg_order_value,
    coalesce(a.orders_30d, 0) as orders_30d,
    coalesce(a.orders_90d, 0) as orders_90d,
    coalesce(a.revenue_90d, 0) as revenue_90d,
    coalesce(a.sessions_30d, 0) as sessions_30d,
    coalesce(a.cart_adds_30d, 0) as cart_adds_30d,
    case when a.frequency > 0 then a.discount_orders / a.frequency end as discount_revenue_share,
    c.email_open_rate,
    c.primary_device, c.country, t.top_category
from cust c
left join agg a on a.customer_id = c.customer_id and a.as_of_date = c.as_of_date
left join topcat t on t.customer_id = c.customer_id and t.as_of_date = c.as_of_date
"""
