"""Landing -> lake: validate delivered files, write the typed lake, record refused rows in the warehouse.

Per day D of a load, every file of landing/events/event_date=D/ (sorted by name) is read and
validated together; the accepted rows replace lake/events/event_date=D/part-0.parquet (written to a
temporary file, then os.replace) and the refused rows replace that partition's rows in the DuckDB
table quarantine.events. Re-loading a day gives identical lake bytes and the same quarantine rows.
All files of a day are read before anything of that day is written, so a malformed file raises
MalformedFileError and leaves the lake and warehouse as they were for that day.

Rows refused by importers (landing/_quarantine/*.parquet, QUARANTINE shape) are copied into
quarantine.events on every load_events call, replacing all earlier importer rows (every row whose
source_file is not under landing/events/): the table mirrors the folder, so nothing is counted twice.

Dimensions (landing/{customers,products,campaigns,campaign_assignments}/) are rebuilt whole each time
into lake/<table>/part-0.parquet; their refused rows replace the table's rows in quarantine.dimensions
(QUARANTINE columns plus table_name).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl

from shop.contract import DIMENSIONS, EVENTS, QUARANTINE, Table
from shop.home import Home
from shop.readers import SUPPORTED_SUFFIXES, MalformedFileError, extra_columns, read_table_file
from shop.validate import (
    DEFAULT_RULES,
    DIMENSION_QUARANTINE_SCHEMA,
    LAKE_EVENTS_SCHEMA,
    SOURCE_FILE,
    Batch,
    ValidationRules,
    validate_dimension_batches,
    validate_event_batches,
)

LAKE_FILE = "part-0.parquet"

_QUARANTINE_DDL = {
    "events": """
        CREATE TABLE IF NOT EXISTS quarantine.events (
            source_file VARCHAR NOT NULL,
            row_number BIGINT NOT NULL,
            row_json VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            event_date DATE,
            loaded_at TIMESTAMPTZ NOT NULL
        )""",
    "dimensions": """
        CREATE TABLE IF NOT EXISTS quarantine.dimensions (
            table_name VARCHAR NOT NULL,
            source_file VARCHAR NOT NULL,
            row_number BIGINT NOT NULL,
            row_json VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            event_date DATE,
            loaded_at TIMESTAMPTZ NOT NULL
        )""",
}


@dataclass
class FileReport:
    source_file: str
    read: int
    accepted: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    dropped_columns: tuple[str, ...] = ()
    partition: str = ""

    @property
    def reconciles(self) -> bool:
        return self.read == self.accepted + self.quarantined


@dataclass
class LoadReport:
    """What a load read, accepted and quarantined, per file and in total."""

    kind: str
    files: list[FileReport] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def reasons(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.reasons)
        return dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def reconciles(self) -> bool:
        return self.read == self.accepted + self.quarantined and all(f.reconciles for f in self.files)

    def for_partition(self, partition: str) -> "LoadReport":
        """The part of this report about one day (events) or one table (dimensions)."""
        files = [f for f in self.files if f.partition == partition]
        return LoadReport(self.kind, files, [p for p in self.partitions if p == partition], self.seconds)

    for_table = for_partition

    def describe(self) -> str:
        return str(self)

    def __str__(self) -> str:
        lines = [
            f"{self.kind}: {len(self.partitions)} partition(s), {len(self.files)} file(s) in {self.seconds:.2f}s",
            f"  read {self.read:,} = accepted {self.accepted:,} + quarantined {self.quarantined:,}"
            f" ({'reconciles' if self.reconciles else 'DOES NOT RECONCILE'})",
        ]
        for reason, n in self.reasons.items():
            lines.append(f"    {reason:<30} {n:>10,}")
        for f in self.files:
            note = f"  dropped columns: {', '.join(f.dropped_columns)}" if f.dropped_columns else ""
            counts = f"read {f.read:,} accepted {f.accepted:,} quarantined {f.quarantined:,}"
            lines.append(f"  {f.source_file}: {counts}{note}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- helpers


def _days(start: date, end: date) -> Iterator[date]:
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def landing_files(folder: Path) -> list[Path]:
    """Delivered files of a landing folder, sorted by name; hidden files and sub-folders are ignored,
    any other file type is an error (rather than data silently not loaded)."""
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if p.name.startswith((".", "_")) or not p.is_file():
            continue
        if p.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise MalformedFileError(p, f"unsupported file type in landing; expected one of {SUPPORTED_SUFFIXES}")
        out.append(p)
    return out


def _relative(home: Home, path: Path) -> str:
    try:
        return path.resolve().relative_to(home.root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


@contextmanager
def warehouse(home: Home) -> Iterator[duckdb.DuckDBPyConnection]:
    home.root.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(home.warehouse))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS quarantine")
        for ddl in _QUARANTINE_DDL.values():
            con.execute(ddl)
        yield con
    finally:
        con.close()


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


@contextmanager
def _replacing(target: Path, df: pl.DataFrame) -> Iterator[None]:
    """Write `df` to a temporary file beside `target`, run the body, then os.replace() it into place;
    if anything fails the temporary file is removed and `target` is left as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        df.write_parquet(tmp, compression="zstd", statistics=True)
        yield
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)


def _replace_rows(con: duckdb.DuckDBPyConnection, table: str, where: str, params: list, rows: pl.DataFrame) -> None:
    con.execute(f"DELETE FROM {table} WHERE {where}", params)
    if rows.height:
        con.register("_incoming_rows", rows.to_arrow())
        try:
            con.execute(f"INSERT INTO {table} SELECT * FROM _incoming_rows")
        finally:
            con.unregister("_incoming_rows")


def _file_reports(
    accepted: pl.DataFrame, quarantined: pl.DataFrame, reads: Sequence[tuple[str, int, tuple[str, ...]]], partition: str
) -> list[FileReport]:
    acc = dict(accepted.group_by(SOURCE_FILE).len().iter_rows())
    reasons: dict[str, dict[str, int]] = {}
    for source, reason, n in quarantined.group_by("source_file", "reason").len().iter_rows():
        reasons.setdefault(source, {})[reason] = n
    out = []
    for source, n_read, dropped in reads:
        r = reasons.get(source, {})
        out.append(FileReport(source, n_read, acc.get(source, 0), sum(r.values()), r, dropped, partition))
    return out


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)


# ------------------------------------------------------------------------------------------------ events


def _prior_event_ids(home: Home, day: date, lookback_days: int) -> pl.LazyFrame | None:
    paths = [
        p
        for k in range(1, lookback_days + 1)
        if (p := home.lake_events_day((day - timedelta(days=k)).isoformat()) / LAKE_FILE).is_file()
    ]
    return pl.scan_parquet(paths).select("event_id") if paths else None


def _read_importer_quarantine(home: Home) -> tuple[pl.DataFrame, list[FileReport]]:
    frames, reports = [], []
    for p in landing_files(home.landing_quarantine):
        df = read_table_file(p, required=[c for c in QUARANTINE.required if c != "loaded_at"])
        try:
            df = df.select(
                pl.col("source_file").cast(pl.String),
                pl.col("row_number").cast(pl.Int64),
                pl.col("row_json").cast(pl.String),
                pl.col("reason").cast(pl.String),
                (pl.col("event_date").cast(pl.Date) if "event_date" in df.columns else pl.lit(None, pl.Date)).alias(
                    "event_date"
                ),
            )
        except pl.exceptions.PolarsError as exc:
            raise MalformedFileError(p, f"not a quarantine file (QUARANTINE columns do not cast): {exc}") from exc
        required = pl.col("source_file", "row_number", "row_json", "reason")
        if df.select(pl.any_horizontal(required.is_null().any())).item():
            raise MalformedFileError(p, "quarantine file has null source_file, row_number, row_json or reason")
        reasons = dict(df.group_by("reason").len().iter_rows())
        reports.append(FileReport(_relative(home, p), df.height, 0, df.height, reasons, (), "_quarantine"))
        frames.append(df)
    schema = {k: v for k, v in QUARANTINE.schema.items() if k != "loaded_at"}
    return (pl.concat(frames) if frames else pl.DataFrame(schema=schema)), reports


def load_events(
    home: Home,
    start: date,
    end: date,
    now: datetime | None = None,
    lookback_days: int = 7,
    *,
    rules: ValidationRules = DEFAULT_RULES,
) -> LoadReport:
    """Load the landing days [start, end] into the lake, and importer quarantine files into the warehouse.

    Days are loaded in date order, so a duplicate of an id accepted on one of the `lookback_days` days
    before is quarantined (only the days already in the lake count). A loaded day with no landing files
    gets an empty lake file and no quarantine rows.
    """
    began = time.perf_counter()
    now = _now(now)
    report = LoadReport("events")
    importer_rows, importer_reports = _read_importer_quarantine(home)
    with warehouse(home) as con:
        for day in _days(start, end):
            iso = day.isoformat()
            batches, reads = [], []
            for path in landing_files(home.landing_events_day(iso)):
                df = read_table_file(path, required=EVENTS.required)
                rel = _relative(home, path)
                batches.append(Batch(rel, df))
                reads.append((rel, df.height, tuple(extra_columns(df, EVENTS.names))))
            accepted, quarantined = validate_event_batches(
                batches, day, now, rules=rules, prior_event_ids=_prior_event_ids(home, day, lookback_days)
            )
            target = home.lake_events_day(iso) / LAKE_FILE
            prefix = _relative(home, home.landing_events_day(iso)) + "/"
            with _replacing(target, accepted.select(LAKE_EVENTS_SCHEMA.names())), _transaction(con):
                where = "event_date = ? AND starts_with(source_file, ?)"
                _replace_rows(con, "quarantine.events", where, [day, prefix], quarantined)
            report.partitions.append(iso)
            report.files.extend(_file_reports(accepted, quarantined, reads, iso))

        # importer rows mirror landing/_quarantine: replaced as a whole, so re-imports and re-loads
        # never double-count and a removed quarantine file takes its rows with it
        rows = importer_rows.with_columns(pl.lit(now, QUARANTINE.schema["loaded_at"]).alias("loaded_at"))
        with _transaction(con):
            where = "NOT starts_with(source_file, ?)"
            _replace_rows(con, "quarantine.events", where, [_relative(home, home.landing / "events") + "/"], rows)
        report.files.extend(importer_reports)
    report.seconds = time.perf_counter() - began
    return report


# -------------------------------------------------------------------------------------------- dimensions


def _dimension_dir(home: Home, table: Table) -> Path:
    return home.landing / table.name


def load_dimensions(home: Home, now: datetime | None = None, tables: Sequence[Table] = DIMENSIONS) -> LoadReport:
    """Rebuild lake/<table>/part-0.parquet for each dimension from all its landing files (sorted by name;
    the last delivery of a key wins). Every table's files are read before anything is written."""
    began = time.perf_counter()
    now = _now(now)
    report = LoadReport("dimensions")
    pending = []
    for table in tables:
        batches, reads = [], []
        for path in landing_files(_dimension_dir(home, table)):
            df = read_table_file(path, required=table.required)
            rel = _relative(home, path)
            batches.append(Batch(rel, df))
            reads.append((rel, df.height, tuple(extra_columns(df, table.names))))
        pending.append((table, batches, reads))

    with warehouse(home) as con:
        for table, batches, reads in pending:
            accepted, quarantined = validate_dimension_batches(table, batches, now)
            target = home.lake / table.name / LAKE_FILE
            rows = quarantined.select(DIMENSION_QUARANTINE_SCHEMA.names())
            with _replacing(target, accepted), _transaction(con):
                _replace_rows(con, "quarantine.dimensions", "table_name = ?", [table.name], rows)
            report.partitions.append(table.name)
            report.files.extend(_file_reports(accepted, quarantined, reads, table.name))
    report.seconds = time.perf_counter() - began
    return report
