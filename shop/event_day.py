"""One landing day of events validated and written a slice of rows at a time, so that a day of tens of
millions of events needs the memory of one slice, not of the whole day.

The rows are the same as validating the day's files together in one frame (shop.validate): slices are
taken in file order then row order, and the duplicate-id check remembers across slices only the ids
that occur more than once in the day (shop.duplicate_ids), found by reading the id column of every
file before the first slice. Accepted rows are streamed into temporary files beside their lake
targets (polars writes the day's own file while the next slice is validated); nothing replaces a lake
file until the caller commits.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from polars.io.plugins import register_io_source

from privacy.redelivery import split_erased
from shop.contract import EVENTS, QUARANTINE
from shop.duplicate_ids import DuplicateIds
from shop.readers import TableFile
from shop.validate import (
    DEFAULT_RULES,
    LAKE_EVENTS_SCHEMA,
    Batch,
    ValidationRules,
    cast_series,
    event_frame,
    split_validated,
)

# Rows validated at a time: ~0.15 GB of delivered rows and a few times that while typed and written.
SLICE_ROWS = 1_000_000
# Row group size of lake files (polars' own default, which the lake was written with before).
ROW_GROUP_ROWS = 512 * 512
_ARROW_SCHEMA = LAKE_EVENTS_SCHEMA.to_frame().to_arrow().schema


@dataclass
class DayFile:
    """A delivered file of the day: its path relative to the home, and the file opened for slices."""

    source_file: str
    table: TableFile


@dataclass
class ValidatedDay:
    """What validating a landing day gave: accepted rows per source file, quarantine rows, and rows
    written per event date (the day's own and the earlier dates of its late events)."""

    accepted: Counter[str] = field(default_factory=Counter)
    quarantined: list[pl.DataFrame] = field(default_factory=list)
    rows_by_date: Counter[date] = field(default_factory=Counter)

    def quarantine_rows(self) -> pl.DataFrame:
        return pl.concat(self.quarantined) if self.quarantined else QUARANTINE.empty()


class LakeFiles:
    """The lake files a landing day writes, each to a temporary file beside its target: the day's own
    file streamed by polars from the validated slices, and one file per earlier date of its late events
    (appended with pyarrow; late events are few). `commit` moves them into place; leaving the block
    without committing removes them."""

    def __init__(self, target_for: Callable[[date], Path], day: date):
        self._target_for = target_for
        self._day = day
        self._tmp: dict[date, Path] = {}
        self._late: dict[date, pq.ParquetWriter] = {}

    def __enter__(self) -> "LakeFiles":
        return self

    def __exit__(self, *exc_info) -> None:
        self._close_late()
        for tmp in self._tmp.values():
            tmp.unlink(missing_ok=True)
        self._tmp.clear()

    def write_own(self, frames: Iterator[pl.DataFrame]) -> None:
        """Stream `frames` (LAKE_EVENTS_SCHEMA) into the day's own file; an error raised while they are
        produced propagates unchanged."""
        source = register_io_source(lambda *_: frames, schema=LAKE_EVENTS_SCHEMA)
        source.sink_parquet(self._tmp_for(self._day), compression="zstd", statistics=True,
                            row_group_size=ROW_GROUP_ROWS)

    def append_late(self, event_date: date, rows: pl.DataFrame) -> None:
        if event_date not in self._late:
            self._late[event_date] = pq.ParquetWriter(
                self._tmp_for(event_date), _ARROW_SCHEMA, compression="zstd", store_schema=False
            )
        self._late[event_date].write_table(rows.to_arrow(), row_group_size=ROW_GROUP_ROWS)

    def targets(self) -> list[Path]:
        return [self._target_for(d) for d in self._tmp]

    def commit(self) -> None:
        self._close_late()
        for event_date, tmp in list(self._tmp.items()):
            os.replace(tmp, self._target_for(event_date))
            del self._tmp[event_date]

    def _close_late(self) -> None:
        for writer in self._late.values():
            writer.close()
        self._late.clear()

    def _tmp_for(self, event_date: date) -> Path:
        target = self._target_for(event_date)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._tmp[event_date] = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        return self._tmp[event_date]


def by_event_date(accepted: pl.DataFrame) -> list[tuple[date, pl.DataFrame]]:
    """Accepted rows split by the date of their event (one landing day holds late events of earlier dates)."""
    event_date = pl.col("event_ts").dt.date()
    dates = sorted(accepted.select(event_date.unique()).to_series().to_list())
    if len(dates) == 1:
        return [(dates[0], accepted)]
    return [(d, accepted.filter(event_date == d)) for d in dates]


def validate_day(
    files: Sequence[DayFile],
    day: date,
    now: datetime,
    lake: LakeFiles,
    *,
    root: Path,
    rules: ValidationRules = DEFAULT_RULES,
    prior_event_ids: pl.LazyFrame | None = None,
    late_days: int = 0,
    slice_rows: int = SLICE_ROWS,
) -> ValidatedDay:
    """Validate the files of landing day `day` slice by slice, appending accepted rows to `lake`.
    `root`: the home whose erasure list removes erased customers' rows (privacy/)."""
    ids = [cast_series(f.table.column("event_id"), pl.String) for f in files]
    duplicates = DuplicateIds(pl.concat(ids) if ids else pl.Series([], dtype=pl.String), prior_event_ids)
    del ids
    out = ValidatedDay()

    def own_rows() -> Iterator[pl.DataFrame]:
        for f in files:
            for offset, rows in f.table.slices(slice_rows):
                numbers = pl.int_range(offset, offset + rows.height, dtype=pl.Int64, eager=True)
                batches, erased = split_erased(root, [Batch(f.source_file, rows, numbers)], day, now)
                out.quarantined.append(erased)
                if not batches[0].data.height:
                    continue
                frame = duplicates.mark(event_frame(batches, day, now, rules=rules, late_days=late_days))
                accepted, quarantined = split_validated(frame, batches, day, now)
                out.quarantined.append(quarantined)
                out.accepted[f.source_file] += accepted.height
                for event_date, part in by_event_date(accepted):
                    out.rows_by_date[event_date] += part.height
                    if event_date == day:
                        yield part
                    else:
                        lake.append_late(event_date, part)

    lake.write_own(own_rows())
    return out


def open_day_files(paths: Sequence[Path], relative: Callable[[Path], str]) -> list[DayFile]:
    """Every delivered file of a day opened (and checked) before any of its rows is validated."""
    return [DayFile(relative(p), TableFile(p, required=EVENTS.required)) for p in paths]
