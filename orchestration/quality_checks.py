"""Data-quality checks as plain SQL over the warehouse: each returns (passed, facts). Used by Dagster
asset checks; blocking ones stop segments, exports and the serving copy from building on bad data."""

from __future__ import annotations

from datetime import date

import duckdb

PROBABILITIES = ("p_purchase_7d", "p_purchase_30d", "p_purchase_90d", "p_churn")
NON_NEGATIVE = ("expected_orders_365d", "expected_value_365d")


def score_violations(con: duckdb.DuckDBPyConnection, first: date, last: date) -> dict[str, int]:
    """Rows of marts.customer_scores in [first, last] that break a range, per rule (0 everywhere = pass)."""
    columns = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' and table_name = 'customer_scores'"
    ).fetchall()}
    rules = {"null_customer_id": "customer_id is null", "null_as_of_date": "as_of_date is null"}
    for column in PROBABILITIES:
        if column in columns:
            rules[f"{column}_outside_0_1"] = f'"{column}" < 0 or "{column}" > 1 or isnan("{column}")'
    for column in NON_NEGATIVE:
        if column in columns:
            rules[f"{column}_negative"] = f'"{column}" < 0 or isnan("{column}")'
    if "discount_uplift" in columns:
        rules["discount_uplift_outside_-1_1"] = '"discount_uplift" < -1 or "discount_uplift" > 1'
    selects = ", ".join(f"count(*) filter (where {condition})" for condition in rules.values())
    counts = con.execute(
        f"select {selects} from marts.customer_scores where as_of_date between ? and ?", [first, last]
    ).fetchall()[0]
    return dict(zip(rules, (int(c) for c in counts)))


def duplicate_score_keys(con: duckdb.DuckDBPyConnection, first: date, last: date) -> int:
    return int(con.execute(
        "select count(*) from (select customer_id, as_of_date from marts.customer_scores "
        "where as_of_date between ? and ? group by all having count(*) > 1)", [first, last]
    ).fetchall()[0][0])
