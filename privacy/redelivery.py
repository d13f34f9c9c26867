"""Loader hook: rows of erased customers are taken out of a load before validation and quarantined.

Their quarantine row keeps the file, row number and reason (so read = accepted + quarantined still
holds) but not the row itself: row_json is a redaction marker, never the delivered values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from privacy.suppression import erased_ids, list_path
from shop.contract import QUARANTINE, UTC_TS
from shop.reasons import ERASED_CUSTOMER
from shop.validate import Batch, cast_series

ID_COLUMNS = {"customer_id": "customer", "anonymous_id": "anonymous"}
REDACTED_ROW = json.dumps({"redacted": ERASED_CUSTOMER})


def _erased_mask(root: Path, data: pl.DataFrame) -> pl.Series:
    mask = pl.repeat(False, data.height, dtype=pl.Boolean, eager=True)
    for column, kind in ID_COLUMNS.items():
        if column not in data.columns:
            continue
        ids = cast_series(data.get_column(column), pl.String)
        hits = erased_ids(root, kind, ids.drop_nulls().unique().to_list())
        if hits:
            mask = mask | ids.is_in(list(hits)).fill_null(False)
    return mask


def split_erased(
    root: Path, batches: Sequence[Batch], event_date: date | None, now: datetime, table_name: str | None = None
) -> tuple[list[Batch], pl.DataFrame]:
    """(batches without rows of erased customers, QUARANTINE rows for those, with `table_name` first
    when given, as for quarantine.dimensions)."""
    schema = {"table_name": pl.String, **QUARANTINE.schema} if table_name is not None else QUARANTINE.schema
    if not list_path(root).exists():
        return list(batches), pl.DataFrame(schema=schema)
    loaded_at = now.astimezone(timezone.utc) if now.tzinfo else now.replace(tzinfo=timezone.utc)
    kept, parts = [], []
    for batch in batches:
        mask = _erased_mask(root, batch.data)
        if not mask.any():
            kept.append(batch)
            continue
        rows = batch.row_numbers if batch.row_numbers is not None else pl.int_range(batch.data.height, eager=True)
        rows = rows.cast(pl.Int64)
        raw = batch.raw if batch.raw is not None else batch.data
        kept.append(Batch(batch.source_file, batch.data.filter(~mask), rows.filter(~mask), raw.filter(~mask)))
        n = int(mask.sum())
        part = {
            "source_file": pl.repeat(batch.source_file, n, dtype=pl.String, eager=True),
            "row_number": rows.filter(mask),
            "row_json": pl.repeat(REDACTED_ROW, n, dtype=pl.String, eager=True),
            "reason": pl.repeat(ERASED_CUSTOMER, n, dtype=pl.String, eager=True),
            "event_date": pl.repeat(event_date, n, dtype=pl.Date, eager=True),
            "loaded_at": pl.repeat(loaded_at, n, dtype=UTC_TS, eager=True),
        }
        if table_name is not None:
            part = {"table_name": pl.repeat(table_name, n, dtype=pl.String, eager=True), **part}
        parts.append(pl.DataFrame(part, schema=schema))
    return kept, (pl.concat(parts) if parts else pl.DataFrame(schema=schema))
