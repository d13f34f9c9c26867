"""A tiny hand-built warehouse for the activation tests (tables other layers write, in their shapes)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from shop.home import Home

DAY1, DAY2 = date(2024, 3, 1), date(2024, 3, 2)

# customer -> (email_sha256, email_opt_in, push_opt_in) as staging.stg_customers holds them
CUSTOMERS = {
    "c1": ("h1", True, True),
    "c2": ("h2", False, True),
    "c3": ("h3", None, None),     # unknown consent
    "c4": (None, True, False),    # consented, but no address
    "c5": ("h5", True, None),
    "007": ("h7", True, False),   # an id that looks like a number
}
# (as_of_date, segment, customer_id); c6 is in a segment but unknown to stg_customers
MEMBERS = [(DAY1, "vip", c) for c in ("c1", "c2", "c3")] + \
          [(DAY2, "vip", c) for c in ("c1", "c2", "c3", "c4", "c5", "007", "c6")] + \
          [(DAY2, "at_risk", c) for c in ("c2", "c3")]


def make_home(root: Path) -> Home:
    return Home(Path(root)).ensure()


def create_warehouse(path: Path, scores: bool = True, recommendations: bool = True) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema staging; create schema marts")
        con.execute("""create table staging.stg_customers (customer_id VARCHAR, email_sha256 VARCHAR,
                       email_opt_in BOOLEAN, push_opt_in BOOLEAN, country VARCHAR)""")
        con.executemany("insert into staging.stg_customers values (?, ?, ?, ?, 'DE')",
                        [[cid, *values] for cid, values in CUSTOMERS.items()])
        con.execute("""create table marts.customer_segments (as_of_date DATE NOT NULL, segment VARCHAR NOT NULL,
                       customer_id VARCHAR NOT NULL, reason VARCHAR NOT NULL, description VARCHAR)""")
        con.executemany("insert into marts.customer_segments values (?, ?, ?, 'rule', 'test segment')",
                        [list(m) for m in MEMBERS])
        con.execute("""create table marts.customer_features (customer_id VARCHAR, as_of_date DATE,
                       email_sha256 VARCHAR, email_opt_in BOOLEAN, push_opt_in BOOLEAN, country VARCHAR,
                       top_category VARCHAR, frequency BIGINT)""")
        for day in (DAY1, DAY2):
            con.executemany("insert into marts.customer_features values (?, ?, ?, ?, ?, 'DE', 'shoes', 1)",
                            [[cid, day, *values] for cid, values in CUSTOMERS.items()])
        if scores:
            con.execute("""create table marts.customer_scores (customer_id VARCHAR, as_of_date DATE,
                           p_purchase_7d DOUBLE, p_purchase_30d DOUBLE, p_purchase_90d DOUBLE, p_churn DOUBLE,
                           expected_value_365d DOUBLE, discount_uplift DOUBLE, next_category VARCHAR,
                           reason_p_purchase_30d VARCHAR, reason_p_churn VARCHAR)""")
            # scores exist for DAY1 only: a DAY2 export uses the latest scored day on or before it
            con.executemany("insert into marts.customer_scores values (?, ?, 0.1, ?, 0.5, ?, ?, 0.01, 'shoes', ?, ?)",
                            [[cid, DAY1, 0.2 + i / 100, 0.3, 10.0 * i, f"recency;{cid}", "frequency"]
                             for i, cid in enumerate(CUSTOMERS)])
        if recommendations:
            con.execute("""create table marts.customer_recommendations (customer_id VARCHAR, as_of_date DATE,
                           rank INTEGER, product_id BIGINT, category VARCHAR, score DOUBLE, reason VARCHAR)""")
            con.executemany("insert into marts.customer_recommendations values (?, ?, ?, ?, 'shoes', ?, 'r')",
                            [[cid, DAY2, rank, 100 * i + rank, 1.0 / rank]
                             for i, cid in enumerate(CUSTOMERS) for rank in (3, 1, 2)])
    finally:
        con.close()
