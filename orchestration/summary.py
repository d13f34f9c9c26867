"""A plain-text description of what a home holds, for `segments demo` and `segments status`."""

from __future__ import annotations

import duckdb

from shop.home import Home


def warehouse_tables(home: Home) -> list[tuple[str, str, int]]:
    if not home.warehouse.exists():
        return []
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        names = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema <> 'main' or table_name not like 'dbt_%' order by 1, 2"
        ).fetchall()
        return [(s, t, con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]) for s, t in names]


def describe_home(home: Home) -> str:
    lines = [f"home: {home.root}", f"  landing zone : {home.landing}", f"  ground truth : {home.ground_truth}",
             f"  warehouse    : {home.warehouse}", f"  mlflow       : {home.mlflow_uri}",
             f"  dagster      : {home.dagster_home}", f"  exports      : {home.exports}", f"  serving      : {home.serving}"]
    tables = warehouse_tables(home)
    if tables:
        lines.append("warehouse tables (rows):")
        lines += [f"  {schema + '.' + table:<44} {rows:>12,}" for schema, table, rows in tables]
    else:
        lines.append("warehouse: not built yet (run `segments run --all`)")
    return "\n".join(lines)
