"""The CDNOW benchmark data set (Fader, Hardie & Lee 2005): loaders, split dates, published figures.

CDNOW_sample.txt holds every purchase of the 2,357 customers (a 1/10 sample of the cohort) who
first bought at CDNOW in Q1 1997, from 1997-01-01 to 1998-06-30. Columns (whitespace separated):
master_id, cohort_id (1..2357, the ``ID`` of the published per-customer summary), date YYYYMMDD,
number_of_cds, dollar_value.

Split: weeks 1-39 calibration = 1997-01-01 .. 1997-09-30 (273 days, the end day included), weeks
40-78 holdout = 1997-10-01 .. 1998-06-30 (273 days). T is measured in whole days from the first
purchase to 1997-09-30, hence 38.86 (= 272 / 7) weeks for a 1997-01-01 first purchase.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

START = dt.date(1997, 1, 1)
CALIBRATION_END = dt.date(1997, 9, 30)
OBSERVATION_END = dt.date(1998, 6, 30)
HOLDOUT_WEEKS = 39.0

# Fader, Hardie & Lee (2005), Marketing Science 24(2), BG/NBD on the 39-week calibration data.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LL = -9582.4
PUBLISHED_HOLDOUT_CORRELATION = 0.626
PUBLISHED_WEEK78_CUMULATIVE_ERROR = -0.04  # "under-forecasts by about 4 %"


def week_end(week: int) -> dt.date:
    """Last day of study week ``week`` (week 1 = 1997-01-01 .. 1997-01-07)."""
    return START + dt.timedelta(days=7 * week - 1)


def load_transactions(path: str | Path) -> pl.DataFrame:
    """Read CDNOW_sample.txt into customer_id (cohort_id as string), date, number_of_cds, amount."""
    rows = []
    with open(path, encoding="ascii") as handle:
        for line_no, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 5:
                raise ValueError(f"{path}:{line_no}: expected 5 fields, got {len(fields)}")
            rows.append(fields)
    if not rows:
        raise ValueError(f"{path}: no transactions")
    master, cohort, date, cds, value = zip(*rows)
    return pl.DataFrame(
        {
            "master_id": list(master),
            # cohort ids are zero-padded ("0001"); the published summary's ID is the same number.
            "customer_id": [str(int(c)) for c in cohort],
            "date": pl.Series(list(date)).str.to_date("%Y%m%d"),
            "number_of_cds": pl.Series(list(cds)).cast(pl.Int64),
            "amount": pl.Series(list(value)).cast(pl.Float64),
        }
    )


def load_summary(path: str | Path) -> pl.DataFrame:
    """Read cdnow_customers_summary.csv: ID, frequency, recency, T (weeks, 2 decimals)."""
    frame = pl.read_csv(path, schema_overrides={"ID": pl.String})
    expected = {"ID", "frequency", "recency", "T"}
    if not expected <= set(frame.columns):
        raise ValueError(f"{path}: expected columns {sorted(expected)}, got {frame.columns}")
    return frame.rename({"ID": "customer_id"})
