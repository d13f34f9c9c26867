"""Publish the BI-facing marts to home.serving: a DuckDB file old (1.x) readers can open, and Parquet.

Layout written by `publish_serving_copy`:
    serving/segments.duckdb              the marts (same schema.table names), storage version v1.4.0,
                                         plus main.serving_manifest (this generation's tables and row counts)
    serving/parquet/<table>.parquet      one file per marts table (<schema>.<table>.parquet outside marts)
    serving/manifest.json                published_at, run_id, tables with rows, bytes and sha256; replaced last

Every file is built under a temp name in its final folder and os.replace'd onto the published name, so a
reader sees a whole old file or a whole new one. A reader that has the old DuckDB file open keeps its
consistent snapshot. Across files (duckdb vs parquet vs manifest) a reader may briefly see two
generations; manifest.json's checksums tell it which file belongs to which generation, and the DuckDB
file alone is always self-consistent (its own main.serving_manifest).
The warehouse is attached READ_ONLY: the caller guarantees no writer is active while this runs.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from shop import duckdb_connection
from activation.catalog import column_types, fetch_one, quote, split_name
from activation.files import (
    remove_quietly,
    remove_stale_temps,
    replace_atomically,
    sha256_file,
    temp_path_for,
    write_text_atomically,
)

SERVING_DB = "segments.duckdb"
PARQUET_DIR = "parquet"
MANIFEST = "manifest.json"
MANIFEST_TABLE = "main.serving_manifest"
# Storage format of the served file: DuckDB 1.4 readers (and newer) open it; 2.0's default format they cannot.
STORAGE_VERSION = "v1.4.0"
MANIFEST_FORMAT = 1

DEFAULT_TABLES = (
    "marts.customer_segments",
    "marts.segment_membership_history",
    "marts.segment_transitions",
    "marts.segment_summary",
    "marts.customer_scores",
    "marts.customer_clusters",
    "marts.cluster_profiles",
    "marts.customer_features",
    "marts.customer_recommendations",
    "marts.campaign_results",
    "marts.campaign_results_by_segment",
    "marts.customer_category_features",
)
# Tables with one row per customer per day: only their latest days are served, so publishing costs the
# same on day 360 as on day 30 (the warehouse keeps every day; the move history, transitions and summary
# are served whole). Feature snapshots: the latest day; scores, clusters and memberships: the last
# SERVED_DAYS_ENV days (default 35; 0 = every day).
LATEST_DAY_ONLY = frozenset({"marts.customer_features", "marts.customer_category_features"})
RECENT_DAYS = frozenset({"marts.customer_segments", "marts.customer_scores", "marts.customer_clusters"})
SERVED_DAYS_ENV = "SEGMENTS_SERVED_DAYS"
DEFAULT_SERVED_DAYS = 35
DAY_COLUMN = "as_of_date"
UNSERVABLE_TYPES = ("VARIANT",)

_SRC, _DST = "serving_src", "serving_dst"


def serving_paths(home) -> dict[str, Path]:
    root = Path(home.serving)
    return {"root": root, "duckdb": root / SERVING_DB, "parquet": root / PARQUET_DIR, "manifest": root / MANIFEST}


def parquet_name(schema: str, table: str) -> str:
    return f"{table}.parquet" if schema == "marts" else f"{schema}.{table}.parquet"


def normalise_tables(tables: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in tables:
        pair = split_name(name)
        if pair not in out:
            out.append(pair)
    return out


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_manifest(home) -> dict | None:
    path = serving_paths(home)["manifest"]
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def publish_serving_copy(home, tables: list[str] | None = None, *, run_id: str | None = None) -> dict:
    """Copy the marts that exist (default: DEFAULT_TABLES) from home.warehouse to home.serving.

    Returns the manifest: published_at, run_id, tables {name: rows, filter, parquet, bytes, sha256},
    missing (requested tables not in the warehouse), rows, bytes, seconds, duckdb {file, bytes, sha256}.
    Raises FileNotFoundError without a warehouse and LookupError when none of the tables exists
    (publishing an empty copy over a good one would be worse than keeping the old one).
    """
    started = time.perf_counter()
    warehouse = Path(home.warehouse)
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run the pipeline before publishing the serving copy")
    paths = serving_paths(home)
    paths["parquet"].mkdir(parents=True, exist_ok=True)
    for folder in (paths["root"], paths["parquet"]):
        remove_stale_temps(folder)

    requested = normalise_tables(list(tables) if tables is not None else list(DEFAULT_TABLES))
    if not requested:
        raise ValueError("no tables requested")
    published_at = datetime.now(timezone.utc).isoformat(timespec="seconds")

    temp_db = temp_path_for(paths["duckdb"])
    temps: list[Path] = [temp_db, Path(str(temp_db) + ".wal")]
    try:
        copied, missing = _build_duckdb(warehouse, temp_db, requested, published_at, run_id)
        if not copied:
            raise LookupError(
                f"none of the requested tables exists in {warehouse}: {', '.join(missing)}; serving copy left unchanged")
        parquet_temps = {}
        for entry in copied:
            target = paths["parquet"] / entry["parquet_file"]
            temp = temp_path_for(target)
            temps.append(temp)
            parquet_temps[entry["name"]] = (temp, target)
        _write_parquet(temp_db, copied, parquet_temps)
        remove_quietly(Path(str(temp_db) + ".wal"))

        table_meta = {}
        for entry in copied:
            temp, _ = parquet_temps[entry["name"]]
            table_meta[entry["name"]] = {
                "source": entry["name"],
                "rows": entry["rows"],
                "filter": entry["filter"],
                "cast_to_varchar": entry["cast_to_varchar"],
                "parquet": f"{PARQUET_DIR}/{entry['parquet_file']}",
                "bytes": temp.stat().st_size,
                "sha256": sha256_file(temp),
            }
        duckdb_meta = {"file": SERVING_DB, "storage_version": STORAGE_VERSION,
                       "bytes": temp_db.stat().st_size, "sha256": sha256_file(temp_db)}

        previous = _previous_parquet_files(paths)
        replace_atomically(temp_db, paths["duckdb"])
        for temp, target in parquet_temps.values():
            replace_atomically(temp, target)
        manifest = {
            "format_version": MANIFEST_FORMAT,
            "published_at": published_at,
            "run_id": run_id,
            "warehouse": str(warehouse),
            "duckdb": duckdb_meta,
            "tables": table_meta,
            "missing": missing,
            "rows": sum(t["rows"] for t in table_meta.values()),
            "bytes": duckdb_meta["bytes"] + sum(t["bytes"] for t in table_meta.values()),
            "seconds": round(time.perf_counter() - started, 3),
        }
        write_text_atomically(paths["manifest"], json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    except BaseException:
        remove_quietly(*temps)
        raise
    # Tables served before but gone now: drop their parquet only after the new manifest no longer lists them.
    current = {t["parquet"] for t in table_meta.values()}
    for stale in previous - current:
        path = (paths["root"] / stale).resolve()
        if path.parent == paths["parquet"].resolve() and path.suffix == ".parquet":
            remove_quietly(path)
    manifest["seconds"] = round(time.perf_counter() - started, 3)
    manifest["paths"] = {k: str(v) for k, v in paths.items()}
    return manifest


def _previous_parquet_files(paths: dict[str, Path]) -> set[str]:
    try:
        old = json.loads(paths["manifest"].read_text(encoding="utf-8"))
        return {t["parquet"] for t in old.get("tables", {}).values() if "parquet" in t}
    except (FileNotFoundError, ValueError, AttributeError):
        return set()


def served_select(columns: dict[str, str]) -> tuple[str, list[str]]:
    """Select list copying every column; types the v1.4 storage format cannot hold (VARIANT) are served as
    VARCHAR (their JSON text) rather than failing the whole publish. Returns (select list, cast columns)."""
    parts, cast = [], []
    for name, dtype in columns.items():
        if dtype.upper().startswith(UNSERVABLE_TYPES):
            parts.append(f"cast({quote(name)} as varchar) as {quote(name)}")
            cast.append(name)
        else:
            parts.append(quote(name))
    return ", ".join(parts), cast


def served_days(env=None) -> int:
    env = os.environ if env is None else env
    raw = env.get(SERVED_DAYS_ENV, "").strip()
    if not raw:
        return DEFAULT_SERVED_DAYS
    if not raw.isdigit():
        raise ValueError(f"{SERVED_DAYS_ENV} must be a whole number of days (0 = every day), got {raw!r}")
    return int(raw)


def _day_filter(con, name: str, source: str, columns: dict[str, str], days: int) -> tuple[str, str | None]:
    """(where clause, manifest note) limiting a per-customer-per-day table to its latest days."""
    keep = 1 if name in LATEST_DAY_ONLY else days if name in RECENT_DAYS else 0
    if keep < 1 or DAY_COLUMN not in columns:
        return "", None
    latest = fetch_one(con, f"select max({DAY_COLUMN}) from {source}")[0]
    if latest is None:
        return "", None
    if keep == 1:
        return f" where {DAY_COLUMN} = {_sql_string(str(latest))}::DATE", f"{DAY_COLUMN} = {latest} (latest day only)"
    first = latest - timedelta(days=keep - 1)
    return (f" where {DAY_COLUMN} >= {_sql_string(str(first))}::DATE",
            f"{DAY_COLUMN} >= {first} (last {keep} days; {SERVED_DAYS_ENV})")


def _build_duckdb(warehouse: Path, temp_db: Path, requested: list[tuple[str, str]], published_at: str,
                  run_id: str | None) -> tuple[list[dict], list[str]]:
    served_days_kept = served_days()
    con = duckdb_connection.connect(temp_directory=Path(f"{temp_db}.tmp"))
    try:
        con.execute(f"attach {_sql_string(str(warehouse))} as {_SRC} (read_only)")
        con.execute(f"attach {_sql_string(str(temp_db))} as {_DST} (storage_version {_sql_string(STORAGE_VERSION)})")
        copied, missing = [], []
        for schema, table in requested:
            name = f"{schema}.{table}"
            columns = column_types(con, _SRC, schema, table)
            if not columns:
                missing.append(name)
                continue
            source = f"{_SRC}.{quote(schema)}.{quote(table)}"
            where, filter_note = _day_filter(con, name, source, columns, served_days_kept)
            select, cast_columns = served_select(columns)
            con.execute(f"create schema if not exists {_DST}.{quote(schema)}")
            con.execute(f"create table {_DST}.{quote(schema)}.{quote(table)} as select {select} from {source}{where}")
            rows = fetch_one(con, f"select count(*) from {_DST}.{quote(schema)}.{quote(table)}")[0]
            copied.append({"name": name, "schema": schema, "table": table, "rows": int(rows),
                           "filter": filter_note, "parquet_file": parquet_name(schema, table),
                           "cast_to_varchar": cast_columns})
        con.execute(f"""create table {_DST}.{MANIFEST_TABLE} (
            published_at VARCHAR NOT NULL, run_id VARCHAR, table_name VARCHAR NOT NULL,
            rows BIGINT NOT NULL, filter VARCHAR)""")
        if copied:
            con.executemany(f"insert into {_DST}.{MANIFEST_TABLE} values (?, ?, ?, ?, ?)",
                            [(published_at, run_id, c["name"], c["rows"], c["filter"]) for c in copied])
        con.execute(f"detach {_SRC}")
        con.execute(f"checkpoint {_DST}")
        con.execute(f"detach {_DST}")
        return copied, missing
    finally:
        con.close()


def _write_parquet(temp_db: Path, copied: list[dict], parquet_temps: dict[str, tuple[Path, Path]]) -> None:
    con = duckdb.connect(str(temp_db), read_only=True)
    try:
        for entry in copied:
            temp, _ = parquet_temps[entry["name"]]
            con.execute(f"copy (select * from {quote(entry['schema'])}.{quote(entry['table'])}) "
                        f"to {_sql_string(str(temp))} (format parquet, compression zstd)")
    finally:
        con.close()
