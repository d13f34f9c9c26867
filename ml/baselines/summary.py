"""Per-customer (frequency, recency, T, monetary) summary from a transaction log.

Conventions (those of Fader, Hardie & Lee 2005 and of the Lifetimes CDNOW summary):

- Purchases are merged per calendar day: several transactions of a customer on one day are one
  purchase whose value is the sum of their amounts (null amounts are skipped; a day whose amounts
  are all null has a null value). Datetimes count by their calendar day, in their own time zone
  when they carry one.
- ``frequency``: number of repeat purchase days in the calibration period, i.e. distinct purchase
  days after the first one.
- ``recency``: time from the first to the last calibration purchase; ``T``: time from the first
  purchase to ``calibration_end``. Both are whole days divided by the period length (7 for weeks),
  so they can be fractional. ``calibration_end`` is the last day of the calibration period and is
  included; a customer who first bought on ``calibration_end`` has T = 0.
  Example: CDNOW's 39-week calibration period is 1997-01-01 .. 1997-09-30 (273 days), so a
  customer first buying on 1997-01-01 has T = 272 / 7 = 38.86 weeks, as in the published summary.
- ``monetary_value``: mean value of the repeat purchase days (the first purchase is excluded, as
  the Gamma-Gamma model expects); null/NaN when there is no repeat purchase or no known amount.
- Holdout (when ``observation_end`` is given): purchase days in (calibration_end, observation_end],
  counted the same way (``frequency_holdout``), their mean value and the holdout length in periods.

Only customers whose first purchase is on or before ``calibration_end`` are summarised.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

PERIOD_DAYS = {"W": 7, "D": 1}


def _as_date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return _as_date(value.astype("datetime64[D]").item(), name)
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{name} must be an ISO date (YYYY-MM-DD), got {value!r}") from exc
    to_pydatetime = getattr(value, "to_pydatetime", None)  # pandas.Timestamp
    if to_pydatetime is not None:
        return to_pydatetime().date()
    raise TypeError(f"{name} must be a date, datetime or ISO string, got {type(value).__name__}")


def _to_polars(transactions: Any) -> tuple[pl.DataFrame, bool]:
    if isinstance(transactions, pl.DataFrame):
        return transactions, False
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is part of the locked stack
        pd = None
    if pd is not None and isinstance(transactions, pd.DataFrame):
        return pl.from_pandas(transactions), True
    raise TypeError(
        f"transactions must be a polars or pandas DataFrame, got {type(transactions).__name__}"
    )


def _date_expr(frame: pl.DataFrame, column: str) -> pl.Expr:
    dtype = frame.schema[column]
    if dtype == pl.Date:
        return pl.col(column)
    if isinstance(dtype, pl.Datetime):
        return pl.col(column).dt.date()
    if dtype == pl.String:
        return pl.col(column).str.to_date(format="%Y-%m-%d", strict=True)
    raise TypeError(f"column {column!r} must hold dates, datetimes or ISO strings, got {dtype}")


def rfm_summary(
    transactions: Any,
    calibration_end: Any,
    period: str = "W",
    observation_end: Any = None,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> Any:
    """Summarise transactions per customer; returns the same kind of frame as given (polars/pandas).

    ``transactions`` needs ``customer_col`` and ``date_col`` (date, datetime or ISO string);
    ``amount_col`` is optional (without it every monetary column is null). Output columns:
    customer, frequency, recency, T, monetary_value and, when ``observation_end`` is given,
    frequency_holdout, monetary_value_holdout, duration_holdout; one row per customer sorted by id.
    """
    if period not in PERIOD_DAYS:
        raise ValueError(f"period must be one of {sorted(PERIOD_DAYS)}, got {period!r}")
    days_per_period = PERIOD_DAYS[period]
    cal_end = _as_date(calibration_end, "calibration_end")
    obs_end = None if observation_end is None else _as_date(observation_end, "observation_end")
    if obs_end is not None and obs_end <= cal_end:
        raise ValueError(f"observation_end {obs_end} must be after calibration_end {cal_end}")

    frame, was_pandas = _to_polars(transactions)
    missing = [c for c in (customer_col, date_col) if c not in frame.columns]
    if missing:
        raise ValueError(f"transactions lack required column(s) {missing}; have {frame.columns}")
    if amount_col in frame.columns:
        if not frame.schema[amount_col].is_numeric():
            raise TypeError(
                f"column {amount_col!r} must be numeric, got {frame.schema[amount_col]}"
            )
        amount = pl.col(amount_col).cast(pl.Float64)
    else:
        amount = pl.lit(None, dtype=pl.Float64)
    tx = frame.select(
        pl.col(customer_col).alias("_cid"),
        _date_expr(frame, date_col).alias("_date"),
        amount.alias("_amount"),
    )
    for col, label in (("_cid", customer_col), ("_date", date_col)):
        n_null = tx.get_column(col).null_count()
        if n_null:
            raise ValueError(f"{n_null} transaction(s) have a null {label!r}")

    # One row per customer and purchase day; a day's value is null only if no amount is known.
    daily = tx.group_by("_cid", "_date").agg(
        pl.when(pl.col("_amount").count() > 0)
        .then(pl.col("_amount").sum())
        .otherwise(None)
        .alias("_value")
    )
    calibration = daily.filter(pl.col("_date") <= cal_end)
    per_customer = (
        calibration.group_by("_cid")
        .agg(
            pl.col("_date").min().alias("_first"),
            pl.col("_date").max().alias("_last"),
            pl.len().alias("_days"),
            pl.col("_value")
            .filter(pl.col("_date") > pl.col("_date").min())
            .mean()
            .alias("monetary_value"),
        )
        .with_columns(
            (pl.col("_days") - 1).cast(pl.Int64).alias("frequency"),
            ((pl.col("_last") - pl.col("_first")).dt.total_days() / days_per_period).alias(
                "recency"
            ),
            ((pl.lit(cal_end) - pl.col("_first")).dt.total_days() / days_per_period).alias("T"),
        )
    )
    columns = ["_cid", "frequency", "recency", "T", "monetary_value"]

    if obs_end is not None:
        holdout = (
            daily.filter((pl.col("_date") > cal_end) & (pl.col("_date") <= obs_end))
            .group_by("_cid")
            .agg(
                pl.len().cast(pl.Int64).alias("frequency_holdout"),
                pl.col("_value").mean().alias("monetary_value_holdout"),
            )
        )
        per_customer = per_customer.join(holdout, on="_cid", how="left").with_columns(
            pl.col("frequency_holdout").fill_null(0),
            pl.lit((obs_end - cal_end).days / days_per_period).alias("duration_holdout"),
        )
        columns += ["frequency_holdout", "monetary_value_holdout", "duration_holdout"]

    result = (
        per_customer.select(columns)
        .with_columns(pl.col("recency", "T", "monetary_value").cast(pl.Float64))
        .sort("_cid")
        .rename({"_cid": customer_col})
    )
    return result.to_pandas() if was_pandas else result
