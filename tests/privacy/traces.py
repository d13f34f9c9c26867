"""Look for a person anywhere under a home: every data file, every table of every DuckDB and SQLite
file, and the raw bytes of everything else. Matches whole tokens, so 'c000001' is found inside
'anon:…', 'c000001@example.com' or a JSON text, but not inside 'c0000012'."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import duckdb
import polars as pl

TEXT_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json", ".yaml", ".yml", ".txt", ".log", ".md", ".sql")


def token_pattern(needles) -> re.Pattern:
    alternatives = "|".join(sorted((re.escape(n) for n in needles), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_])(?:{alternatives})(?![A-Za-z0-9_])", re.IGNORECASE)


def _frame_hits(frame: pl.DataFrame, pattern: re.Pattern) -> int:
    hits = 0
    for name in frame.columns:
        column = frame.get_column(name)
        if column.dtype.is_numeric() or column.dtype in (pl.Boolean, pl.Date) or isinstance(column.dtype, pl.Datetime):
            continue
        if isinstance(column.dtype, (pl.List, pl.Array, pl.Struct)):
            texts = [json.dumps(v, default=str) for v in column.to_list()]
        else:
            texts = [str(v) for v in column.cast(pl.String, strict=False).to_list() if v is not None]
        hits += sum(1 for t in texts if pattern.search(t))
    return hits


def _duckdb_hits(path: Path, pattern: re.Pattern) -> dict[str, int]:
    out = {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_catalog = current_database()").fetchall()
        for schema, table in tables:
            frame = con.sql(f'select cast(columns(*) as varchar) from "{schema}"."{table}"').pl()
            if n := _frame_hits(frame, pattern):
                out[f"{schema}.{table}"] = n
    finally:
        con.close()
    return out


def _sqlite_hits(path: Path, pattern: re.Pattern) -> dict[str, int]:
    out = {}
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for (table,) in con.execute("select name from sqlite_master where type = 'table'").fetchall():
            n = 0
            for row in con.execute(f'select * from "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", errors="replace")
                    if isinstance(value, str) and pattern.search(value):
                        n += 1
            if n:
                out[table] = n
    finally:
        con.close()
    return out


def find_traces(home: Path, needles, skip: tuple[Path, ...] = ()) -> dict[str, object]:
    """{file (or file:table): hits} for everything under `home` mentioning one of `needles`."""
    pattern = token_pattern(needles)
    found: dict[str, object] = {}
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        if path in skip or path.name.endswith((".wal", "-wal", "-shm", "-journal")):
            continue
        rel = path.relative_to(home).as_posix()
        head = path.read_bytes()[:16]
        if path.suffix == ".parquet":
            try:
                n = _frame_hits(pl.read_parquet(path), pattern)
            except Exception as exc:  # a parquet the scan cannot read is itself worth a look
                found[rel] = f"unreadable parquet: {exc}"
                continue
            if n:
                found[rel] = n
        elif path.suffix == ".duckdb":
            for table, n in _duckdb_hits(path, pattern).items():
                found[f"{rel}:{table}"] = n
            # deleted values linger in a DuckDB file's free blocks until the file is rewritten
            raw = path.read_bytes()  # packed strings have no token boundaries: plain substrings here
            if n := sum(raw.count(needle.encode()) for needle in needles):
                found[f"{rel} (raw bytes)"] = n
        elif head.startswith(b"SQLite format 3"):
            for table, n in _sqlite_hits(path, pattern).items():
                found[f"{rel}:{table}"] = n
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
            if n := len(pattern.findall(text)):
                found[rel] = n
    return found
