"""The duplicate-id check of a load, applied to its rows all at once or one chunk after another.

A valid row is a duplicate when its event id was already accepted on an earlier day of the lookback
(`prior_event_ids`) or appeared on an earlier valid row of this load (earlier file, then earlier row).
Only ids that occur more than once in the load can repeat within it, so only those are remembered
from chunk to chunk: a day of ten million events with no repeats keeps no ids at all.

Repeats are found on 64-bit hashes of the ids (sorting ten million integers takes a fraction of the
time of grouping ten million strings); a hash shared by different ids only adds ids to those
compared exactly, so the result does not depend on the hashes.
"""

from __future__ import annotations

import polars as pl

from shop import reasons as R


class DuplicateIds:
    """Built from every event id a load may accept (nulls are ignored; a superset, such as the ids of
    all its rows, gives the same result), then `mark` each chunk of validated rows in load order."""

    def __init__(self, ids: pl.Series, prior_event_ids: pl.Series | pl.LazyFrame | None = None):
        ids = ids.drop_nulls().alias("event_id")
        hashes = _hashed(ids)
        ordered = hashes.sort()
        repeated = ordered.filter(ordered == ordered.shift(1)).unique()
        self._repeated = ids.filter(hashes.is_in(repeated.implode())).unique()
        self._in_prior = _ids_in_prior(ids, ordered.unique(), prior_event_ids)
        self._seen = pl.Series("event_id", [], dtype=pl.String)

    def mark(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`frame` (validated rows with `event_id` and `_reason`, null = valid) with `_reason` set to
        duplicate_event_id on the valid rows that repeat an id; the chunk's repeatable ids are remembered."""
        ok = pl.col("_reason").is_null()
        event_id = pl.col("event_id")
        tracked = ok & event_id.is_in(self._repeated.implode())
        repeat_here = tracked & (~event_id.is_first_distinct().over(tracked) | event_id.is_in(self._seen.implode()))
        dup = repeat_here | (ok & event_id.is_in(self._in_prior.implode()))
        marked = frame.with_columns(
            pl.when(dup).then(pl.lit(R.DUPLICATE_EVENT_ID)).otherwise(pl.col("_reason")).alias("_reason")
        )
        if self._repeated.len():
            ids = frame.filter(tracked).get_column("event_id")
            self._seen = pl.concat([self._seen, ids]).unique()
        return marked


def _hashed(ids: pl.Series | pl.Expr):
    return ids.hash(seed=_SEED)


_SEED = 0


def _ids_in_prior(
    ids: pl.Series, hashes: pl.Series, prior_event_ids: pl.Series | pl.LazyFrame | None
) -> pl.Series:
    """The ids of this load already in `prior_event_ids`: prior ids whose hash is one of this load's
    `hashes` are read, then compared exactly."""
    if prior_event_ids is None or ids.is_empty():
        return pl.Series("event_id", [], dtype=pl.String)
    if isinstance(prior_event_ids, pl.LazyFrame):
        prior = prior_event_ids.select("event_id")
    else:
        prior = prior_event_ids.alias("event_id").to_frame().lazy()
    prior_hashes = prior.select(_hashed(pl.col("event_id"))).collect().to_series()
    shared = prior_hashes.filter(prior_hashes.is_in(hashes.implode())).unique()
    if shared.is_empty():
        return pl.Series("event_id", [], dtype=pl.String)
    candidates = prior.filter(_hashed(pl.col("event_id")).is_in(shared.implode())).collect().to_series()
    return ids.filter(ids.is_in(candidates.implode())).unique()
