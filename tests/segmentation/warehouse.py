"""A tiny hand-built warehouse for the segmentation tests (marts tables written by other layers)."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

FEATURE_COLUMNS = {
    "frequency": "BIGINT", "days_since_last_seen": "INTEGER", "cart_adds_30d": "INTEGER",
    "cart_abandonment_rate": "DOUBLE", "top_category": "VARCHAR", "trending_category": "VARCHAR",
    "email_opt_in": "BOOLEAN", "revenue_30d": "DOUBLE", "product_views_30d": "INTEGER",
}
SCORE_COLUMNS = {"p_purchase_30d": "DOUBLE", "p_churn": "DOUBLE", "expected_value_365d": "DOUBLE",
                 "discount_uplift": "DOUBLE"}


def days_ending(last: date, n: int) -> list[date]:
    return [last - timedelta(days=n - 1 - i) for i in range(n)]


def create_marts(con: duckdb.DuckDBPyConnection, scores: bool = True, categories: bool = True) -> None:
    con.execute("create schema if not exists marts")
    cols = ", ".join(f"{c} {t}" for c, t in FEATURE_COLUMNS.items())
    con.execute(f"create table marts.customer_features (customer_id VARCHAR, as_of_date DATE, {cols})")
    if scores:
        cols = ", ".join(f"{c} {t}" for c, t in SCORE_COLUMNS.items())
        con.execute(f"create table marts.customer_scores (customer_id VARCHAR, as_of_date DATE, {cols})")
    if categories:
        con.execute("""create table marts.customer_category_features (customer_id VARCHAR, as_of_date DATE,
            category VARCHAR, views_30d INTEGER, views_prior_60d INTEGER, orders_90d INTEGER, revenue_90d DOUBLE,
            share_of_views_90d DOUBLE, trend_ratio DOUBLE)""")


def add_features(con, as_of: date, customers: dict[str, dict]) -> None:
    """One snapshot: {customer_id: {column: value}}; unspecified columns are NULL."""
    names = list(FEATURE_COLUMNS)
    con.executemany(
        f"insert into marts.customer_features values (?, ?, {', '.join('?' for _ in names)})",
        [[cid, as_of, *(values.get(n) for n in names)] for cid, values in customers.items()])


def add_scores(con, as_of: date, customers: dict[str, dict]) -> None:
    names = list(SCORE_COLUMNS)
    con.executemany(
        f"insert into marts.customer_scores values (?, ?, {', '.join('?' for _ in names)})",
        [[cid, as_of, *(values.get(n) for n in names)] for cid, values in customers.items()])


def add_category_views(con, as_of: date, rows: list[tuple[str, str, int]]) -> None:
    con.executemany("insert into marts.customer_category_features values (?, ?, ?, ?, 0, 0, 0, NULL, NULL)",
                    [[cid, as_of, category, views] for cid, category, views in rows])


def add_clusters(con, as_of: date, assignments: dict[str, tuple[int, str]]) -> None:
    con.execute("""create table if not exists marts.customer_clusters (customer_id VARCHAR, as_of_date DATE,
                   cluster_id BIGINT, cluster_name VARCHAR, distance_to_centroid DOUBLE)""")
    con.executemany("insert into marts.customer_clusters values (?, ?, ?, ?, 0.5)",
                    [[cid, as_of, cid_name[0], cid_name[1]] for cid, cid_name in assignments.items()])


def table_rows(con, table: str) -> list[tuple]:
    """Every row, sorted: tables compare equal regardless of physical order."""
    return sorted(con.execute(f"select * from {table}").fetchall(), key=repr)
