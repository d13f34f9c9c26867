"""The raw event contract, version 1: one schema for the simulator, importers, loader and tests.

Documented for users in docs/contract.md. Changing a column here changes the contract: bump
CONTRACT_VERSION and say so in the docs.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

CONTRACT_VERSION = 1

EVENT_TYPES: tuple[str, ...] = (
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "begin_checkout",
    "purchase",
    "email_open",
    "email_click",
    "push_open",
    "ad_click",
    "identify",  # links an anonymous_id to a customer_id
)

DEVICE_TYPES: tuple[str, ...] = ("mobile", "desktop", "tablet")

UTC_TS = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)


EVENTS = Table(
    name="events",
    key=("event_id",),
    columns=(
        Column("event_id", pl.String, True, "Unique id of the event; later duplicates are quarantined."),
        Column("event_ts", UTC_TS, True, "When it happened, UTC."),
        Column("event_type", pl.String, True, "One of EVENT_TYPES."),
        Column("customer_id", pl.String, False, "Known customer; at least one of customer_id / anonymous_id."),
        Column("anonymous_id", pl.String, False, "Cookie or device id of a visitor not (yet) identified."),
        Column("session_id", pl.String, False, "Derived from 30 minutes of inactivity when missing."),
        Column("page_type", pl.String, False, "home, category, product, search, cart, checkout, ..."),
        Column("dwell_seconds", pl.Float64, False, "Time spent on the page or product, seconds."),
        Column("search_query", pl.String, False, "Free text of a search."),
        Column("search_filters", pl.String, False, 'JSON object, e.g. {"price_max": 50, "on_sale": true}.'),
        Column("product_id", pl.String, False, ""),
        Column("category", pl.String, False, ""),
        Column("brand", pl.String, False, ""),
        Column("price", pl.Float64, False, "Unit price paid or shown, in the shop's currency."),
        Column("quantity", pl.Int64, False, "Units; negative is a return."),
        Column("order_id", pl.String, False, "Groups purchase lines of one order."),
        Column("discount_amount", pl.Float64, False, "Discount applied to this line, currency."),
        Column("device_type", pl.String, False, "mobile, desktop or tablet."),
        Column("country", pl.String, False, "ISO 3166-1 alpha-2 where known."),
        Column("region", pl.String, False, ""),
        Column("channel", pl.String, False, "Traffic or messaging channel: web, app, email, push, ad, ..."),
        Column("campaign_id", pl.String, False, "Campaign the event is attributed to."),
    ),
)

CUSTOMERS = Table(
    name="customers",
    key=("customer_id",),
    columns=(
        Column("customer_id", pl.String, True),
        Column("email", pl.String),
        Column("signup_ts", UTC_TS),
        Column("birth_year", pl.Int64),
        Column("gender", pl.String),
        Column("country", pl.String),
        Column("city", pl.String),
        Column("email_opt_in", pl.Boolean),
        Column("push_opt_in", pl.Boolean),
    ),
)

PRODUCTS = Table(
    name="products",
    key=("product_id",),
    columns=(
        Column("product_id", pl.String, True),
        Column("category", pl.String),
        Column("subcategory", pl.String),
        Column("brand", pl.String),
        Column("list_price", pl.Float64),
        Column("tags", pl.String, doc="Comma-separated, e.g. 'eco-friendly,winter'."),
    ),
)

CAMPAIGNS = Table(
    name="campaigns",
    key=("campaign_id",),
    columns=(
        Column("campaign_id", pl.String, True),
        Column("channel", pl.String, doc="email or push (or any messaging channel)."),
        Column("offer_type", pl.String, doc="discount, free_shipping, content, ..."),
        Column("discount_pct", pl.Float64, doc="0-100."),
        Column("start_ts", UTC_TS),
        Column("end_ts", UTC_TS),
    ),
)

CAMPAIGN_ASSIGNMENTS = Table(
    name="campaign_assignments",
    key=("campaign_id", "customer_id"),
    columns=(
        Column("campaign_id", pl.String, True),
        Column("customer_id", pl.String, True),
        Column("group", pl.String, True, "treatment or control."),
        Column("sent_ts", UTC_TS, doc="When the treatment was sent (or would have been, for control)."),
    ),
)

DIMENSIONS: tuple[Table, ...] = (CUSTOMERS, PRODUCTS, CAMPAIGNS, CAMPAIGN_ASSIGNMENTS)
TABLES: dict[str, Table] = {t.name: t for t in (EVENTS, *DIMENSIONS)}

# Columns the loader adds to accepted events in the lake (not part of what a sender provides).
LAKE_EVENT_EXTRA = (
    Column("event_date", pl.Date, True, "UTC date of event_ts = the landing partition."),
    Column("_source_file", pl.String, True, "Landing file the row came from, relative to the home."),
)

# Shape of every quarantined row, from the importer or the loader.
QUARANTINE = Table(
    name="quarantine",
    key=(),
    columns=(
        Column("source_file", pl.String, True),
        Column("row_number", pl.Int64, True, "0-based row in the source file."),
        Column("row_json", pl.String, True, "The row as received, JSON."),
        Column("reason", pl.String, True, "One reason per row, from QUARANTINE_REASONS."),
        Column("event_date", pl.Date, False, "Landing partition, when the row came from one."),
        Column("loaded_at", UTC_TS, True),
    ),
)
