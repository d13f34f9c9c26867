"""Validate delivered rows against the contract: cast to contract dtypes, accept or quarantine each row.

Pure functions over polars DataFrames (no files, no warehouse). Every input row ends up either in
`accepted` (contract columns, exact dtypes, plus `_source_file`) or in `quarantined` (QUARANTINE
shape, one reason from shop.reasons, checked in shop.reasons.EVENT_CHECK_ORDER).

Casting rules (the same for events and dimensions):
- strings are trimmed; blank strings are null;
- id-like string columns accept numbers: 123, 123.0 and "123" all become "123" (leading zeros in
  strings are kept: "007" stays "007"); nested JSON values become their JSON text;
- timestamps: native datetimes (naive ones are taken as UTC), dates (midnight UTC), ISO-8601
  strings with or without a zone ("Z", "UTC", "+02:00", "+0200") or date-only, and epoch numbers
  (or numeric strings) in seconds, milliseconds, microseconds or nanoseconds, told apart by size
  (|v| < 1e11 seconds, < 1e14 ms, < 1e17 us, else ns). Everything is converted to UTC, microseconds;
- floats must be finite; integers accept "3", 3.0 and "3.0" but not 3.5.
A value that is present but does not cast gives `bad_<column>`.

Dimension quarantine rows carry a `table_name` column in front of the QUARANTINE columns; the loader
stores them in the DuckDB table `quarantine.dimensions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import polars as pl

from shop import reasons as R
from shop.contract import EVENT_TYPES, EVENTS, QUARANTINE, TABLES, UTC_TS, Table
from shop.duplicate_ids import DuplicateIds

SOURCE_FILE = "_source_file"
LAKE_EVENTS_SCHEMA = pl.Schema({**EVENTS.schema, SOURCE_FILE: pl.String})
DIMENSION_QUARANTINE_SCHEMA = pl.Schema({"table_name": pl.String, **QUARANTINE.schema})

_ISO_AWARE = ("%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M%z")
_ISO_NAIVE = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_NUMERIC = r"^[+-]?\d+(\.\d*)?$"


@dataclass(frozen=True)
class ValidationRules:
    """Configurable bounds of the event checks."""

    future_tolerance: timedelta = timedelta(hours=1)
    max_price: float = 1_000_000.0
    max_abs_quantity: int = 100_000


DEFAULT_RULES = ValidationRules()


@dataclass(frozen=True)
class Batch:
    """Rows of one source file. `row_numbers` (0-based rows in the source) default to 0..n-1;
    `raw` (the rows as received, for row_json) defaults to `data`; both must align with `data`."""

    source_file: str
    data: pl.DataFrame
    row_numbers: pl.Series | None = None
    raw: pl.DataFrame | None = None

    def __post_init__(self) -> None:
        for name, other in (("row_numbers", self.row_numbers), ("raw", self.raw)):
            if other is not None and len(other) != self.data.height:
                raise ValueError(f"{name} has {len(other)} rows, data has {self.data.height}")


# --------------------------------------------------------------------------------------------- casting


def is_present(s: pl.Series) -> pl.Series:
    """True where a value was delivered (not null, not a blank string)."""
    if s.dtype == pl.String:
        return s.is_not_null() & (s.str.strip_chars() != "")
    if s.dtype == pl.Null:
        return pl.repeat(False, s.len(), dtype=pl.Boolean, eager=True).alias(s.name)
    return s.is_not_null()


def cast_series(s: pl.Series, dtype: pl.DataType) -> pl.Series:
    """Cast `s` to a contract dtype; values that cannot be cast become null (see module doc)."""
    if dtype == pl.String:
        out = _to_string(s)
    elif dtype == pl.Float64:
        out = _to_float(s)
    elif dtype == pl.Int64:
        out = _to_int(s)
    elif dtype == pl.Boolean:
        out = _to_bool(s)
    elif isinstance(dtype, pl.Datetime):
        out = to_utc_timestamp(s)
    elif dtype == pl.Date:
        out = to_utc_timestamp(s).dt.date()
    else:
        raise TypeError(f"no cast to {dtype}")
    return out.alias(s.name)


def _blank_to_null(s: pl.Series) -> pl.Series:
    s = s.str.strip_chars()
    return s.set(s == "", None) if s.len() else s


def _is_float(dtype: pl.DataType) -> bool:
    return dtype.is_float() or isinstance(dtype, pl.Decimal)


def _to_string(s: pl.Series) -> pl.Series:
    dt = s.dtype
    if dt == pl.String:
        return _blank_to_null(s)
    if dt == pl.Null:
        return s.cast(pl.String)
    if dt.is_integer():
        return s.cast(pl.String)
    if _is_float(dt):
        f = s.cast(pl.Float64)
        integral = f.is_finite() & (f == f.floor()) & (f.abs() < 2**53)
        return (
            pl.select(
                pl.when(integral)
                .then(f.cast(pl.Int64, strict=False).cast(pl.String))
                .when(f.is_finite())
                .then(f.cast(pl.String))
                .otherwise(None)
            )
            .to_series()
            .alias(s.name)
        )
    if isinstance(dt, pl.Struct):
        return s.struct.json_encode().set(s.is_null(), None)
    if isinstance(dt, (pl.List, pl.Array)):
        wrapped = pl.select(pl.struct(pl.lit(s).alias("v")).struct.json_encode()).to_series()
        return wrapped.str.strip_prefix('{"v":').str.strip_suffix("}").set(s.is_null(), None)
    if dt == pl.Boolean:
        return s.cast(pl.String)
    return _blank_to_null(s.cast(pl.String, strict=False))


def _to_float(s: pl.Series) -> pl.Series:
    dt = s.dtype
    if dt.is_numeric():
        f = s.cast(pl.Float64, strict=False)
    elif dt == pl.String:
        f = _blank_to_null(s).cast(pl.Float64, strict=False)
    else:
        return _null_column(s.name, pl.Float64, s.len())
    return f.set(~f.is_finite().fill_null(True), None) if f.len() else f


def _to_int(s: pl.Series) -> pl.Series:
    dt = s.dtype
    if dt.is_integer():
        return s.cast(pl.Int64, strict=False)
    if _is_float(dt) or dt == pl.String:
        direct = _blank_to_null(s).cast(pl.Int64, strict=False) if dt == pl.String else None
        f = _to_float(s)
        ok = f.is_finite() & (f == f.floor()) & (f.abs() < 9.2e18)
        via_float = pl.select(pl.when(ok).then(f.cast(pl.Int64, strict=False))).to_series()
        return via_float if direct is None else direct.fill_null(via_float)
    return _null_column(s.name, pl.Int64, s.len())


_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]


def _to_bool(s: pl.Series) -> pl.Series:
    dt = s.dtype
    if dt == pl.Boolean:
        return s
    if dt.is_numeric():
        f = s.cast(pl.Float64)
        return pl.select(pl.when(f == 1).then(True).when(f == 0).then(False)).to_series()
    if dt == pl.String:
        low = s.str.strip_chars().str.to_lowercase()
        return pl.select(pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)).to_series()
    return _null_column(s.name, pl.Boolean, s.len())


def _from_epoch(f: pl.Series) -> pl.Series:
    a = f.abs()
    micros = pl.select(
        pl.when(a < 1e11).then(f * 1e6).when(a < 1e14).then(f * 1e3).when(a < 1e17).then(f).otherwise(f / 1e3)
    ).to_series()
    return micros.round(0).cast(pl.Int64, strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def parse_timestamp_strings(
    s: pl.Series, formats: Sequence[str], time_zone: str = "UTC"
) -> pl.Series:
    """Parse strings with the first matching strftime format; formats without %z are local to `time_zone`
    (ambiguous DST times take the earlier instant, non-existent ones give null). Returns UTC, us."""
    s = s.cast(pl.String)
    out = _null_column(s.name, UTC_TS, s.len())
    todo = s.is_not_null()
    for fmt in formats:
        if not todo.any():
            break
        idx = todo.arg_true()
        part = s.gather(idx).str.to_datetime(fmt, strict=False, time_unit="us")
        if part.dtype.time_zone is None:  # type: ignore[union-attr]
            part = part.dt.replace_time_zone(time_zone, ambiguous="earliest", non_existent="null")
        part = part.dt.convert_time_zone("UTC")
        out = out.scatter(idx, part)
        todo = todo & out.is_null()
    return out


def to_utc_timestamp(s: pl.Series) -> pl.Series:
    dt = s.dtype
    if isinstance(dt, pl.Datetime):
        out = s.dt.convert_time_zone("UTC") if dt.time_zone else s.dt.replace_time_zone("UTC")
        return out.cast(UTC_TS)
    if dt == pl.Date:
        return s.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if dt.is_numeric():
        return _from_epoch(s.cast(pl.Float64))
    if dt != pl.String:
        return _null_column(s.name, UTC_TS, s.len())
    text = (
        _blank_to_null(s)
        .str.replace(r"(?i)\s*(z|utc)$", "+00:00")
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[Tt ]\s*", "$1 ")
        .str.replace(r"\s+([+-]\d{2}:?\d{2})$", "$1")
    )
    out = parse_timestamp_strings(text, _ISO_AWARE + _ISO_NAIVE)
    numeric = out.is_null() & text.str.contains(_NUMERIC).fill_null(False)
    if numeric.any():
        idx = numeric.arg_true()
        out = out.scatter(idx, _from_epoch(text.gather(idx).cast(pl.Float64, strict=False)))
    return out


# -------------------------------------------------------------------------------------------- events


def _null_column(name: str, dtype: pl.DataType, n: int) -> pl.Series:
    return pl.repeat(None, n, dtype=dtype, eager=True).alias(name)


def _typed(table: Table, df: pl.DataFrame) -> tuple[dict[str, pl.Series], dict[str, pl.Series]]:
    """Contract-typed columns of `df` and, per column, where a delivered value did not cast."""
    n = df.height
    cols: dict[str, pl.Series] = {}
    fails: dict[str, pl.Series] = {}
    for col in table.columns:
        if col.name in df.columns:
            src = df.get_column(col.name)
            typed = cast_series(src, col.dtype)
            cols[col.name] = typed
            if src.dtype == pl.String and col.dtype == pl.String:  # text to text cannot fail
                fails[col.name] = pl.repeat(False, n, dtype=pl.Boolean, eager=True).alias(col.name)
            else:
                fails[col.name] = (is_present(src) & typed.is_null()).alias(col.name)
        else:
            cols[col.name] = _null_column(col.name, col.dtype, n)
            fails[col.name] = pl.repeat(False, n, dtype=pl.Boolean, eager=True).alias(col.name)
    return cols, fails


def _event_domain_fails(cols: dict[str, pl.Series]) -> dict[str, pl.Series]:
    """Values that cast but are outside their column's domain (reported as bad_<column>)."""
    # a return (negative quantity) gives its discount back, so only then may discount_amount be negative
    returned = (cols["quantity"] < 0).fill_null(False)
    out = {
        "dwell_seconds": (cols["dwell_seconds"] < 0).fill_null(False),
        "discount_amount": ((cols["discount_amount"] < 0).fill_null(False) & ~returned),
    }
    sf = cols["search_filters"]
    out["search_filters"] = (
        sf.is_not_null() & ~(sf.str.starts_with("{") & sf.str.json_path_match("$").is_not_null()).fill_null(False)
    )
    return out


_EVENT_OPTIONAL_CHECKED = [c.name for c in EVENTS.columns if not c.required]


def _event_frame(
    batch: Batch, index: int, partition_day: date | None, now: datetime, rules: ValidationRules, late_days: int = 0
):
    df = batch.data
    cols, fails = _typed(EVENTS, df)
    cols["event_type"] = cols["event_type"].str.to_lowercase()
    for name, extra in _event_domain_fails(cols).items():
        fails[name] = fails[name] | extra
    n = df.height
    frame = pl.DataFrame(list(cols.values())).with_columns(
        *(f.alias(f"_fail_{name}") for name, f in fails.items() if name in _EVENT_OPTIONAL_CHECKED),
        pl.lit(batch.source_file, pl.String).alias(SOURCE_FILE),
        (batch.row_numbers.cast(pl.Int64) if batch.row_numbers is not None else pl.int_range(n, dtype=pl.Int64)).alias(
            "_row_number"
        ),
        pl.int_range(n, dtype=pl.Int64).alias("_pos"),
        pl.lit(index, pl.Int32).alias("_batch"),
    )
    ts = pl.col("event_ts")
    chain = (
        pl.when(pl.col("event_id").is_null())
        .then(pl.lit(R.MISSING_EVENT_ID))
        .when(ts.is_null())
        .then(pl.lit(R.BAD_EVENT_TS))
        .when(ts > pl.lit(now + rules.future_tolerance, UTC_TS))
        .then(pl.lit(R.FUTURE_EVENT_TS))
    )
    if partition_day is not None:
        day = ts.dt.date()
        earliest = partition_day - timedelta(days=late_days)
        chain = (
            chain.when(day > pl.lit(partition_day, pl.Date))
            .then(pl.lit(R.EVENT_TS_OUTSIDE_PARTITION))
            .when(day < pl.lit(earliest, pl.Date))
            .then(pl.lit(R.TOO_LATE))
        )
    chain = (
        chain.when(pl.col("event_type").is_null())
        .then(pl.lit(R.MISSING_EVENT_TYPE))
        .when(~pl.col("event_type").is_in(list(EVENT_TYPES)))
        .then(pl.lit(R.UNKNOWN_EVENT_TYPE))
        .when(pl.col("customer_id").is_null() & pl.col("anonymous_id").is_null())
        .then(pl.lit(R.MISSING_IDENTITY))
    )
    for name in _EVENT_OPTIONAL_CHECKED:
        chain = chain.when(pl.col(f"_fail_{name}")).then(pl.lit(R.bad(name)))
    chain = (
        chain.when(pl.col("price") < 0)
        .then(pl.lit(R.NEGATIVE_PRICE))
        .when(pl.col("price") > rules.max_price)
        .then(pl.lit(R.ABSURD_PRICE))
        .when(pl.col("quantity").abs() > rules.max_abs_quantity)
        .then(pl.lit(R.ABSURD_QUANTITY))
    )
    frame = frame.with_columns(chain.otherwise(pl.lit(None, pl.String)).alias("_reason"))
    return frame.drop([c for c in frame.columns if c.startswith("_fail_")])


def _utc(now: datetime) -> datetime:
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)


def _quarantine_rows(
    frame: pl.DataFrame,
    batches: Sequence[Batch],
    event_date: date | None,
    now: datetime,
    table_name: str | None = None,
) -> pl.DataFrame:
    """QUARANTINE rows for the rows of `frame` with a `_reason`; row_json from each batch's raw rows."""
    bad = frame.filter(pl.col("_reason").is_not_null()).select("_batch", "_pos", "_row_number", "_reason")
    parts = []
    for b, group in bad.group_by("_batch", maintain_order=True):
        batch = batches[int(b[0])]  # type: ignore[arg-type]
        raw = batch.raw if batch.raw is not None else batch.data
        rows = raw[group.get_column("_pos")]
        parts.append(
            pl.DataFrame(
                {
                    "source_file": pl.repeat(batch.source_file, group.height, dtype=pl.String, eager=True),
                    "row_number": group.get_column("_row_number"),
                    "row_json": rows_as_json(rows),
                    "reason": group.get_column("_reason"),
                }
            )
        )
    if parts:
        out = pl.concat(parts)
    else:
        out = pl.DataFrame(schema={k: QUARANTINE.schema[k] for k in ("source_file", "row_number", "row_json", "reason")})
    out = out.with_columns(
        pl.lit(event_date, pl.Date).alias("event_date"), pl.lit(_utc(now), UTC_TS).alias("loaded_at")
    ).select(QUARANTINE.names)
    if table_name is not None:
        out = out.select(pl.lit(table_name, pl.String).alias("table_name"), pl.all())
    return out


def rows_as_json(rows: pl.DataFrame) -> pl.Series:
    """Each row as a JSON object text (row_json of the quarantine)."""
    if rows.width == 0:
        return pl.repeat("{}", rows.height, dtype=pl.String, eager=True)
    try:
        return rows.select(pl.struct(pl.all()).struct.json_encode()).to_series()
    except Exception:  # exotic dtypes (binary, object, ...): fall back to their string form
        as_text = rows.with_columns(pl.all().cast(pl.String, strict=False))
        return as_text.select(pl.struct(pl.all()).struct.json_encode()).to_series()


def event_frame(
    batches: Sequence[Batch],
    partition_day: date | None,
    now: datetime,
    *,
    rules: ValidationRules = DEFAULT_RULES,
    late_days: int = 0,
) -> pl.DataFrame:
    """The typed rows of `batches` with `_reason` set for every check but the duplicate-id one
    (see DuplicateIds), and the positions split_validated needs for the quarantine rows."""
    if late_days < 0:
        raise ValueError(f"late_days must be >= 0, got {late_days}")
    now = _utc(now)
    frames = [_event_frame(b, i, partition_day, now, rules, late_days) for i, b in enumerate(batches)]
    return pl.concat(frames, how="vertical")


def split_validated(
    frame: pl.DataFrame, batches: Sequence[Batch], partition_day: date | None, now: datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(accepted: LAKE_EVENTS_SCHEMA rows without a `_reason`, quarantined: QUARANTINE rows for the rest)."""
    accepted = frame.filter(pl.col("_reason").is_null()).select(LAKE_EVENTS_SCHEMA.names())
    return accepted, _quarantine_rows(frame, batches, partition_day, _utc(now))


def validate_event_batches(
    batches: Sequence[Batch],
    partition_day: date | None,
    now: datetime,
    *,
    rules: ValidationRules = DEFAULT_RULES,
    prior_event_ids: pl.Series | pl.LazyFrame | None = None,
    late_days: int = 0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate several files of one load together (duplicates are looked for across all of them,
    the first by batch order then row order wins). `prior_event_ids`: ids already accepted in the lake
    (a Series, or a LazyFrame with an `event_id` column, scanned only for this load's ids).
    `late_days`: events dated up to this many days before `partition_day` are accepted (late data;
    0 = strict), earlier ones are `too_late`; events dated after it are always outside the partition."""
    if late_days < 0:
        raise ValueError(f"late_days must be >= 0, got {late_days}")
    if not any(b.data.height for b in batches):
        return LAKE_EVENTS_SCHEMA.to_frame(), QUARANTINE.empty()
    frame = event_frame(batches, partition_day, now, rules=rules, late_days=late_days)
    ids = frame.filter(pl.col("_reason").is_null()).get_column("event_id")
    frame = DuplicateIds(ids, prior_event_ids).mark(frame)
    return split_validated(frame, batches, partition_day, now)


def validate_events(
    df: pl.DataFrame,
    source_file: str,
    partition_day: date | None,
    now: datetime,
    *,
    rules: ValidationRules = DEFAULT_RULES,
    prior_event_ids: pl.Series | pl.LazyFrame | None = None,
    row_numbers: pl.Series | None = None,
    raw_rows: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split the rows of one file into (accepted: EVENTS + _source_file, quarantined: QUARANTINE).

    partition_day: the event_date=D folder the file came from (None: no partition check).
    now: load time; event_ts beyond now + rules.future_tolerance is quarantined; also `loaded_at`.
    """
    batch = Batch(source_file, df, row_numbers, raw_rows)
    return validate_event_batches([batch], partition_day, now, rules=rules, prior_event_ids=prior_event_ids)


# ---------------------------------------------------------------------------------------- dimensions


def _dimension_domain_fails(table: Table, cols: dict[str, pl.Series], now: datetime) -> dict[str, pl.Series]:
    out: dict[str, pl.Series] = {}
    if table.name == "campaign_assignments":
        cols["group"] = cols["group"].str.to_lowercase()
        out["group"] = ~cols["group"].is_in(["treatment", "control"]).fill_null(True)
    if table.name == "campaigns":
        pct = cols["discount_pct"]
        out["discount_pct"] = ((pct < 0) | (pct > 100)).fill_null(False)
        out["end_ts"] = (cols["end_ts"] < cols["start_ts"]).fill_null(False)
    if table.name == "customers":
        year = cols["birth_year"]
        out["birth_year"] = ((year < 1900) | (year > now.year)).fill_null(False)
    return out


def _dimension_frame(table: Table, batch: Batch, index: int, now: datetime) -> pl.DataFrame:
    df = batch.data
    cols, fails = _typed(table, df)
    for name, extra in _dimension_domain_fails(table, cols, now).items():
        fails[name] = fails[name] | extra
    n = df.height
    frame = pl.DataFrame(list(cols.values())).with_columns(
        *(f.alias(f"_fail_{name}") for name, f in fails.items()),
        pl.lit(batch.source_file, pl.String).alias(SOURCE_FILE),
        (batch.row_numbers.cast(pl.Int64) if batch.row_numbers is not None else pl.int_range(n, dtype=pl.Int64)).alias(
            "_row_number"
        ),
        pl.int_range(n, dtype=pl.Int64).alias("_pos"),
        pl.lit(index, pl.Int32).alias("_batch"),
    )
    # every dimension has a required key, so the chain starts with a missing_<key> check
    required = [c.name for c in table.columns if c.required]
    chain = pl.when(pl.col(required[0]).is_null()).then(pl.lit(R.missing(required[0])))
    for name in required[1:]:
        chain = chain.when(pl.col(name).is_null()).then(pl.lit(R.missing(name)))
    for name in table.names:
        chain = chain.when(pl.col(f"_fail_{name}")).then(pl.lit(R.bad(name)))
    if "list_price" in cols:
        chain = chain.when(pl.col("list_price") < 0).then(pl.lit(R.NEGATIVE_PRICE))
    frame = frame.with_columns(chain.otherwise(pl.lit(None, pl.String)).alias("_reason"))
    return frame.drop([c for c in frame.columns if c.startswith("_fail_")])


def validate_dimension_batches(
    table: Table, batches: Sequence[Batch], now: datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate all files of one dimension table; for a key delivered more than once the last row
    (last file by order, then last row) wins and the older rows are quarantined as duplicate_key."""
    now = _utc(now)
    frames = [_dimension_frame(table, b, i, now) for i, b in enumerate(batches)]
    frame = pl.concat(frames) if frames else _dimension_frame(table, Batch("", table.empty()), 0, now)
    ok = pl.col("_reason").is_null()
    superseded = ok & ~pl.struct(list(table.key)).is_last_distinct().over(ok)
    frame = frame.with_columns(
        pl.when(superseded).then(pl.lit(R.DUPLICATE_KEY)).otherwise(pl.col("_reason")).alias("_reason")
    )
    accepted = frame.filter(pl.col("_reason").is_null()).select([*table.names, SOURCE_FILE])
    quarantined = _quarantine_rows(frame, batches, None, now, table_name=table.name)
    return accepted, quarantined


def validate_dimension(
    table: Table | str,
    df: pl.DataFrame,
    source_file: str,
    now: datetime,
    *,
    row_numbers: pl.Series | None = None,
    raw_rows: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split one file of a dimension table into (accepted: table columns + _source_file,
    quarantined: table_name + QUARANTINE columns)."""
    table = TABLES[table] if isinstance(table, str) else table
    return validate_dimension_batches(table, [Batch(source_file, df, row_numbers, raw_rows)], now)
