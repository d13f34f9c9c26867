"""Apply a Mapping to the rows of a source file: typed source columns, rule-based quarantine, output fields.

All steps are vectorised polars expressions over the whole file; nothing loops over rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from shop.importers.mapping import TEMPLATE_FIELD, FieldSpec, Mapping, MappingError
from shop.validate import cast_series, is_present, parse_timestamp_strings

POS = "__pos"


class SourceColumnError(KeyError):
    """The source file lacks a column a mapping field needs."""


def first_reason(current: pl.Series, hit: pl.Series, reason: str) -> pl.Series:
    """Set `reason` where `hit` and no earlier reason was given."""
    return pl.select(
        pl.when(current.is_null() & hit.fill_null(False)).then(pl.lit(reason)).otherwise(current)
    ).to_series().alias("reason")


def typed_source(mapping: Mapping, raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """Cast the `types` columns, then run the `quarantine` rules in order.
    Returns the typed source frame and, per row, the first reason it is refused for (or null)."""
    reason = pl.repeat(None, raw.height, dtype=pl.String, eager=True).alias("reason")
    src = raw
    for spec in mapping.types:
        original = raw.get_column(spec.column)
        typed = cast_series(original, spec.dtype)
        reason = first_reason(reason, is_present(original) & typed.is_null(), spec.reason)
        src = src.with_columns(typed.alias(spec.column))
    for i, rule in enumerate(mapping.rules):
        hit = _sql(src, rule.when, f"quarantine[{i}].when")
        if hit.dtype != pl.Boolean:
            raise MappingError(f"quarantine[{i}].when: {rule.when!r} is {hit.dtype}, not a condition")
        reason = first_reason(reason, hit, rule.reason)
    return src, reason


def _sql(src: pl.DataFrame, text: str, where: str) -> pl.Series:
    try:
        return src.with_columns(pl.sql_expr(text).alias("__value")).get_column("__value")
    except pl.exceptions.ColumnNotFoundError as exc:
        raise SourceColumnError(f"{where}: {exc}") from exc
    except pl.exceptions.PolarsError as exc:
        raise MappingError(f"{where}: cannot evaluate {text!r}: {exc}") from exc


def _template(src: pl.DataFrame, template: str) -> pl.Series:
    parts: list[pl.Expr] = []
    pos = 0
    for m in TEMPLATE_FIELD.finditer(template):
        if m.start() > pos:
            parts.append(pl.lit(template[pos : m.start()]))
        parts.append(pl.col(m.group(1)).cast(pl.String))
        pos = m.end()
    if pos < len(template):
        parts.append(pl.lit(template[pos:]))
    # a null part makes the whole value null (e.g. an id without one of its components)
    return src.select(pl.concat_str(parts, ignore_nulls=False).alias("__value")).get_column("__value")


def _unique(values: pl.Series, src: pl.DataFrame, mode: str) -> pl.Series:
    """Make repeated values unique, stably for the same file: the k-th repeat (k >= 1) gets '#k'.
    row_order: every row of a repeated value counts; distinct_content: identical source rows share
    one suffix (so an exact copy of a row keeps the same value, e.g. to be caught as a duplicate id)."""
    frame = src.with_columns(values.alias("__key"), pl.int_range(pl.len(), dtype=pl.Int64).alias(POS))
    if mode == "row_order":
        occurrence = pl.int_range(pl.len(), dtype=pl.Int64).over("__key")
    else:
        first_seen = pl.col(POS).min().over(["__key", *src.columns])
        occurrence = first_seen.rank("dense").over("__key").cast(pl.Int64) - 1
    return frame.select(
        pl.when(occurrence > 0)
        .then(pl.concat_str([pl.col("__key"), pl.lit("#"), occurrence.cast(pl.String)]))
        .otherwise(pl.col("__key"))
        .alias(values.name)
    ).to_series()


def evaluate(spec: FieldSpec, src: pl.DataFrame, raw: pl.DataFrame, where: str) -> pl.Series:
    n = src.height
    if spec.column is not None:
        if spec.column not in src.columns:
            raise SourceColumnError(f"{where}: no source column {spec.column!r}")
        out = src.get_column(spec.column)
    elif spec.template is not None:
        missing = [c for c in TEMPLATE_FIELD.findall(spec.template) if c not in src.columns]
        if missing:
            raise SourceColumnError(f"{where}: no source column(s) {missing}")
        out = _template(src, spec.template)
    elif spec.sql is not None:
        out = _sql(src, spec.sql, where)
    else:
        const = spec.const
        out = pl.repeat(const, n, eager=True) if const is not None else pl.repeat(None, n, dtype=pl.String, eager=True)
    if spec.value_map is not None:
        text = out.cast(pl.String)
        mapping = {k: (None if v is None else str(v)) for k, v in spec.value_map.items()}
        out = text.replace(mapping) if spec.unmapped == "keep" else text.replace_strict(mapping, default=None)
    if spec.formats:
        out = parse_timestamp_strings(out.cast(pl.String).str.strip_chars(), spec.formats, spec.timezone)
    if spec.unique is not None:
        out = _unique(out.cast(pl.String), raw, spec.unique)
    return out.alias(spec.target)


def evaluate_fields(
    fields: Sequence[FieldSpec], src: pl.DataFrame, raw: pl.DataFrame, section: str
) -> pl.DataFrame:
    if not fields:
        return pl.DataFrame()
    return pl.DataFrame([evaluate(f, src, raw, f"{section}.{f.target}") for f in fields])
