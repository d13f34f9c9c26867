"""Read-only queries on the DuckDB warehouse returning polars frames.

Every function opens its own read-only connection and closes it, so a reader never holds the file
while a writer (dbt, scoring) needs it. Label windows are half-open on the left: (cutoff, cutoff + h].
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable, Iterator

import duckdb
import polars as pl

from shop import duckdb_connection

FEATURES = "marts.customer_features"
DAILY = "marts.customer_daily_activity"
CATEGORY_DAILY = "marts.customer_category_daily"
ASSIGNMENTS = "staging.stg_campaign_assignments"
CAMPAIGNS = "staging.stg_campaigns"


class WarehouseError(RuntimeError):
    pass


@contextmanager
def read_only(path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    path = Path(path)
    if not path.exists():
        raise WarehouseError(f"warehouse not found: {path}")
    con = duckdb_connection.connect(path, read_only=True)
    try:
        yield con
    finally:
        con.close()


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    """Run a query into polars; DECIMAL / HUGEINT sums become Float64 (models and JSON want floats)."""
    frame = con.sql(sql, params=params).pl() if params else con.sql(sql).pl()
    wide = [c for c, t in frame.schema.items() if isinstance(t, pl.Decimal) or t == pl.Int128 or t == pl.UInt128]
    return frame.with_columns(pl.col(wide).cast(pl.Float64)) if wide else frame


def register_keys(con: duckdb.DuckDBPyConnection, name: str, keys: pl.DataFrame) -> None:
    """Register (customer_id, as_of_date) snapshot keys as a view `name`, typed as the marts type them."""
    con.register(name, keys.select(pl.col("customer_id").cast(pl.String), pl.col("as_of_date").cast(pl.Date)))


def _table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    rows = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()
    return rows[0][0] > 0


def table_columns(con: duckdb.DuckDBPyConnection, qualified: str) -> list[str]:
    schema, table = qualified.split(".")
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def table_exists(path: str | Path, qualified: str) -> bool:
    with read_only(path) as con:
        return _table_exists(con, qualified)


def _require(con: duckdb.DuckDBPyConnection, qualified: str) -> None:
    if not _table_exists(con, qualified):
        raise WarehouseError(f"{qualified} does not exist in the warehouse: build the dbt marts first")


def snapshot_dates(path: str | Path) -> list[date]:
    """Every as_of_date with a customer_features snapshot, ascending."""
    with read_only(path) as con:
        _require(con, FEATURES)
        rows = con.execute(f"select distinct as_of_date from {FEATURES} order by 1").fetchall()
    return [r[0] for r in rows]


def activity_bounds(path: str | Path) -> tuple[date, date] | None:
    """First and last activity_date in customer_daily_activity (None when empty)."""
    with read_only(path) as con:
        _require(con, DAILY)
        first, last = con.execute(f"select min(activity_date), max(activity_date) from {DAILY}").fetchall()[0]
    return None if first is None else (first, last)


def features_as_of(path: str | Path, as_of: date | Iterable[date]) -> pl.DataFrame:
    """customer_features rows for one or several snapshot dates (all columns present in the mart)."""
    days = [as_of] if isinstance(as_of, date) else sorted(set(as_of))
    with read_only(path) as con:
        _require(con, FEATURES)
        if not days:
            return query(con, f"select * from {FEATURES} limit 0")
        return query(
            con,
            f"select * from {FEATURES} where as_of_date in (select unnest(?::DATE[])) order by as_of_date, customer_id",
            [days],
        )


def features_between(path: str | Path, start: date, end: date) -> pl.DataFrame:
    with read_only(path) as con:
        _require(con, FEATURES)
        return query(
            con,
            f"select * from {FEATURES} where as_of_date between ? and ? order by as_of_date, customer_id",
            [start, end],
        )


def feature_rows_by_day(path: str | Path, start: date, end: date) -> dict[date, int]:
    """Snapshots per as_of_date in [start, end] (days without any are absent)."""
    with read_only(path) as con:
        _require(con, FEATURES)
        rows = con.execute(
            f"select as_of_date, count(*) from {FEATURES} where as_of_date between ? and ? group by as_of_date",
            [start, end],
        ).fetchall()
    return {day: count for day, count in rows}


def purchase_labels(path: str | Path, cutoffs: Iterable[date], horizon_days: int,
                    keys: pl.DataFrame | None = None) -> pl.DataFrame:
    """(customer_id, as_of_date=cutoff, orders, revenue) over (cutoff, cutoff + horizon]; customers
    without purchases are absent (join and fill with 0). `keys` (customer_id, as_of_date) limits the
    labels to those snapshots: a sampled training set then aggregates only its own customers' days."""
    days = sorted(set(cutoffs))
    with read_only(path) as con:
        _require(con, DAILY)
        cutoff_rows, matches = "select unnest(?::DATE[]) as cutoff", ""
        if keys is not None:
            register_keys(con, "_label_keys", keys)
            cutoff_rows = "select customer_id, as_of_date as cutoff from _label_keys where as_of_date in (select unnest(?::DATE[]))"
            matches = "and a.customer_id::VARCHAR = c.customer_id"
        return query(
            con,
            f"""
            with cutoffs as ({cutoff_rows})
            select a.customer_id, c.cutoff as as_of_date,
                   sum(coalesce(a.orders, 0))::DOUBLE as orders,
                   sum(coalesce(a.revenue, 0))::DOUBLE as revenue
            from cutoffs c
            join {DAILY} a on a.activity_date > c.cutoff and a.activity_date <= c.cutoff + ?::INTEGER {matches}
            group by all
            having sum(coalesce(a.orders, 0)) > 0
            """,
            [days, int(horizon_days)],
        )


def next_category_labels(path: str | Path, cutoffs: Iterable[date], horizon_days: int) -> pl.DataFrame:
    """(customer_id, as_of_date=cutoff, next_category): the category of the first purchase day in
    (cutoff, cutoff + horizon]; ties on that day go to more orders, then more revenue, then name."""
    days = sorted(set(cutoffs))
    with read_only(path) as con:
        _require(con, CATEGORY_DAILY)
        return query(
            con,
            f"""
            with cutoffs as (select unnest(?::DATE[]) as cutoff)
            select d.customer_id, c.cutoff as as_of_date, d.category::VARCHAR as next_category
            from cutoffs c
            join {CATEGORY_DAILY} d on d.activity_date > c.cutoff and d.activity_date <= c.cutoff + ?::INTEGER
            where coalesce(d.orders, 0) > 0 and d.category is not null
            qualify row_number() over (
                partition by c.cutoff, d.customer_id
                order by d.activity_date, d.orders desc, coalesce(d.revenue, 0) desc, d.category
            ) = 1
            """,
            [days, int(horizon_days)],
        )


GROUP_COLUMNS = ("group", "assignment_group", "arm", "variant")


def campaign_assignments(path: str | Path) -> pl.DataFrame:
    """Assignments joined with their campaign: campaign_id, customer_id, group ('treatment'|'control'),
    sent_ts, sent_date, channel, offer_type, discount_pct. Empty frame when the shop has no campaign
    tables. The group column may be called group / assignment_group / arm / variant."""
    empty = pl.DataFrame(
        schema={"campaign_id": pl.String, "customer_id": pl.String, "group": pl.String, "sent_ts": pl.Datetime,
                "sent_date": pl.Date, "channel": pl.String, "offer_type": pl.String, "discount_pct": pl.Float64}
    )
    with read_only(path) as con:
        if not _table_exists(con, ASSIGNMENTS):
            return empty
        assignment_cols = set(table_columns(con, ASSIGNMENTS))
        group_col = next((c for c in GROUP_COLUMNS if c in assignment_cols), None)
        if group_col is None or "sent_ts" not in assignment_cols:
            raise WarehouseError(f"{ASSIGNMENTS} needs sent_ts and one of {GROUP_COLUMNS}; has {sorted(assignment_cols)}")
        has_campaigns = _table_exists(con, CAMPAIGNS)
        campaign_cols = set(table_columns(con, CAMPAIGNS)) if has_campaigns else set()

        def col(name: str, cast: str) -> str:
            return f"c.{name}::{cast} as {name}" if name in campaign_cols else f"null::{cast} as {name}"

        sent_date = "a.sent_date::DATE" if "sent_date" in assignment_cols else "a.sent_ts::DATE"
        join = f"left join {CAMPAIGNS} c on c.campaign_id = a.campaign_id" if has_campaigns else ""
        return query(
            con,
            f"""
            select a.campaign_id::VARCHAR as campaign_id, a.customer_id, lower(a."{group_col}") as "group",
                   a.sent_ts, {sent_date} as sent_date,
                   {col('channel', 'VARCHAR')}, {col('offer_type', 'VARCHAR')}, {col('discount_pct', 'DOUBLE')}
            from {ASSIGNMENTS} a {join}
            where a.sent_ts is not null
            order by a.sent_ts, a.customer_id
            """,
        )


def purchases_in_windows(path: str | Path, windows: pl.DataFrame) -> pl.DataFrame:
    """For rows (key, customer_id, window_start, window_end) -> (key, orders, revenue) summed over
    activity_date in [window_start, window_end]; rows without purchases get 0."""
    with read_only(path) as con:
        _require(con, DAILY)
        con.register("_windows", windows.select("key", "customer_id", "window_start", "window_end"))
        try:
            out = query(
                con,
                f"""
                select w.key, coalesce(sum(a.orders), 0)::DOUBLE as orders, coalesce(sum(a.revenue), 0)::DOUBLE as revenue
                from _windows w
                left join {DAILY} a on a.customer_id = w.customer_id
                    and a.activity_date between w.window_start and w.window_end
                group by w.key
                """,
            )
        finally:
            con.unregister("_windows")
    return out


def latest_snapshot_before(snapshots: list[date], day: date) -> date | None:
    """The newest snapshot date strictly before `day` (features as of the day before an event)."""
    candidates = [d for d in snapshots if d <= day - timedelta(days=1)]
    return candidates[-1] if candidates else None
