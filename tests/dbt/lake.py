"""A tiny lake written straight from the event contract, for the dbt tests.

Hand-written scenarios (sessions split by a 30-minute gap, a sent session id, an abandoned cart,
a visitor identified on a later day, a purchase without a price, a return, discounts, email and
push engagement) plus a seeded random crowd so aggregates have something to add up.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from shop.contract import CAMPAIGN_ASSIGNMENTS, CAMPAIGNS, CUSTOMERS, EVENTS, PRODUCTS

# six loaded days; the last one delivered no events (the loader still writes an empty file)
DAYS = [date(2025, 3, 1) + timedelta(days=i) for i in range(6)]
EVENT_DAYS = DAYS[:5]
CATEGORIES = ["electronics", "books", "garden", "toys"]


def ts(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=timezone.utc)


def _event(event_id: str, at: datetime, event_type: str, **fields) -> dict:
    return {"event_id": event_id, "event_ts": at, "event_type": event_type, **fields}


def scenario_events() -> list[dict]:
    d1, d2, d3, d4, d5 = EVENT_DAYS
    desk = {"device_type": "desktop", "country": "DE"}
    mob = {"device_type": "mobile", "country": "FR"}
    c1 = {"customer_id": "c1", **desk}
    events = [
        # c1, day 1: two derived sessions (45 minutes apart); the second adds to cart and leaves
        _event("c1-1", ts(d1, 10, 0), "page_view", page_type="home", dwell_seconds=30.0, **c1),
        _event("c1-2", ts(d1, 10, 1), "search", search_query="tv", search_filters='{"price_max": 500, "on_sale": true}', **c1),
        _event("c1-3", ts(d1, 10, 5), "product_view", product_id="p1", category="electronics", dwell_seconds=60.0, **c1),
        _event("c1-4", ts(d1, 10, 10), "add_to_cart", product_id="p1", category="electronics", price=100.0, quantity=1, **c1),
        _event("c1-5", ts(d1, 10, 12), "begin_checkout", **c1),
        _event("c1-6", ts(d1, 10, 15), "purchase", product_id="p1", category="electronics", price=100.0, quantity=1,
               order_id="o1", discount_amount=10.0, **c1),
        _event("c1-7", ts(d1, 11, 0), "product_view", product_id="p2", category="books", dwell_seconds=20.0, **c1),
        _event("c1-8", ts(d1, 11, 1), "add_to_cart", product_id="p2", category="books", price=20.0, quantity=1, **c1),
        # c1, day 2: email engagement, then a session with a sent session id and a 2-unit order
        _event("c1-9", ts(d2, 8, 0), "email_open", channel="email", campaign_id="e1", customer_id="c1"),
        _event("c1-10", ts(d2, 8, 1), "email_click", channel="email", campaign_id="e1", **c1),
        _event("c1-11", ts(d2, 9, 0), "product_view", product_id="p2", session_id="s-c1-a", dwell_seconds=15.0, **c1),
        _event("c1-12", ts(d2, 9, 50), "purchase", product_id="p2", price=20.0, quantity=2, order_id="o2",
               session_id="s-c1-a", **c1),
        # c1, day 3: returns one unit of order o2
        _event("c1-13", ts(d3, 15, 0), "purchase", product_id="p2", price=20.0, quantity=-1, order_id="o2r", **c1),
        # c1, day 5: a big purchase, after every earlier snapshot
        _event("c1-14", ts(d5, 9, 0), "purchase", product_id="p1", category="electronics", price=900.0, quantity=1,
               order_id="o9", **c1),
        # c2 opens an email on day 1 (known customer, no web visit yet)
        _event("c2-1", ts(d1, 6, 0), "email_open", customer_id="c2", channel="email", campaign_id="e1"),
        # a1: anonymous on days 1 and 2, identified as c2 on day 3
        _event("a1-1", ts(d1, 12, 0), "product_view", anonymous_id="a1", product_id="p3", dwell_seconds=40.0, **mob),
        _event("a1-2", ts(d1, 12, 2), "add_to_cart", anonymous_id="a1", product_id="p3", price=15.0, quantity=1, **mob),
        _event("a1-3", ts(d2, 12, 0), "page_view", anonymous_id="a1", page_type="home", **mob),
        _event("a1-4", ts(d3, 8, 0), "identify", anonymous_id="a1", customer_id="c2", **mob),
        _event("a1-5", ts(d3, 8, 5), "purchase", anonymous_id="a1", customer_id="c2", product_id="p3", price=None,
               quantity=1, order_id="o4", **mob),
        # a9: anonymous, never identified
        _event("a9-1", ts(d2, 20, 0), "page_view", anonymous_id="a9", **mob),
        _event("a9-2", ts(d2, 20, 10), "page_view", anonymous_id="a9", **mob),
        # c3: push engagement and a purchase on a tablet
        _event("c3-1", ts(d4, 7, 0), "push_open", customer_id="c3", channel="push", campaign_id="p1"),
        _event("c3-2", ts(d4, 7, 5), "purchase", customer_id="c3", product_id="p4", price=30.0, quantity=3,
               order_id="o5", device_type="tablet", country="IT"),
    ]
    return events


def random_events(seed: int = 7, customers: int = 25, anonymous: int = 10) -> list[dict]:
    """A seeded crowd: browsing sessions with searches, carts, purchases (some unpriced, some
    discounted, some returned) and email opens, spread over EVENT_DAYS."""
    rng = random.Random(seed)
    rows: list[dict] = []
    visitors = [("customer_id", f"r{i}") for i in range(customers)] + [("anonymous_id", f"ra{i}") for i in range(anonymous)]
    n = 0
    for day in EVENT_DAYS:
        for field, vid in visitors:
            if rng.random() < 0.35:
                continue
            device = rng.choice(["mobile", "desktop", "tablet", None])
            base = {field: vid, "device_type": device, "country": rng.choice(["DE", "FR", None])}
            at = ts(day, rng.randint(0, 20), rng.randint(0, 59))
            for _ in range(rng.randint(1, 9)):
                at += timedelta(minutes=rng.choice([1, 3, 10, 29, 31, 90]))
                if at.date() != day:
                    break
                n += 1
                kind = rng.choices(
                    ["page_view", "product_view", "search", "add_to_cart", "remove_from_cart", "begin_checkout",
                     "purchase", "email_open", "ad_click"],
                    weights=[5, 6, 2, 3, 1, 1, 2, 1, 1],
                )[0]
                product = rng.randint(1, 8)
                row = _event(f"r-{n}", at, kind, **base)
                if kind in ("product_view", "add_to_cart", "purchase", "remove_from_cart"):
                    row["product_id"] = f"p{product}"
                    if rng.random() < 0.5:
                        row["category"] = CATEGORIES[(product - 1) % len(CATEGORIES)]
                if kind in ("page_view", "product_view"):
                    row["dwell_seconds"] = float(rng.randint(1, 120))
                if kind == "search":
                    row["search_filters"] = rng.choice([None, "{}", '{"price_min": 10}', '{"on_sale": true}', '{"brand": "x"}'])
                if kind == "purchase":
                    row["order_id"] = f"ro-{n}"
                    row["price"] = rng.choice([None, 9.5, 25.0, 40.0])
                    row["quantity"] = rng.choice([1, 1, 2, -1])
                    row["discount_amount"] = rng.choice([0.0, 0.0, 5.0])
                if kind == "email_open":
                    row["campaign_id"] = "e1"
                if rng.random() < 0.1:
                    row["session_id"] = f"rs-{vid}-{day}"
                rows.append(row)
    return rows


def all_events() -> list[dict]:
    return scenario_events() + random_events()


def events_frame(rows: list[dict]) -> pl.DataFrame:
    frame = pl.from_dicts(rows, schema=EVENTS.schema) if rows else EVENTS.empty()
    return frame.with_columns(pl.lit("landing/events/test.jsonl").alias("_source_file"))


def write_events(home: Path, rows: list[dict], days: list[date] | None = None) -> None:
    """One parquet per day (empty days included), the date only in the folder name."""
    frame = events_frame(rows)
    for day in days or DAYS:
        folder = home / "lake" / "events" / f"event_date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        frame.filter(pl.col("event_ts").dt.date() == day).write_parquet(folder / "part-0.parquet")


def dimensions(customers: int = 25) -> dict[str, pl.DataFrame]:
    d1 = ts(DAYS[0], 6, 0)
    people = [
        {"customer_id": "c1", "email": "  Ann@Example.com ", "signup_ts": d1, "birth_year": 1980, "gender": "f",
         "country": "DE", "email_opt_in": True, "push_opt_in": False},
        {"customer_id": "c2", "email": "bob@example.com", "signup_ts": ts(DAYS[2], 8, 0), "birth_year": 1995,
         "gender": "m", "country": None, "email_opt_in": False, "push_opt_in": True},
        {"customer_id": "c3", "email": None, "signup_ts": None, "birth_year": None, "gender": None, "country": "IT",
         "email_opt_in": None, "push_opt_in": True},
    ] + [
        {"customer_id": f"r{i}", "email": f"r{i}@example.com", "birth_year": 1960 + i, "gender": "x", "country": "DE"}
        for i in range(customers)
    ]
    products = [
        {"product_id": f"p{i}", "category": CATEGORIES[(i - 1) % len(CATEGORIES)], "brand": "b", "list_price": 10.0 * i}
        for i in range(1, 9)
    ]
    campaigns = [
        {"campaign_id": "e1", "channel": "email", "offer_type": "discount", "discount_pct": 10.0},
        {"campaign_id": "p1", "channel": "push", "offer_type": "content"},
    ]
    assignments = [
        {"campaign_id": "e1", "customer_id": "c1", "group": "treatment", "sent_ts": ts(DAYS[1], 7, 0)},
        {"campaign_id": "e1", "customer_id": "c2", "group": "control", "sent_ts": ts(DAYS[1], 7, 0)},
        {"campaign_id": "p1", "customer_id": "c3", "group": "treatment", "sent_ts": ts(DAYS[3], 6, 0)},
    ] + [
        {"campaign_id": "e1", "customer_id": f"r{i}", "group": "treatment" if i % 3 else "control",
         "sent_ts": ts(DAYS[i % 3], 7, 0)}
        for i in range(customers)
    ]
    return {
        "customers": pl.from_dicts(people, schema=CUSTOMERS.schema),
        "products": pl.from_dicts(products, schema=PRODUCTS.schema),
        "campaigns": pl.from_dicts(campaigns, schema=CAMPAIGNS.schema),
        "campaign_assignments": pl.from_dicts(assignments, schema=CAMPAIGN_ASSIGNMENTS.schema),
    }


def write_dimensions(home: Path, frames: dict[str, pl.DataFrame] | None = None) -> None:
    for name, frame in (frames or dimensions()).items():
        folder = home / "lake" / name
        folder.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(folder / "part-0.parquet")


def write_lake(home: Path, rows: list[dict] | None = None) -> Path:
    write_events(home, all_events() if rows is None else rows)
    write_dimensions(home)
    return home
