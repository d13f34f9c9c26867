"""Features computed straight from the lake parquet with polars, independently of the dbt SQL.

Same definitions as the marts' docs: visitor key = customer_id else 'anon:<anonymous_id>'; an
anonymous id counts for its customer from the day of its earliest link (an event carrying both
ids) on; sessions = sent session_id, else per device a gap of more than 30 minutes within a UTC
day, on-site events only; a session belongs to its first event's key.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

OFF_SITE = ("email_open", "email_click", "push_open")


def lake_events(home: Path) -> pl.DataFrame:
    frames = []
    for path in sorted((home / "lake" / "events").glob("event_date=*/part-0.parquet")):
        day = date.fromisoformat(path.parent.name.removeprefix("event_date="))
        frames.append(pl.read_parquet(path).with_columns(pl.lit(day).alias("event_date")))
    return pl.concat(frames, how="vertical")


def identity_links(events: pl.DataFrame) -> pl.DataFrame:
    both = events.filter(pl.col("anonymous_id").is_not_null() & pl.col("customer_id").is_not_null())
    return (
        both.with_columns((pl.col("event_type") != "identify").alias("not_identify"))
        .sort(["anonymous_id", "event_ts", "not_identify", "customer_id", "event_id"])
        .group_by("anonymous_id", maintain_order=True)
        .first()
        .select("anonymous_id", pl.col("customer_id").alias("linked_customer"), pl.col("event_date").alias("linked_date"))
    )


def keyed_as_of(events: pl.DataFrame, links: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Events up to as_of with the feature key valid on that day."""
    seen = events.filter(pl.col("event_date") <= as_of).join(links, on="anonymous_id", how="left")
    linked = pl.col("linked_customer").is_not_null() & (pl.col("linked_date") <= as_of)
    return seen.with_columns(
        pl.when(pl.col("customer_id").is_not_null()).then(pl.col("customer_id"))
        .when(linked).then(pl.col("linked_customer"))
        .otherwise(pl.lit("anon:") + pl.col("anonymous_id"))
        .alias("key"),
        pl.when(pl.col("customer_id").is_not_null()).then(pl.col("customer_id"))
        .otherwise(pl.lit("anon:") + pl.col("anonymous_id"))
        .alias("visitor_key"),
    )


def sessions(keyed: pl.DataFrame, timeout_minutes: int = 30) -> pl.DataFrame:
    on_site = keyed.filter(~pl.col("event_type").is_in(OFF_SITE)).with_columns(
        pl.coalesce("anonymous_id", "customer_id").alias("device")
    )
    derived = (
        on_site.filter(pl.col("session_id").is_null())
        .sort(["device", "event_date", "event_ts", "event_id"])
        .with_columns(
            (
                (pl.col("event_ts").diff().over(["device", "event_date"]).dt.total_seconds() > timeout_minutes * 60)
                .fill_null(True)
                .cast(pl.Int64)
                .cum_sum()
                .over(["device", "event_date"])
            ).alias("n")
        )
        .with_columns((pl.col("device") + "|" + pl.col("n").cast(pl.String)).alias("session"))
    )
    sent = on_site.filter(pl.col("session_id").is_not_null()).with_columns(
        ("sent|" + pl.col("session_id")).alias("session")
    )
    events = pl.concat([derived.drop("n"), sent], how="diagonal")
    return (
        events.sort(["session", "event_date", "event_ts", "event_id"])
        .group_by(["session", "event_date"], maintain_order=True)
        .agg(
            pl.col("key").first(),
            (pl.col("event_type") == "add_to_cart").any().alias("has_cart"),
            (pl.col("event_type") == "purchase").any().alias("has_purchase"),
        )
    )


def features_as_of(events: pl.DataFrame, assignments: pl.DataFrame, campaigns: pl.DataFrame, as_of: date) -> pl.DataFrame:
    keyed = keyed_as_of(events, identity_links(events), as_of)
    purchases = keyed.filter(pl.col("event_type") == "purchase").with_columns(
        pl.col("quantity").fill_null(1),
        pl.coalesce("order_id", "event_id").alias("order"),
    ).with_columns(
        (pl.col("price").fill_null(0.0) * pl.col("quantity") - pl.col("discount_amount").fill_null(0.0)).alias("net")
    )
    orders = purchases.group_by("key").agg(
        pl.col("order").filter(pl.col("quantity") > 0).n_unique().alias("frequency"),
        pl.col("net").sum().alias("monetary"),
    )
    carts = sessions(keyed).group_by("key").agg(
        pl.col("has_cart").sum().alias("cart_sessions"),
        (pl.col("has_cart") & ~pl.col("has_purchase")).sum().alias("abandoned_sessions"),
    )
    email = campaigns.filter(pl.col("channel") == "email").select("campaign_id")
    received = (
        assignments.join(email, on="campaign_id")
        .filter((pl.col("group") == "treatment") & (pl.col("sent_ts").dt.date() <= as_of))
        .group_by(pl.col("customer_id").alias("key"))
        .len("emails_received")
    )
    base = keyed.group_by("key").agg(
        pl.len().alias("events_total"),
        (pl.col("event_type") == "email_open").sum().alias("email_opens"),
    )
    return (
        base.join(orders, on="key", how="left")
        .join(carts, on="key", how="left")
        .join(received, on="key", how="left")
        .with_columns(
            pl.lit(as_of).alias("as_of_date"),
            pl.col("frequency").fill_null(0),
            pl.col("monetary").fill_null(0.0),
            pl.when(pl.col("cart_sessions") > 0).then(pl.col("abandoned_sessions") / pl.col("cart_sessions")).alias("cart_abandonment_rate"),
            (pl.col("email_opens") / pl.col("emails_received")).alias("email_open_rate"),
        )
        .select(
            pl.col("key").alias("customer_id"), "as_of_date", pl.col("events_total").cast(pl.Int64),
            pl.col("frequency").cast(pl.Int64), "monetary", "cart_abandonment_rate", "email_open_rate",
        )
    )
