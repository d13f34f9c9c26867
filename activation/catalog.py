"""What exists in a DuckDB database: tables and their columns, so optional marts can be skipped, not crashed on."""

from __future__ import annotations

import duckdb


def split_name(name: str, default_schema: str = "marts") -> tuple[str, str]:
    """'marts.customer_scores' -> ('marts', 'customer_scores'); a bare name gets `default_schema`."""
    parts = name.strip().split(".")
    if len(parts) == 1 and parts[0]:
        return default_schema, parts[0]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    raise ValueError(f"table name must be 'table' or 'schema.table', got {name!r}")


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def column_types(con: duckdb.DuckDBPyConnection, catalog: str | None, schema: str, table: str) -> dict[str, str]:
    """{column: DuckDB type name} in table order; {} when the table (or view) does not exist."""
    sql = "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ?"
    params: list = [schema, table]
    if catalog is not None:
        sql += " and table_catalog = ?"
        params.append(catalog)
    return dict(con.execute(sql + " order by ordinal_position", params).fetchall())


def table_columns(con: duckdb.DuckDBPyConnection, catalog: str | None, schema: str, table: str) -> list[str]:
    """Columns of catalog.schema.table in table order; [] when the table (or view) does not exist."""
    sql = "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
    params: list = [schema, table]
    if catalog is not None:
        sql += " and table_catalog = ?"
        params.append(catalog)
    rows = con.execute(sql + " order by ordinal_position", params).fetchall()
    return [r[0] for r in rows]


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """First row of a query, with the result fully consumed (DuckDB 2.0 refuses new work on a connection
    while an execute() result is unfinished)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None
