"""Score ranges, nulls where a model served, and duplicate (customer, day) rows of marts.customer_scores."""

from __future__ import annotations

from datetime import date

import duckdb

from ml.score import NULL_WHEN_BASELINE, score_specs


PROBABILITIES = ("p_purchase_7d", "p_purchase_30d", "p_purchase_90d", "p_churn")
NON_NEGATIVE = ("expected_orders_365d", "expected_value_365d")
BUYERS_ONLY = ("p_churn",)  # ml.propensity.churn_rows: only existing buyers can churn


def served_output_columns() -> dict[str, str]:
    """Score column -> the column naming the model version that filled it (null when nothing served).
    Models in ml.score.NULL_WHEN_BASELINE are left out: their served baseline writes NULL on purpose, and
    the table does not say whether a version is a baseline."""
    return {output: f"{name}_version" for name, outputs in score_specs() for output in outputs
            if name not in NULL_WHEN_BASELINE}


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
    rules.update(_null_while_served_rules(con, columns))
    selects = ", ".join(f"count(*) filter (where {condition})" for condition in rules.values())
    counts = con.execute(
        f"select {selects} from marts.customer_scores s where as_of_date between ? and ?", [first, last]
    ).fetchall()[0]
    return dict(zip(rules, (int(c) for c in counts)))


def _null_while_served_rules(con: duckdb.DuckDBPyConnection, columns: set[str]) -> dict[str, str]:
    """A score left empty although its model served the day (p_churn: only for buyers, who can churn)."""
    buyers_known = con.execute(
        "select count(*) from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'customer_features' and column_name = 'frequency'").fetchone()[0] > 0
    rules = {}
    for output, version_column in served_output_columns().items():
        if output not in columns or version_column not in columns:
            continue
        condition = f'"{version_column}" is not null and "{output}" is null'
        if output in BUYERS_ONLY:
            if not buyers_known:
                continue
            condition += (" and exists (select 1 from marts.customer_features f where f.customer_id = s.customer_id "
                          "and f.as_of_date = s.as_of_date and f.frequency > 0)")
        rules[f"{output}_null_while_served"] = condition
    return rules


def describe_violations(broken: dict[str, int], first: date, last: date) -> str | None:
    """One line for the UI: which rules broke, on how many rows (None when nothing broke)."""
    if not broken:
        return None
    rules = ", ".join(f"{rule}: {n} row(s)" for rule, n in sorted(broken.items()))
    return f"scores for {first}..{last} break {len(broken)} rule(s), so nothing downstream is published: {rules}"


def duplicate_score_keys(con: duckdb.DuckDBPyConnection, first: date, last: date) -> int:
    return int(con.execute(
        "select count(*) from (select customer_id, as_of_date from marts.customer_scores "
        "where as_of_date between ? and ? group by all having count(*) > 1)", [first, last]
    ).fetchall()[0][0])
