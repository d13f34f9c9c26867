"""Landing -> lake: validate delivered files, write the typed lake, record refused rows in the warehouse.

Per day D of a load, the files of landing/events/event_date=D/ (sorted by name) are validated as one
load, a slice of rows at a time (shop/event_day.py); the accepted rows replace
lake/events/event_date=D/part-0.parquet (streamed to a temporary file, then os.replace) and the refused
rows replace that partition's rows in the DuckDB table quarantine.events. Re-loading a day gives
identical lake bytes and the same quarantine rows. Every file of a day is opened and checked before
its first row is validated, and nothing replaces a lake file or quarantine row of the day before all
its rows validated, so a malformed file raises MalformedFileError and leaves the lake and warehouse
as they were for that day.

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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl

from shop import duckdb_connection
from shop.contract import DIMENSIONS, EVENTS, QUARANTINE, Table
from shop.home import Home
from shop.late_data import (
    fingerprint,
    landing_changed,
    late_days_setting,
    late_file_name,
    late_file_origin,
    read_corrected_days,
    record_corrected_days,
    write_manifest,
)
from privacy.redelivery import split_erased
from shop.event_day import SLICE_ROWS, LakeFiles, open_day_files, validate_day
from shop.readers import SUPPORTED_SUFFIXES, MalformedFileError, extra_columns, read_table_file
from shop.validate import (
    DEFAULT_RULES,
    DIMENSION_QUARANTINE_SCHEMA,
    SOURCE_FILE,
    Batch,
    ValidationRules,
    validate_dimension_batches,
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
    late_rows: int = 0  # accepted rows written into the partition of an earlier day (late data)
    reloaded_days: list[str] = field(default_factory=list)  # earlier days reloaded because their files changed
    corrected_days: list[str] = field(default_factory=list)  # days before the window downstream must rebuild

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
        if self.late_rows or self.reloaded_days or self.corrected_days:
            lines.append(
                f"  late data: {self.late_rows:,} row(s) into earlier days; reloaded {self.reloaded_days or 'none'};"
                f" corrected days {self.corrected_days or 'none'}"
            )
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
    con = duckdb_connection.connect(home.warehouse)
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
    accepted: Mapping[str, int],
    quarantined: pl.DataFrame,
    reads: Sequence[tuple[str, int, tuple[str, ...]]],
    partition: str,
) -> list[FileReport]:
    reasons: dict[str, dict[str, int]] = {}
    for source, reason, n in quarantined.group_by("source_file", "reason").len().iter_rows():
        reasons.setdefault(source, {})[reason] = n
    out = []
    for source, n_read, dropped in reads:
        r = reasons.get(source, {})
        out.append(FileReport(source, n_read, accepted.get(source, 0), sum(r.values()), r, dropped, partition))
    return out


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)


# ------------------------------------------------------------------------------------------------ events


def _prior_event_ids(home: Home, day: date, lookback_days: int) -> pl.LazyFrame | None:
    """Ids in the lake files of the `lookback_days` days before `day` that landed before `day`: each
    day's own file and late files from earlier landing days (a day's duplicates are judged against
    what a load in date order had accepted before it, whatever order days are reloaded in)."""
    paths = []
    for k in range(1, lookback_days + 1):
        folder = home.lake_events_day((day - timedelta(days=k)).isoformat())
        for p in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
            origin = late_file_origin(p)
            if p.name == LAKE_FILE or (origin is not None and origin < day):
                paths.append(p)
    return pl.scan_parquet(paths).select("event_id") if paths else None


def _days_to_load(home: Home, start: date, end: date, late_days: int) -> tuple[list[date], list[date]]:
    """(days to load in order, days before `start` whose landing files changed since their last load).

    The `late_days` days before `start` are checked against their manifests. When one changed, it is
    reloaded and so is every day after it: their duplicate checks look back at it."""
    changed = []
    for k in range(late_days, 0, -1):
        day = start - timedelta(days=k)
        files = landing_files(home.landing_events_day(day.isoformat()))
        if landing_changed(home.lake_events_day(day.isoformat()), LAKE_FILE, fingerprint(files)):
            changed.append(day)
    return list(_days(changed[0] if changed else start, end)), changed


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


def _load_event_day(
    home: Home,
    con: duckdb.DuckDBPyConnection,
    day: date,
    window: tuple[date, date],
    now: datetime,
    report: LoadReport,
    *,
    rules: ValidationRules,
    late_days: int,
    lookback_days: int,
    slice_rows: int,
) -> None:
    iso = day.isoformat()
    lake_events = home.lake / "events"
    paths = landing_files(home.landing_events_day(iso))
    files = open_day_files(paths, lambda p: _relative(home, p))
    reads = [(f.source_file, f.table.rows, tuple(extra_columns(f.table.columns, EVENTS.names))) for f in files]

    def target(event_date: date) -> Path:
        folder = home.lake_events_day(event_date.isoformat())
        return folder / (LAKE_FILE if event_date == day else late_file_name(day))

    with LakeFiles(target, day) as lake:
        validated = validate_day(files, day, now, lake, root=home.root, rules=rules,
                                 prior_event_ids=_prior_event_ids(home, day, lookback_days),
                                 late_days=late_days, slice_rows=slice_rows)
        late = {d: n for d, n in validated.rows_by_date.items() if d != day}
        written = set(lake.targets())
        stale = [p for p in lake_events.glob(f"event_date=*/{late_file_name(day)}") if p not in written]
        touched = {day, *late, *(date.fromisoformat(p.parent.name.split("=", 1)[1]) for p in stale)}
        record_corrected_days(lake_events, *window, [d for d in touched if d < window[0]], late_days)
        quarantined = validated.quarantine_rows()
        prefix = _relative(home, home.landing_events_day(iso)) + "/"
        with _transaction(con):
            _replace_rows(con, "quarantine.events", "event_date = ? AND starts_with(source_file, ?)",
                          [day, prefix], quarantined)
        lake.commit()
    for path in stale:
        path.unlink()
    write_manifest(home.lake_events_day(iso), day, fingerprint(paths), {d.isoformat(): n for d, n in late.items()})
    report.partitions.append(iso)
    report.late_rows += sum(late.values())
    report.files.extend(_file_reports(validated.accepted, quarantined, reads, iso))


def load_events(
    home: Home,
    start: date,
    end: date,
    now: datetime | None = None,
    lookback_days: int = 7,
    *,
    rules: ValidationRules = DEFAULT_RULES,
    late_days: int | None = None,
    slice_rows: int = SLICE_ROWS,
) -> LoadReport:
    """Load the landing days [start, end] into the lake, and importer quarantine files into the warehouse.

    Days are loaded in date order, so a duplicate of an id accepted on one of the `lookback_days` days
    before is quarantined (only the days already in the lake count). A loaded day with no landing files
    gets an empty lake file and no quarantine rows.

    Late data (`late_days`, default $SEGMENTS_LATE_DAYS or 3; 0 = strict): events of landing day D dated
    up to `late_days` days earlier go to lake/events/event_date=E/late-from-D.parquet (replaced whole on
    every load of D), older ones are quarantined as too_late. The `late_days` days before `start` whose
    landing files changed since their last load are reloaded first (see shop/late_data.py); the days
    before `start` this load rewrote are recorded as the window's corrected days.

    A day is validated and written `slice_rows` rows at a time (shop/event_day.py), with the same result
    as validating all its rows at once.
    """
    began = time.perf_counter()
    now = _now(now)
    late_days = late_days_setting() if late_days is None else late_days
    report = LoadReport("events")
    importer_rows, importer_reports = _read_importer_quarantine(home)
    lake_events = home.lake / "events"
    days, changed = _days_to_load(home, start, end, late_days)
    report.reloaded_days = [d.isoformat() for d in changed]
    with warehouse(home) as con:
        for day in days:
            _load_event_day(home, con, day, (start, end), now, report, rules=rules, late_days=late_days,
                             lookback_days=lookback_days, slice_rows=slice_rows)
        report.corrected_days = [d.isoformat() for d in read_corrected_days(lake_events, start, end)]

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
            reads.append((rel, df.height, tuple(extra_columns(df.columns, table.names))))
        pending.append((table, batches, reads))

    with warehouse(home) as con:
        for table, batches, reads in pending:
            batches, erased = split_erased(home.root, batches, None, now, table.name)
            accepted, quarantined = validate_dimension_batches(table, batches, now)
            quarantined = pl.concat([quarantined, erased])
            target = home.lake / table.name / LAKE_FILE
            rows = quarantined.select(DIMENSION_QUARANTINE_SCHEMA.names())
            with _replacing(target, accepted), _transaction(con):
                _replace_rows(con, "quarantine.dimensions", "table_name = ?", [table.name], rows)
            report.partitions.append(table.name)
            accepted_counts = dict(accepted.group_by(SOURCE_FILE).len().iter_rows())
            report.files.extend(_file_reports(accepted_counts, quarantined, reads, table.name))
    report.seconds = time.perf_counter() - began
    return report
