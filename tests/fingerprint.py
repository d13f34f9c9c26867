"""Canonical fingerprints of every table in a home's DuckDB files, and a readable comparison.

A table's fingerprint covers its column names and types and its rows sorted canonically (each value
by repr, so 0.1 + 0.2 and 0.3 differ and NULL differs from ''), so two fingerprints are equal exactly
when the tables hold the same bag of rows under the same schema. Columns that record a publication
(when, by which run) rather than data are left out by name: RUN_METADATA.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

DATABASES = ("warehouse.duckdb", "serving/segments.duckdb")
# (database, schema.table) -> columns that describe the run that wrote the table, not the data: when a
# copy was published and by which run; when a refused row was quarantined (an audit trail, not a mart).
RUN_METADATA = {
    ("serving/segments.duckdb", "main.serving_manifest"): ("published_at", "run_id"),
    ("warehouse.duckdb", "quarantine.events"): ("loaded_at",),
    ("warehouse.duckdb", "quarantine.dimensions"): ("loaded_at",),
}


@dataclass(frozen=True)
class TableFingerprint:
    columns: tuple[tuple[str, str], ...]
    rows: tuple[str, ...] = field(repr=False)  # canonical rows, sorted
    digest: str = ""

    @property
    def row_count(self) -> int:
        return len(self.rows)


def _canonical_row(row: tuple) -> str:
    return "\x1f".join(repr(v) for v in row)


def table_fingerprint(con: duckdb.DuckDBPyConnection, schema: str, table: str,
                      skip_columns: tuple[str, ...] = ()) -> TableFingerprint:
    described = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position", [schema, table]).fetchall()
    columns = tuple((name, dtype) for name, dtype in described if name not in skip_columns)
    select = ", ".join('"' + name.replace('"', '""') + '"' for name, _ in columns) or "1"
    rows = tuple(sorted(_canonical_row(r) for r in con.execute(f'select {select} from "{schema}"."{table}"').fetchall()))
    digest = hashlib.sha256()
    digest.update(repr(columns).encode())
    for row in rows:
        digest.update(row.encode("utf-8", "backslashreplace") + b"\x1e")
    return TableFingerprint(columns, rows, digest.hexdigest())


def database_fingerprint(path: Path, label: str) -> dict[str, TableFingerprint]:
    """Every base table and view of every schema in one DuckDB file, keyed '<label>:<schema>.<table>'."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() order by 1, 2").fetchall()
        for schema, table in tables:
            skip = RUN_METADATA.get((label, f"{schema}.{table}"), ())
            out[f"{label}:{schema}.{table}"] = table_fingerprint(con, schema, table, skip)
    return out


def home_fingerprint(home: Path) -> dict[str, TableFingerprint]:
    """Every table of the warehouse and of the serving copy under a home; a missing file is an error."""
    out = {}
    for label in DATABASES:
        path = Path(home) / label
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        out.update(database_fingerprint(path, label))
    return out


def _first_difference(a: tuple[str, ...], b: tuple[str, ...]) -> str:
    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    parts = [f"{len(a)} vs {len(b)} rows"]
    if only_a:
        parts.append(f"first row only in expected: {only_a[0][:400]}")
    if only_b:
        parts.append(f"first row only in actual: {only_b[0][:400]}")
    if not only_a and not only_b:
        parts.append("same distinct rows, different multiplicities")
    return "; ".join(parts)


def differences(expected: dict[str, TableFingerprint], actual: dict[str, TableFingerprint]) -> list[str]:
    """One line per table that differs (missing, extra, schema, rows), naming the first differing rows."""
    out = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            out.append(f"{name}: missing")
        elif name not in expected:
            out.append(f"{name}: unexpected table")
        elif expected[name].columns != actual[name].columns:
            out.append(f"{name}: columns {expected[name].columns} != {actual[name].columns}")
        elif expected[name].digest != actual[name].digest:
            out.append(f"{name}: {_first_difference(expected[name].rows, actual[name].rows)}")
    return out


def assert_same_tables(expected: dict[str, TableFingerprint], actual: dict[str, TableFingerprint], context: str) -> None:
    diff = differences(expected, actual)
    assert not diff, f"{context}: {len(diff)} table(s) differ:\n" + "\n".join(diff)
