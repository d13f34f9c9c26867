"""import_file: turn an external file into contract-shaped landing files, using a mapping.

Outputs (all named import-<mapping>-<first 12 hex of the file's SHA-256>.parquet, so re-importing
the same file overwrites its own outputs and never duplicates them):
- landing/events/event_date=D/...   accepted events of UTC day D (EVENTS columns, contract dtypes)
- landing/_quarantine/...           refused rows (QUARANTINE columns), loaded into quarantine.events by the loader
- landing/<dimension>/...           dimension rows derived from accepted rows (last row per key)
The importer never opens the warehouse.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from shop.contract import EVENTS, QUARANTINE, TABLES
from shop.home import Home
from shop.importers.engine import SourceColumnError, evaluate_fields, typed_source
from shop.importers.mapping import Mapping, load_mapping
from shop.readers import MalformedFileError, read_table_file
from shop.validate import (
    DEFAULT_RULES,
    ValidationRules,
    rows_as_json,
    validate_dimension,
    validate_events,
)


@dataclass
class ImportReport:
    mapping: str
    source_file: str
    content_hash: str
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    days: int = 0
    event_files: list[str] = field(default_factory=list)
    quarantine_file: str | None = None
    dimension_rows: dict[str, int] = field(default_factory=dict)
    dimension_files: list[str] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        return self.read == self.accepted + self.quarantined and self.quarantined == sum(self.reasons.values())

    def describe(self) -> str:
        return str(self)

    def __str__(self) -> str:
        lines = [
            f"import {self.source_file} with mapping {self.mapping} (content {self.content_hash})",
            f"  read {self.read:,} = accepted {self.accepted:,} + quarantined {self.quarantined:,}"
            f" ({'reconciles' if self.reconciles else 'DOES NOT RECONCILE'})",
        ]
        for reason, n in self.reasons.items():
            lines.append(f"    {reason:<30} {n:>10,}")
        lines.append(f"  {len(self.event_files)} event file(s) over {self.days} day(s)")
        if self.quarantine_file:
            lines.append(f"  quarantine: {self.quarantine_file}")
        for table, n in self.dimension_rows.items():
            lines.append(f"  {table}: {n:,} row(s)")
        return "\n".join(lines)


def content_hash(path: Path, length: int = 12) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]


def _display_path(path: Path, home: Home) -> str:
    resolved = path.resolve()
    try:
        return resolved.relative_to(home.root.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _write(df: pl.DataFrame, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    df.write_parquet(tmp, compression="zstd")
    os.replace(tmp, target)


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)


def import_file(
    path: str | Path,
    mapping: str | Path | Mapping,
    home: Home,
    now: datetime | None = None,
    *,
    rules: ValidationRules = DEFAULT_RULES,
) -> ImportReport:
    """Import one file with a shipped mapping name (cdnow, online_retail, rees46), a YAML path or a Mapping.

    Every row of the file is either written as an accepted event or quarantined with one reason:
    first the mapping's `types` casts, then its `quarantine` rules (in file order), then the contract
    checks of shop.validate (in shop.reasons.EVENT_CHECK_ORDER; duplicates within the file, the first
    row is kept). row_number in the quarantine is the 0-based data row of the source file.
    """
    path = Path(path)
    spec = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    now = _utc(now)
    raw = read_table_file(path, required=spec.required_columns, options=spec.read)
    digest = content_hash(path)
    source = _display_path(path, home)
    stem = f"import-{spec.name}-{digest}.parquet"
    report = ImportReport(spec.name, source, digest, read=raw.height)

    try:
        src, pre_reason = typed_source(spec, raw)
        fields = evaluate_fields(spec.events, src, raw, "events")
    except SourceColumnError as exc:
        raise MalformedFileError(path, f"column needed by mapping {spec.name} not found: {exc}") from exc

    row_numbers = pl.Series("row_number", range(raw.height), dtype=pl.Int64)
    ok = pre_reason.is_null()
    accepted, refused = validate_events(
        fields.filter(ok),
        source,
        None,
        now,
        rules=rules,
        row_numbers=row_numbers.filter(ok),
        raw_rows=raw.filter(ok),
    )
    pre = raw.filter(~ok)
    pre_quarantine = pl.DataFrame(
        {
            "source_file": pl.repeat(source, pre.height, dtype=pl.String, eager=True),
            "row_number": row_numbers.filter(~ok),
            "row_json": rows_as_json(pre),
            "reason": pre_reason.filter(~ok),
        }
    ).with_columns(
        pl.lit(None, pl.Date).alias("event_date"),
        pl.lit(now, QUARANTINE.schema["loaded_at"]).alias("loaded_at"),
    )
    quarantined = pl.concat([pre_quarantine.select(QUARANTINE.names), refused.select(QUARANTINE.names)])
    quarantined = quarantined.sort("row_number")

    report.accepted = accepted.height
    report.quarantined = quarantined.height
    report.reasons = dict(
        sorted(Counter(quarantined.get_column("reason").to_list()).items(), key=lambda kv: (-kv[1], kv[0]))
    )

    _write_events(home, accepted, stem, report)
    _write_quarantine(home, quarantined, stem, report)
    if spec.dimensions:
        kept = ok & ~row_numbers.is_in(refused.get_column("row_number").implode())
        _write_dimensions(home, spec, src.filter(kept), raw.filter(kept), source, now, stem, report)
    return report


def _write_events(home: Home, accepted: pl.DataFrame, stem: str, report: ImportReport) -> None:
    written: set[Path] = set()
    days = accepted.select(EVENTS.names).with_columns(pl.col("event_ts").dt.date().alias("__day"))
    for (day,), part in days.partition_by("__day", as_dict=True, maintain_order=True).items():
        target = home.landing_events_day(day.isoformat()) / stem
        _write(part.drop("__day").sort("event_ts", maintain_order=True), target)
        written.add(target)
    events_root = home.landing / "events"
    if events_root.is_dir():  # outputs of an earlier import of the same file that no longer apply
        for stale in events_root.glob(f"event_date=*/{stem}"):
            if stale not in written:
                stale.unlink()
    report.days = len(written)
    report.event_files = sorted(p.relative_to(home.root).as_posix() for p in written)


def _write_quarantine(home: Home, quarantined: pl.DataFrame, stem: str, report: ImportReport) -> None:
    target = home.landing_quarantine / stem
    if quarantined.height:
        _write(quarantined, target)
        report.quarantine_file = target.relative_to(home.root).as_posix()
    else:
        target.unlink(missing_ok=True)


def _write_dimensions(
    home: Home,
    spec: Mapping,
    src_accepted: pl.DataFrame,
    raw_accepted: pl.DataFrame,
    source: str,
    now: datetime,
    stem: str,
    report: ImportReport,
) -> None:
    for table_name, fields in spec.dimensions.items():
        table = TABLES[table_name]
        try:
            rows = evaluate_fields(fields, src_accepted, raw_accepted, f"dimensions.{table_name}")
        except SourceColumnError as exc:
            raise MalformedFileError(source, f"column needed by mapping {spec.name} not found: {exc}") from exc
        # derived rows: invalid ones are skipped (their events are already accepted), the last row per key wins
        dims, _ = validate_dimension(table, rows, source, now)
        dims = dims.select(table.names)
        target = home.landing / table_name / stem
        _write(dims, target)
        report.dimension_rows[table_name] = dims.height
        report.dimension_files.append(target.relative_to(home.root).as_posix())
