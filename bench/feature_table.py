"""One per-customer feature table, computed three ways from the lake's Parquet files.

The same definitions in one hand-written DuckDB query, polars lazy and plain pandas, so
bench_features.py can time them against each other and against the project's dbt marts:

- key: customer_id; an anonymous visitor counts as the customer its anonymous_id was first seen
  with (earliest event carrying both), else as 'anon:<anonymous_id>';
- RFM: recency_days, frequency (orders with a sale), monetary (net of discounts and returns);
- sessions: the sent session_id, else a new session after 30 minutes without an event per device
  (anonymous_id, else customer_id) and day; email/push events are not on-site and not counted;
- cart abandonment (cart sessions without a purchase / cart sessions), discount share (discounted
  orders / orders), email open and click rates (per treatment email received), device mix (share of
  mobile / desktop / tablet events), top category (most product views, ties by name) and
  events / orders in the last 7 and 30 days.

Every function takes the home's lake folder and the as-of date (inclusive) and returns one row per
key, with the columns of COLUMNS.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

SESSION_TIMEOUT_SECONDS = 30 * 60
OFF_SITE = ("email_open", "email_click", "push_open")
DEVICES = ("mobile", "desktop", "tablet")
COLUMNS = (
    "customer_id", "recency_days", "frequency", "monetary", "tenure_days", "days_since_last_seen", "events",
    "sessions", "cart_abandonment_rate", "discount_share", "email_open_rate", "email_click_rate",
    "share_mobile", "share_desktop", "share_tablet", "top_category", "events_7d", "events_30d",
    "orders_7d", "orders_30d",
)
ENGINES = ("duckdb", "polars", "pandas")


def events_glob(lake: Path) -> str:
    return str(lake / "events" / "*" / "*.parquet")


def duckdb_sql(lake: Path, as_of: date) -> str:
    devices = ", ".join(f"count(*) filter (device_type = '{d}') as {d}" for d in DEVICES)
    shares = ", ".join(f"{d} / nullif({' + '.join(DEVICES)}, 0) as share_{d}" for d in DEVICES)
    return f"""
    with ev as (
        select event_id, event_ts, event_date, event_type, customer_id, anonymous_id, session_id,
               device_type, category, price, quantity, order_id, discount_amount
        from read_parquet('{events_glob(lake)}', hive_partitioning = true, hive_types = {{'event_date': 'DATE'}})
        where event_date <= date '{as_of}'
    ),
    links as (
        select anonymous_id, arg_min(customer_id, (event_ts, customer_id)) as linked_customer_id
        from ev where anonymous_id is not null and customer_id is not null
        group by anonymous_id
    ),
    keyed as (
        select ev.*, coalesce(ev.customer_id, links.linked_customer_id, 'anon:' || ev.anonymous_id) as key
        from ev left join links on links.anonymous_id = ev.anonymous_id
    ),
    onsite as (
        select key, event_type, session_id, event_date, event_id, event_ts,
               coalesce(anonymous_id, customer_id) as device_key
        from keyed
        where event_type not in {OFF_SITE}
    ),
    unsent as (
        select *, lag(event_ts) over (partition by device_key, event_date order by event_ts, event_id) as previous_ts
        from onsite where session_id is null
    ),
    numbered as (
        select *, sum(case when previous_ts is null
                             or epoch(event_ts) - epoch(previous_ts) > {SESSION_TIMEOUT_SECONDS} then 1 else 0 end)
                  over (partition by device_key, event_date order by event_ts, event_id rows unbounded preceding) as session_number
        from unsent
    ),
    sessioned as (
        select key, event_type, session_id as session from onsite where session_id is not null
        union all
        select key, event_type, device_key || ':' || event_date || ':' || session_number from numbered
    ),
    session_facts as (
        select key, session, bool_or(event_type = 'add_to_cart') as has_cart, bool_or(event_type = 'purchase') as has_purchase
        from sessioned group by all
    ),
    session_stats as (
        select key, count(*) as sessions, count(*) filter (has_cart) as cart_sessions,
               count(*) filter (has_cart and not has_purchase) as abandoned_sessions
        from session_facts group by key
    ),
    orders as (
        select key, coalesce(order_id, event_id) as order_id, min(event_date) as order_date,
               sum(coalesce(price, 0) * coalesce(quantity, 1) - coalesce(discount_amount, 0)) as net,
               bool_or(coalesce(quantity, 1) > 0) as is_sale,
               sum(case when coalesce(quantity, 1) > 0 then coalesce(discount_amount, 0) else 0 end) as discount
        from keyed where event_type = 'purchase' group by all
    ),
    order_stats as (
        select key, count(*) filter (is_sale) as frequency, sum(net) as monetary,
               max(order_date) filter (is_sale) as last_purchase_date,
               count(*) filter (is_sale and discount > 0) as discounted_orders,
               count(*) filter (is_sale and order_date > date '{as_of}' - 7) as orders_7d,
               count(*) filter (is_sale and order_date > date '{as_of}' - 30) as orders_30d
        from orders group by key
    ),
    event_stats as (
        select key, count(*) as events, min(event_date) as first_seen, max(event_date) as last_seen,
               count(*) filter (event_type = 'email_open') as email_opens,
               count(*) filter (event_type = 'email_click') as email_clicks,
               count(*) filter (event_date > date '{as_of}' - 7) as events_7d,
               count(*) filter (event_date > date '{as_of}' - 30) as events_30d,
               {devices}
        from keyed group by key
    ),
    category_views as (
        select key, category, row_number() over (partition by key order by count(*) desc, category) as rank
        from keyed where event_type = 'product_view' and category is not null
        group by key, category
    ),
    emails as (
        select a.customer_id as key, count(*) as emails_received
        from read_parquet('{lake / "campaign_assignments" / "*.parquet"}') as a
        join read_parquet('{lake / "campaigns" / "*.parquet"}') as c on c.campaign_id = a.campaign_id
        where a."group" = 'treatment' and c.channel = 'email' and cast(a.sent_ts as date) <= date '{as_of}'
        group by a.customer_id
    )
    select
        e.key as customer_id,
        date '{as_of}' - o.last_purchase_date as recency_days,
        coalesce(o.frequency, 0) as frequency,
        coalesce(o.monetary, 0) as monetary,
        date '{as_of}' - e.first_seen as tenure_days,
        date '{as_of}' - e.last_seen as days_since_last_seen,
        e.events,
        coalesce(s.sessions, 0) as sessions,
        s.abandoned_sessions / nullif(s.cart_sessions, 0) as cart_abandonment_rate,
        o.discounted_orders / nullif(o.frequency, 0) as discount_share,
        e.email_opens / nullif(m.emails_received, 0) as email_open_rate,
        e.email_clicks / nullif(m.emails_received, 0) as email_click_rate,
        {shares},
        c.category as top_category,
        e.events_7d, e.events_30d,
        coalesce(o.orders_7d, 0) as orders_7d, coalesce(o.orders_30d, 0) as orders_30d
    from event_stats as e
    left join session_stats as s on s.key = e.key
    left join order_stats as o on o.key = e.key
    left join category_views as c on c.key = e.key and c.rank = 1
    left join emails as m on m.key = e.key
    """


def with_duckdb(lake: Path, as_of: date, out: Path) -> int:
    import duckdb

    with duckdb.connect() as con:
        con.execute(f"copy ({duckdb_sql(lake, as_of)}) to '{out}' (format parquet)")
        return con.execute(f"select count(*) from '{out}'").fetchone()[0]


def with_polars(lake: Path, as_of: date, out: Path) -> int:
    import polars as pl

    col, lit = pl.col, pl.lit
    as_of_lit = lit(as_of)
    ev = (
        pl.scan_parquet(events_glob(lake), hive_partitioning=True)
        .select("event_id", "event_ts", "event_date", "event_type", "customer_id", "anonymous_id", "session_id",
                "device_type", "category", "price", "quantity", "order_id", "discount_amount")
        .filter(col("event_date") <= as_of_lit)
    )
    links = (
        ev.filter(col("anonymous_id").is_not_null() & col("customer_id").is_not_null())
        .sort("event_ts", "customer_id")
        .group_by("anonymous_id")
        .agg(col("customer_id").first().alias("linked_customer_id"))
    )
    keyed = ev.join(links, on="anonymous_id", how="left").with_columns(
        pl.coalesce("customer_id", "linked_customer_id", lit("anon:") + col("anonymous_id")).alias("key")
    )
    onsite = keyed.filter(~col("event_type").is_in(OFF_SITE)).select(
        "key", "event_type", "session_id", "event_date", "event_id", "event_ts",
        pl.coalesce("anonymous_id", "customer_id").alias("device_key"),
    )
    group = ["device_key", "event_date"]
    unsent = onsite.filter(col("session_id").is_null()).sort("device_key", "event_date", "event_ts", "event_id")
    gap = (col("event_ts").dt.epoch("us") - col("event_ts").dt.epoch("us").shift(1).over(group)) / 1e6
    numbered = unsent.with_columns(
        ((gap.is_null()) | (gap > SESSION_TIMEOUT_SECONDS)).cast(pl.Int64).cum_sum().over(group).alias("session_number")
    )
    derived = numbered.select(
        "key", "event_type",
        pl.concat_str(col("device_key"), lit(":"), col("event_date").cast(pl.String), lit(":"),
                      col("session_number").cast(pl.String)).alias("session"),
    )
    sent = onsite.filter(col("session_id").is_not_null()).select("key", "event_type", col("session_id").alias("session"))
    session_facts = (
        pl.concat([sent, derived])
        .group_by("key", "session")
        .agg((col("event_type") == "add_to_cart").any().alias("has_cart"),
             (col("event_type") == "purchase").any().alias("has_purchase"))
    )
    session_stats = session_facts.group_by("key").agg(
        pl.len().alias("sessions"),
        col("has_cart").sum().alias("cart_sessions"),
        (col("has_cart") & ~col("has_purchase")).sum().alias("abandoned_sessions"),
    )
    qty = col("quantity").fill_null(1)
    orders = (
        keyed.filter(col("event_type") == "purchase")
        .with_columns(pl.coalesce("order_id", "event_id").alias("order"))
        .group_by("key", "order")
        .agg(
            col("event_date").min().alias("order_date"),
            (col("price").fill_null(0) * qty - col("discount_amount").fill_null(0)).sum().alias("net"),
            (qty > 0).any().alias("is_sale"),
            pl.when(qty > 0).then(col("discount_amount").fill_null(0)).otherwise(0.0).sum().alias("discount"),
        )
    )
    sale = col("is_sale")
    order_stats = orders.group_by("key").agg(
        sale.sum().alias("frequency"),
        col("net").sum().alias("monetary"),
        col("order_date").filter(sale).max().alias("last_purchase_date"),
        (sale & (col("discount") > 0)).sum().alias("discounted_orders"),
        (sale & (col("order_date") > as_of_lit - pl.duration(days=7))).sum().alias("orders_7d"),
        (sale & (col("order_date") > as_of_lit - pl.duration(days=30))).sum().alias("orders_30d"),
    )
    event_stats = keyed.group_by("key").agg(
        pl.len().alias("events"),
        col("event_date").min().alias("first_seen"),
        col("event_date").max().alias("last_seen"),
        (col("event_type") == "email_open").sum().alias("email_opens"),
        (col("event_type") == "email_click").sum().alias("email_clicks"),
        (col("event_date") > as_of_lit - pl.duration(days=7)).sum().alias("events_7d"),
        (col("event_date") > as_of_lit - pl.duration(days=30)).sum().alias("events_30d"),
        *[(col("device_type") == d).sum().alias(d) for d in DEVICES],
    )
    top = (
        keyed.filter((col("event_type") == "product_view") & col("category").is_not_null())
        .group_by("key", "category").agg(pl.len().alias("views"))
        .sort(["key", "views", "category"], descending=[False, True, False])
        .group_by("key").agg(col("category").first().alias("top_category"))
    )
    assignments = pl.scan_parquet(str(lake / "campaign_assignments" / "*.parquet"))
    campaigns = pl.scan_parquet(str(lake / "campaigns" / "*.parquet")).select("campaign_id", "channel")
    emails = (
        assignments.join(campaigns, on="campaign_id")
        .filter((col("group") == "treatment") & (col("channel") == "email") & (col("sent_ts").dt.date() <= as_of_lit))
        .group_by(col("customer_id").alias("key")).agg(pl.len().alias("emails_received"))
    )

    def days_since(column: str) -> pl.Expr:
        return (as_of_lit - col(column)).dt.total_days()

    def rate(num: str, den: str) -> pl.Expr:
        return pl.when(col(den) > 0).then(col(num) / col(den))

    device_total = sum((col(d) for d in DEVICES[1:]), col(DEVICES[0]))
    table = (
        event_stats.join(session_stats, on="key", how="left")
        .join(order_stats, on="key", how="left")
        .join(top, on="key", how="left")
        .join(emails, on="key", how="left")
        .select(
            col("key").alias("customer_id"),
            days_since("last_purchase_date").alias("recency_days"),
            col("frequency").fill_null(0),
            col("monetary").fill_null(0.0),
            days_since("first_seen").alias("tenure_days"),
            days_since("last_seen").alias("days_since_last_seen"),
            col("events"),
            col("sessions").fill_null(0),
            rate("abandoned_sessions", "cart_sessions").alias("cart_abandonment_rate"),
            rate("discounted_orders", "frequency").alias("discount_share"),
            rate("email_opens", "emails_received").alias("email_open_rate"),
            rate("email_clicks", "emails_received").alias("email_click_rate"),
            *[pl.when(device_total > 0).then(col(d) / device_total).alias(f"share_{d}") for d in DEVICES],
            col("top_category"),
            "events_7d", "events_30d",
            col("orders_7d").fill_null(0), col("orders_30d").fill_null(0),
        )
    )
    frame = table.collect()
    frame.write_parquet(out)
    return frame.height


def with_pandas(lake: Path, as_of: date, out: Path) -> int:
    import numpy as np
    import pandas as pd

    files = sorted((lake / "events").glob("event_date=*/*.parquet"))
    columns = ["event_id", "event_ts", "event_type", "customer_id", "anonymous_id", "session_id", "device_type",
               "category", "price", "quantity", "order_id", "discount_amount"]
    frames = []
    for path in files:
        day = date.fromisoformat(path.parent.name.split("=", 1)[1])
        if day <= as_of:
            frame = pd.read_parquet(path, columns=columns)
            frame["event_date"] = pd.Timestamp(day)
            frames.append(frame)
    ev = pd.concat(frames, ignore_index=True)
    as_of_ts = pd.Timestamp(as_of)

    both = ev[ev.anonymous_id.notna() & ev.customer_id.notna()].sort_values(["event_ts", "customer_id"])
    links = both.drop_duplicates("anonymous_id")[["anonymous_id", "customer_id"]]
    links = links.rename(columns={"customer_id": "linked_customer_id"})
    ev = ev.merge(links, on="anonymous_id", how="left")
    ev["key"] = ev.customer_id.fillna(ev.linked_customer_id).fillna("anon:" + ev.anonymous_id)

    onsite = ev.loc[~ev.event_type.isin(OFF_SITE), ["key", "event_type", "session_id", "event_date", "event_id", "event_ts"]]
    onsite["device_key"] = ev.anonymous_id.fillna(ev.customer_id)
    unsent = onsite[onsite.session_id.isna()].sort_values(["device_key", "event_date", "event_ts", "event_id"])
    group = ["device_key", "event_date"]
    seconds = (unsent.event_ts - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    unsent["gap"] = seconds.groupby([unsent[c] for c in group]).diff()
    unsent["new"] = (unsent.gap.isna() | (unsent.gap > SESSION_TIMEOUT_SECONDS)).astype("int64")
    unsent["session_number"] = unsent.groupby(group)["new"].cumsum()
    derived = unsent.device_key + ":" + unsent.event_date.dt.strftime("%Y-%m-%d") + ":" + unsent.session_number.astype(str)
    onsite["session"] = onsite.session_id
    onsite.loc[derived.index, "session"] = derived
    onsite["is_cart"] = onsite.event_type == "add_to_cart"
    onsite["is_purchase"] = onsite.event_type == "purchase"
    sessions = onsite.groupby(["key", "session"]).agg(has_cart=("is_cart", "any"), has_purchase=("is_purchase", "any"))
    sessions["abandoned"] = sessions.has_cart & ~sessions.has_purchase
    session_stats = sessions.groupby("key").agg(
        sessions=("has_cart", "size"), cart_sessions=("has_cart", "sum"), abandoned_sessions=("abandoned", "sum")
    )

    buys = ev[ev.event_type == "purchase"].copy()
    qty = buys.quantity.fillna(1)
    buys["order"] = buys.order_id.fillna(buys.event_id)
    buys["net"] = buys.price.fillna(0) * qty - buys.discount_amount.fillna(0)
    buys["sale"] = qty > 0
    buys["sale_discount"] = np.where(buys.sale, buys.discount_amount.fillna(0), 0.0)
    orders = buys.groupby(["key", "order"]).agg(
        order_date=("event_date", "min"), net=("net", "sum"), is_sale=("sale", "any"), discount=("sale_discount", "sum")
    ).reset_index()
    orders["sale_date"] = orders.order_date.where(orders.is_sale)
    orders["discounted"] = orders.is_sale & (orders.discount > 0)
    orders["in_7d"] = orders.is_sale & (orders.order_date > as_of_ts - pd.Timedelta(days=7))
    orders["in_30d"] = orders.is_sale & (orders.order_date > as_of_ts - pd.Timedelta(days=30))
    order_stats = orders.groupby("key").agg(
        frequency=("is_sale", "sum"), monetary=("net", "sum"), last_purchase_date=("sale_date", "max"),
        discounted_orders=("discounted", "sum"), orders_7d=("in_7d", "sum"), orders_30d=("in_30d", "sum"),
    )

    flags = pd.DataFrame({
        "key": ev.key,
        "event_date": ev.event_date,
        "email_opens": ev.event_type == "email_open",
        "email_clicks": ev.event_type == "email_click",
        "events_7d": ev.event_date > as_of_ts - pd.Timedelta(days=7),
        "events_30d": ev.event_date > as_of_ts - pd.Timedelta(days=30),
        **{d: ev.device_type == d for d in DEVICES},
    })
    event_stats = flags.groupby("key").agg(
        events=("event_date", "size"), first_seen=("event_date", "min"), last_seen=("event_date", "max"),
        email_opens=("email_opens", "sum"), email_clicks=("email_clicks", "sum"),
        events_7d=("events_7d", "sum"), events_30d=("events_30d", "sum"), **{d: (d, "sum") for d in DEVICES},
    )

    views = ev[(ev.event_type == "product_view") & ev.category.notna()]
    counts = views.groupby(["key", "category"]).size().rename("views").reset_index()
    counts = counts.sort_values(["key", "views", "category"], ascending=[True, False, True])
    top = counts.drop_duplicates("key").set_index("key")["category"].rename("top_category")

    assignments = pd.read_parquet(lake / "campaign_assignments")
    campaigns = pd.read_parquet(lake / "campaigns", columns=["campaign_id", "channel"])
    sent = assignments.merge(campaigns, on="campaign_id")
    sent = sent[(sent.group == "treatment") & (sent.channel == "email")
                & (sent.sent_ts.dt.tz_convert("UTC").dt.date <= as_of)]
    emails = sent.groupby("customer_id").size().rename("emails_received")

    t = event_stats.join(session_stats).join(order_stats).join(top).join(emails)

    def rate(num: pd.Series, den: pd.Series) -> pd.Series:
        return (num / den.where(den > 0)).astype("float64")

    device_total = sum(t[d] for d in DEVICES)
    table = pd.DataFrame({
        "customer_id": t.index,
        "recency_days": (as_of_ts - t.last_purchase_date).dt.days.astype("Int64"),
        "frequency": t.frequency.fillna(0).astype("int64"),
        "monetary": t.monetary.fillna(0.0),
        "tenure_days": (as_of_ts - t.first_seen).dt.days,
        "days_since_last_seen": (as_of_ts - t.last_seen).dt.days,
        "events": t.events,
        "sessions": t.sessions.fillna(0).astype("int64"),
        "cart_abandonment_rate": rate(t.abandoned_sessions, t.cart_sessions),
        "discount_share": rate(t.discounted_orders, t.frequency),
        "email_open_rate": rate(t.email_opens, t.emails_received),
        "email_click_rate": rate(t.email_clicks, t.emails_received),
        **{f"share_{d}": rate(t[d], device_total) for d in DEVICES},
        "top_category": t.top_category,
        "events_7d": t.events_7d, "events_30d": t.events_30d,
        "orders_7d": t.orders_7d.fillna(0).astype("int64"), "orders_30d": t.orders_30d.fillna(0).astype("int64"),
    })
    table.to_parquet(out, index=False)
    return len(table)


COMPUTE = {"duckdb": with_duckdb, "polars": with_polars, "pandas": with_pandas}


def compute(engine: str, lake: Path, as_of: date, out: Path) -> int:
    if engine not in COMPUTE:
        raise ValueError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    return COMPUTE[engine](lake, as_of, out)


def disagreements(tables: dict[str, "object"], tolerance: float = 1e-6) -> list[str]:
    """Differences between feature tables (polars DataFrames with COLUMNS), as readable lines; [] = identical."""
    import polars as pl

    names = list(tables)
    if not names:
        return []
    reference_name = names[0]
    reference = tables[reference_name].select(COLUMNS).sort("customer_id")
    problems = []
    for name in names[1:]:
        other = tables[name].select(COLUMNS).sort("customer_id")
        if other.height != reference.height:
            problems.append(f"{name}: {other.height} rows, {reference_name}: {reference.height}")
            continue
        if not other["customer_id"].equals(reference["customer_id"]):
            problems.append(f"{name}: different customer ids than {reference_name}")
            continue
        for column in COLUMNS[1:]:
            a, b = reference[column], other[column]
            if a.dtype == pl.String or b.dtype == pl.String:
                same = (a.fill_null("<null>") == b.fill_null("<null>")).all()
            else:
                a, b = a.cast(pl.Float64), b.cast(pl.Float64)
                nulls_match = (a.is_null() == b.is_null()).all()
                close = ((a - b).abs() <= tolerance * (1 + a.abs())).fill_null(True).all()
                same = nulls_match and close
            if not same:
                problems.append(f"{name}.{column} differs from {reference_name}.{column}")
    return problems
