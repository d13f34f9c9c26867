"""Erase the subject from every table of a DuckDB file, columns found from information_schema.

Every base table is looked at; a row goes when one of its identity columns (privacy.subject) holds
the subject's id, an anonymous id of theirs, or their e-mail (hash), or when its `row_json` is one
of their delivered rows. Views are left alone: they are computed from the tables.
"""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

import duckdb

from shop import duckdb_connection
from privacy.subject import ROW_JSON, Subject, is_email_column, is_id_column

_NON_TEXT = ("BOOLEAN", "DATE", "TIME", "TIMESTAMP", "INTERVAL", "BLOB", "STRUCT", "MAP", "UNION")


class WarehouseLocked(RuntimeError):
    pass


@contextmanager
def writer(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single write connection; a clear error when another process (a running pipeline) holds it."""
    try:
        con = duckdb_connection.connect(path)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLocked(
                f"the warehouse {path} is in use by another process (a pipeline run, `segments ui` materializing, "
                f"or a BI tool holding it open): nothing was erased; retry when it has finished ({exc})"
            ) from exc
        raise
    try:
        yield con
    finally:
        con.close()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def identity_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """{(schema, table): [(column, data_type), ...]} of base tables with at least one identity column."""
    rows = con.execute("""
        select c.table_schema, c.table_name, c.column_name, c.data_type
        from information_schema.columns c
        join information_schema.tables t
          on t.table_catalog = c.table_catalog and t.table_schema = c.table_schema and t.table_name = c.table_name
        where t.table_type = 'BASE TABLE' and c.table_catalog = current_database()
        order by c.table_schema, c.table_name, c.ordinal_position""").fetchall()
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, dtype in rows:
        text_like = not dtype.upper().startswith(_NON_TEXT) and not dtype.upper().endswith("[]")
        if text_like and (is_id_column(column) or (is_email_column(column) and "CHAR" in dtype.upper())
                          or column == ROW_JSON):
            out.setdefault((schema, table), []).append((column, dtype))
    return out


def linked_identities(con: duckdb.DuckDBPyConnection, customer_id: str) -> tuple[set[str], set[str], set[str]]:
    """(anonymous ids an identity map links to the customer, anonymous ids it links to someone else,
    e-mail hashes stored beside the customer id). Identity maps: tables named like '%identity%' with
    anonymous_id and customer_id columns (intermediate.int_identity_map)."""
    mine, others, hashes = set(), set(), set()
    for (schema, table), columns in identity_columns(con).items():
        names = {c for c, _ in columns}
        ref = f"{_q(schema)}.{_q(table)}"
        if "identity" in table.lower() and {"anonymous_id", "customer_id"} <= names:
            for anon, owner in con.execute(
                    f"select distinct cast(anonymous_id as varchar), cast(customer_id as varchar) from {ref} "
                    "where anonymous_id is not null").fetchall():
                (mine if owner == customer_id else others).add(anon)
        if "customer_id" in names and "email_sha256" in names:
            hashes |= {r[0] for r in con.execute(
                f"select distinct cast(email_sha256 as varchar) from {ref} "
                "where cast(customer_id as varchar) = ? and email_sha256 is not null", [customer_id]).fetchall()}
    return mine, others - mine, hashes


def _conditions(columns: list[tuple[str, str]], subject: Subject) -> tuple[str | None, list]:
    conditions, params = [], []
    for column, _ in columns:
        if column == ROW_JSON:
            continue
        text = f"trim(cast({_q(column)} as varchar))"
        if is_id_column(column):
            conditions.append(f"list_contains(?, {text})")
            params.append(sorted(subject.id_keys))
        else:
            conditions.append(f"list_contains(?, lower({text}))")
            params.append(sorted(subject.email_keys))
    return (" or ".join(conditions) if conditions else None), params


def count_rows(con: duckdb.DuckDBPyConnection, subject: Subject) -> dict[str, int]:
    """{schema.table: rows of the subject} for every table still holding some (works read-only)."""
    found: dict[str, int] = {}
    for (schema, table), columns in identity_columns(con).items():
        ref = f"{_q(schema)}.{_q(table)}"
        where, params = _conditions(columns, subject)
        n = con.execute(f"select count(*) from {ref} where {where}", params).fetchone()[0] if where else 0
        if any(c == ROW_JSON for c, _ in columns):
            n += len(_json_rowids(con, ref, subject))
        if n:
            found[f"{schema}.{table}"] = n
    return found


def erase_tables(con: duckdb.DuckDBPyConnection, subject: Subject) -> dict[str, int]:
    """Delete the subject's rows from every table in one transaction, then checkpoint;
    {schema.table: rows removed} for tables that had some."""
    removed: dict[str, int] = {}
    con.begin()
    try:
        for (schema, table), columns in identity_columns(con).items():
            ref = f"{_q(schema)}.{_q(table)}"
            where, params = _conditions(columns, subject)
            n = con.execute(f"delete from {ref} where {where}", params).fetchone()[0] if where else 0
            if any(c == ROW_JSON for c, _ in columns):
                doomed = _json_rowids(con, ref, subject)
                if doomed:
                    n += con.execute(f"delete from {ref} where list_contains(?, rowid)", [doomed]).fetchone()[0]
            if n:
                removed[f"{schema}.{table}"] = n
        con.commit()
    except BaseException:
        con.rollback()
        raise
    con.execute("checkpoint")
    return removed


def _json_rowids(con: duckdb.DuckDBPyConnection, ref: str, subject: Subject) -> list[int]:
    """Rows whose row_json is one of the subject's delivered rows (a cheap text filter, then parsed)."""
    needles = sorted(k.lower() for k in subject.all_keys)
    candidates = con.execute(
        f"select rowid, {ROW_JSON} from {ref} "
        f"where list_bool_or(list_transform(?, lambda k: contains(lower({ROW_JSON}), k)))", [needles]).fetchall()
    return [rowid for rowid, text in candidates if subject.matches_json(text)]


def copy_to_fresh_file(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """Copy the open database into a new file beside `path` and return it. A DELETE leaves the old
    values in the file's free blocks; a copy holds only live rows. The caller os.replace's it onto
    `path` once `con` is closed."""
    from activation.files import remove_quietly, temp_path_for

    temp = temp_path_for(Path(path))
    database = con.execute("select current_database()").fetchone()[0]
    try:
        con.execute(f"attach '{str(temp).replace(chr(39), chr(39) * 2)}' as privacy_fresh_copy")
        con.execute(f"copy from database {_q(database)} to privacy_fresh_copy")
        con.execute("detach privacy_fresh_copy")
    except BaseException:
        remove_quietly(temp, Path(str(temp) + ".wal"))
        raise
    return temp
