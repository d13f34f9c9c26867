"""Row counts and column schemas for dbt outputs, read after dbt has released the warehouse.

dagster-dbt's own fetch_row_counts() queries the database while the dbt process still holds the
DuckDB write lock, which fails; so outputs are collected first and described once dbt is done.
"""

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt.errors import DagsterDbtCliRuntimeError


def describe_tables(warehouse: Path, tables: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    wanted = sorted(set(tables))
    if not wanted or not warehouse.exists():
        return {}
    described: dict[tuple[str, str], dict] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for schema, table in wanted:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            if not columns:
                continue
            rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            described[(schema, table)] = {
                "dagster/row_count": dg.MetadataValue.int(rows),
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(name=name, type=dtype) for name, dtype in columns]
                ),
            }
    return described


def with_table_metadata(events: Iterable, warehouse: Path, key_for_output: Callable[[str], dg.AssetKey]) -> Iterator:
    """Yield dbt events unchanged, except that Outputs carry row count and column schema.

    Asset keys are [schema, table] (see the translator), so the key names the relation. When dbt
    fails (e.g. a test with severity error), what it did report (outputs, failed test results) is
    still yielded, so the UI shows which check failed, and then the step fails.
    """
    events, failure = _collect(events)
    relations = {
        e.output_name: tuple(key_for_output(e.output_name).path[-2:]) for e in events if isinstance(e, dg.Output)
    }
    described = describe_tables(warehouse, relations.values())
    for event in events:
        extra = described.get(relations.get(event.output_name)) if isinstance(event, dg.Output) else None
        yield event.with_metadata({**event.metadata, **extra}) if extra else event
    if failure is not None:
        raise failure


def _collect(events: Iterable) -> tuple[list, DagsterDbtCliRuntimeError | None]:
    collected = []
    try:
        for event in events:
            collected.append(event)
    except DagsterDbtCliRuntimeError as exc:
        return collected, exc
    return collected, None
