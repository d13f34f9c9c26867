"""Which columns a rule may name, where they live and their type.

`KNOWN_COLUMNS` is the documented schema of the marts the rules read (validation without a
warehouse); `warehouse_catalogue(con)` is what a real warehouse has right now: the known columns
that are present plus any extra numeric/string/boolean column the shop's marts carry. A known
column absent from the warehouse is a *missing input* (policy: fail or skip), a name in neither
is a typo (always an error).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

FEATURES_TABLE = "marts.customer_features"
SCORES_TABLE = "marts.customer_scores"
CATEGORY_TABLE = "marts.customer_category_features"
TAG_TABLE = "marts.customer_tag_features"
CLUSTERS_TABLE = "marts.customer_clusters"

SOURCE_TABLES = {"features": FEATURES_TABLE, "scores": SCORES_TABLE}
KEY_COLUMNS = ("customer_id", "as_of_date")

NUMBER, STRING, BOOLEAN, DATE, OTHER = "number", "string", "boolean", "date", "other"


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str  # number | string | boolean | date | other
    source: str  # features | scores


def _cols(source: str, kind: str, names: str) -> dict[str, ColumnInfo]:
    return {n: ColumnInfo(n, kind, source) for n in names.split()}


_SCORE_DECILES = " ".join(
    f"{c}_decile" for c in ("p_purchase_7d", "p_purchase_30d", "p_purchase_90d", "p_churn",
                            "expected_orders_365d", "expected_value_365d", "discount_uplift"))

KNOWN_COLUMNS: dict[str, ColumnInfo] = {
    **_cols("features", NUMBER, """recency_days frequency monetary avg_order_value orders_30d orders_90d
        revenue_30d revenue_90d sessions_30d product_views_30d views_per_session cart_adds_30d
        cart_abandonment_rate view_to_purchase_ratio discount_revenue_share discounted_order_share
        on_sale_filter_uses_90d price_filter_uses_90d share_mobile tenure_days days_since_last_seen"""),
    **_cols("features", BOOLEAN, "is_identified email_opt_in push_opt_in"),
    **_cols("features", STRING, "primary_device top_category trending_category email_sha256 country"),
    **_cols("scores", NUMBER, """p_purchase_7d p_purchase_30d p_purchase_90d p_churn expected_orders_365d
        expected_value_365d discount_uplift """ + _SCORE_DECILES),
    **_cols("scores", STRING, "next_category"),
}

# Columns of marts.customer_category_features behind the category_* rule functions.
CATEGORY_COLUMNS = ("customer_id", "as_of_date", "category", "views_30d", "views_prior_60d", "orders_90d",
                    "revenue_90d", "share_of_views_90d", "trend_ratio")
# Columns of marts.customer_tag_features behind the tag_* rule functions.
TAG_COLUMNS = ("customer_id", "as_of_date", "tag", "views_30d", "views_90d", "orders_90d", "share_of_views_90d")
CLUSTER_COLUMNS = ("customer_id", "as_of_date", "cluster_name")

# What marts.segment_summary averages / sums over members, when the column exists.
SUMMARY_SCORE_COLUMNS = ("p_purchase_30d", "p_churn", "expected_value_365d", "discount_uplift")
SUMMARY_REVENUE_COLUMN = "revenue_30d"


def duckdb_type_kind(type_name: str) -> str:
    t = type_name.upper()
    if t == "BOOLEAN":
        return BOOLEAN
    if t in ("VARCHAR", "TEXT", "STRING") or t.startswith("VARCHAR") or t.startswith("ENUM"):
        return STRING
    if t == "DATE":
        return DATE
    numeric = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
               "UBIGINT", "UHUGEINT", "FLOAT", "REAL", "DOUBLE")
    if t in numeric or t.startswith("DECIMAL"):
        return NUMBER
    return OTHER


def table_columns(con: duckdb.DuckDBPyConnection, qualified: str) -> dict[str, str] | None:
    """{column: duckdb type} of a table or view, None when it does not exist."""
    schema, table = qualified.split(".")
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return {name: dtype for name, dtype in rows} or None


def warehouse_catalogue(con: duckdb.DuckDBPyConnection) -> dict[str, ColumnInfo]:
    """Columns rules may name in this warehouse (features win over scores on a shared name)."""
    catalogue: dict[str, ColumnInfo] = {}
    for source in ("scores", "features"):
        for name, dtype in (table_columns(con, SOURCE_TABLES[source]) or {}).items():
            if name in KEY_COLUMNS:
                continue
            catalogue[name] = ColumnInfo(name, duckdb_type_kind(dtype), source)
    return catalogue
