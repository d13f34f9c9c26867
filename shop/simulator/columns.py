"""Numeric event rows and their conversion to a contract-shaped polars frame.

The generator works on integer codes and floats (fast, vectorised); strings are made once per day
by gathering from small lookup tables, so no Python code runs per event.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import polars as pl

from shop.contract import DEVICE_TYPES, EVENT_TYPES, EVENTS

EVENT_CODE = {name: i for i, name in enumerate(EVENT_TYPES)}
PAGE_TYPES: tuple[str, ...] = (
    "home", "category", "content", "cart", "account", "product", "search", "checkout", "confirmation",
    "signup", "returns",
)
PAGE_CODE = {name: i for i, name in enumerate(PAGE_TYPES)}
CHANNELS: tuple[str, ...] = ("web", "app", "ad", "email", "push")
CHANNEL_CODE = {name: i for i, name in enumerate(CHANNELS)}
DEVICE_CODE = {name: i for i, name in enumerate(DEVICE_TYPES)}

EVENT_ID_WIDTH = 12
SESSION_ID_WIDTH = 10
ORDER_ID_WIDTH = 9


@dataclass
class Rows:
    """Events as parallel arrays; -1 / NaN mean null. `key` orders events inside a session."""

    session: np.ndarray  # day-local session number, -1 without a session
    key: np.ndarray
    ts_us: np.ndarray
    event: np.ndarray
    customer: np.ndarray  # customer number (always known to the simulator)
    anonymous: np.ndarray  # bool: customer_id is withheld (visitor not identified yet)
    page: np.ndarray
    dwell: np.ndarray
    gap: np.ndarray  # seconds until the next event of the session
    query: np.ndarray
    search: np.ndarray  # row in the day's search-filter strings
    product: np.ndarray
    category: np.ndarray
    price: np.ndarray
    quantity: np.ndarray  # 0 = null
    order: np.ndarray  # global order number
    discount: np.ndarray
    device: np.ndarray
    channel: np.ndarray
    campaign: np.ndarray

    @classmethod
    def make(cls, n: int, **values) -> "Rows":
        out = {}
        for name, (dtype, default) in COLUMN_TYPES.items():
            arr = np.asarray(values.pop(name, default), dtype=dtype)
            out[name] = np.full(n, arr, dtype=dtype) if arr.ndim == 0 else arr
            if len(out[name]) != n:
                raise ValueError(f"column {name}: {len(out[name])} values for {n} rows")
        if values:
            raise TypeError(f"unknown columns {sorted(values)}")
        return cls(**out)

    def __len__(self) -> int:
        return len(self.event)

    def take(self, idx: np.ndarray) -> "Rows":
        return Rows(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @classmethod
    def concat(cls, parts: list["Rows"]) -> "Rows":
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})


# Compact dtypes and null defaults of the Rows columns (a day can hold tens of millions of rows).
COLUMN_TYPES: dict[str, tuple[type, object]] = {
    "session": (np.int32, -1),
    "key": (np.float64, 0.0),
    "ts_us": (np.int64, 0),
    "event": (np.int8, -1),
    "customer": (np.int32, -1),
    "anonymous": (np.bool_, False),
    "page": (np.int8, -1),
    "dwell": (np.float64, np.nan),
    "gap": (np.float32, 0.0),
    "query": (np.int32, -1),
    "search": (np.int32, -1),
    "product": (np.int32, -1),
    "category": (np.int8, -1),
    "price": (np.float64, np.nan),
    "quantity": (np.int32, 0),
    "order": (np.int64, -1),
    "discount": (np.float64, np.nan),
    "device": (np.int8, -1),
    "channel": (np.int8, -1),
    "campaign": (np.int16, -1),
}


def lookup(table: pl.Series, codes: np.ndarray) -> pl.Series:
    """table[codes] with null where code < 0."""
    extended = table.extend_constant(None, 1)
    return extended.gather(np.where(codes < 0, len(table), codes))


@dataclass(frozen=True)
class Lookups:
    customer_ids: pl.Series
    anonymous_ids: pl.Series
    customer_city: np.ndarray
    city_country: pl.Series
    city_region: pl.Series
    product_ids: pl.Series
    product_brand: pl.Series
    categories: pl.Series
    queries: pl.Series
    campaign_ids: pl.Series
    persona_names: pl.Series


PAGE_SERIES = pl.Series(PAGE_TYPES, dtype=pl.String)
CHANNEL_SERIES = pl.Series(CHANNELS, dtype=pl.String)
DEVICE_SERIES = pl.Series(DEVICE_TYPES, dtype=pl.String)
EVENT_SERIES = pl.Series(EVENT_TYPES, dtype=pl.String)


def to_frame(rows: Rows, lk: Lookups, first_event: int, session_base: int, filters: pl.Series) -> pl.DataFrame:
    """Contract-shaped events (EVENTS columns and dtypes) in the order of `rows`."""
    n = len(rows)
    city = lk.customer_city[rows.customer] if n else np.zeros(0, dtype=np.int64)
    session = np.where(rows.session >= 0, rows.session.astype(np.int64) + session_base, -1)
    frame = pl.DataFrame(
        {
            "event_id": pl.Series(np.arange(first_event, first_event + n, dtype=np.int64)),
            "event_ts": pl.Series(rows.ts_us, dtype=pl.Int64),
            "event_type": lookup(EVENT_SERIES, rows.event),
            "customer_id": lookup(lk.customer_ids, np.where(rows.anonymous, -1, rows.customer)),
            "anonymous_id": lookup(lk.anonymous_ids, rows.customer),
            "session_id": pl.Series(session),
            "page_type": lookup(PAGE_SERIES, rows.page),
            "dwell_seconds": pl.Series(rows.dwell, nan_to_null=True),
            "search_query": lookup(lk.queries, rows.query),
            "search_filters": lookup(filters, rows.search),
            "product_id": lookup(lk.product_ids, rows.product),
            "category": lookup(lk.categories, rows.category),
            "brand": lookup(lk.product_brand, rows.product),
            "price": pl.Series(rows.price, nan_to_null=True),
            "quantity": pl.Series(rows.quantity, dtype=pl.Int64),
            "order_id": pl.Series(rows.order, dtype=pl.Int64),
            "discount_amount": pl.Series(rows.discount, nan_to_null=True),
            "device_type": lookup(DEVICE_SERIES, rows.device),
            "country": lookup(lk.city_country, city),
            "region": lookup(lk.city_region, city),
            "channel": lookup(CHANNEL_SERIES, rows.channel),
            "campaign_id": lookup(lk.campaign_ids, rows.campaign),
        }
    )
    return frame.with_columns(
        pl.concat_str([pl.lit("e"), pl.col("event_id").cast(pl.String).str.zfill(EVENT_ID_WIDTH)]).alias("event_id"),
        pl.from_epoch("event_ts", time_unit="us").dt.replace_time_zone("UTC"),
        pl.when(pl.col("session_id") >= 0).then(
            pl.concat_str([pl.lit("s"), pl.col("session_id").cast(pl.String).str.zfill(SESSION_ID_WIDTH)])
        ).alias("session_id"),
        pl.when(pl.col("quantity") != 0).then(pl.col("quantity")).alias("quantity"),
        pl.when(pl.col("order_id") >= 0).then(
            pl.concat_str([pl.lit("o"), pl.col("order_id").cast(pl.String).str.zfill(ORDER_ID_WIDTH)])
        ).alias("order_id"),
    ).cast(dict(EVENTS.schema))
