"""Membership history (stretches), transitions and the daily summary, maintained incrementally.

marts.segment_membership_history is the system of record of every move: one row per uninterrupted
stretch (segment, customer_id, valid_from, valid_to NULL while open, days). It is rebuilt for a
window from the window's daily rows plus the history itself, never from older daily rows, so
marts.customer_segments may be pruned by retention (see `prune_daily_segments`).

For a window [start, end] (days evaluated by `build_daily_segments`):
  1. affected stretches = open ones, and closed ones touching [start - 1, end + 1];
  2. they are cut into: the part before the window, the part after it, and the days inside the
     window on which the segment was *not* re-evaluated (a skipped segment is unknown, not empty);
  3. the window's daily rows are added as one-day pieces, adjacent pieces are merged
     (gaps-and-islands on intervals), and a stretch reaching the segment's last evaluated day is open.
Transitions and summary rows are then recomputed for the days whose entries/exits can have
changed: [window start (or the day after a segment's previous last day), window end + 1].

A skipped day (segment's inputs missing) is unknown: history neither extends nor closes a stretch
on it, so a member before and after a skipped gap shows two stretches once the next day is evaluated.

Typical questions, one query each (tests run these exact statements):

    -- who entered cart_abandoners yesterday
    select customer_id from marts.segment_transitions
    where transition = 'entered' and to_segment = 'cart_abandoners' and as_of_date = current_date - 1;

    -- how long has this customer been high-intent (no row: not a member now)
    select valid_from, days from marts.segment_membership_history
    where segment = 'high_intent_tech_shoppers' and customer_id = 'c-42' and valid_to is null;
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb

from segmentation.columns import SUMMARY_REVENUE_COLUMN, SUMMARY_SCORE_COLUMNS
from segmentation.rules import CLUSTER_PREFIX, Settings
from segmentation.tables import (DAYS, HISTORY, HISTORY_STATE, RUNS, SEGMENTS, SUMMARY, TRANSITIONS,
                                 ensure_tables)

class HistoryError(RuntimeError):
    pass


@dataclass
class HistoryResult:
    days: list[date] = field(default_factory=list)
    stretches_replaced: int = 0
    stretches_written: int = 0
    transition_days: tuple[date, date] | None = None


def build_membership_history(con: duckdb.DuckDBPyConnection, start: date, end: date,
                             settings: Settings | None = None) -> HistoryResult:
    """Fold the evaluated days in [start, end] into history, transitions and summary (one transaction).
    Days never evaluated by build_daily_segments are ignored; raises HistoryError when an evaluated
    day's daily rows are gone (retention) so history would lose moves."""
    settings = settings or Settings()
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    ensure_tables(con)
    result = HistoryResult()
    con.execute("begin transaction")
    try:
        days = [r[0] for r in con.execute(
            f"select as_of_date from {DAYS} where as_of_date between ? and ? order by 1", [start, end]).fetchall()]
        if days:
            _check_daily_rows(con, days[0], days[-1])
            _fold_window(con, days, result)
            _rebuild_transitions(con, result)
            _rebuild_summary(con, settings)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    result.days = days
    return result


def _check_daily_rows(con, first: date, last: date) -> None:
    gone = con.execute(f"""
        select d.as_of_date, d.membership_rows, coalesce(c.n, 0)
        from {DAYS} d left join (select as_of_date, count(*) n from {SEGMENTS}
                                 where as_of_date between ? and ? group by 1) c using (as_of_date)
        where d.as_of_date between ? and ? and d.membership_rows <> coalesce(c.n, 0)
        order by 1""", [first, last, first, last]).fetchall()
    if gone:
        listed = ", ".join(f"{d} ({have} of {want} rows)" for d, want, have in gone[:5])
        raise HistoryError(f"{SEGMENTS} no longer holds the rows evaluated for {listed}: re-run "
                           "build_daily_segments for those days before rebuilding their history")


def _fold_window(con, days: list[date], result: HistoryResult) -> None:
    ws, we = days[0], days[-1]
    con.execute("create or replace temp table _h_days as select unnest(?::DATE[]) as day", [days])
    con.execute("create or replace temp table _h_cal as select unnest(range(?::DATE, ?::DATE + 1, interval 1 day))::DATE as day",
                [ws, we])
    con.execute(f"""
        create or replace temp table _h_aff as
        select segment, customer_id, valid_from as a, coalesce(valid_to, valid_from + (days - 1)) as b
        from {HISTORY}
        where valid_to is null or (valid_to >= ?::DATE - 1 and valid_from <= ?::DATE + 1)""", [ws, we])
    # Segments whose membership is (re)decided on the window's days, and where it is unknown.
    con.execute(f"""
        create or replace temp table _h_scope as
        select distinct segment from _h_aff
        union select distinct segment from {RUNS} where as_of_date in (select day from _h_days)
        union select distinct segment from {SEGMENTS} where as_of_date in (select day from _h_days)""")
    # Evaluated = decided by this window's daily rows. A segment the day's build did not evaluate
    # (removed from the config, cluster gone) counts as empty only on days past its history, so
    # re-running an old day never erases what history recorded; skipped means unknown.
    con.execute(f"""
        create or replace temp table _h_eval as
        select segment, as_of_date as day from {RUNS}
        where status = 'evaluated' and as_of_date in (select day from _h_days)
        union (
            select s.segment, d.day from _h_scope s cross join _h_days d
            left join {HISTORY_STATE} st using (segment)
            where st.through_day is null or d.day > st.through_day
            except
            select segment, as_of_date from {RUNS}
            where status = 'skipped' and as_of_date in (select day from _h_days)
            except
            select s.segment, d.as_of_date from _h_scope s join {DAYS} d
                on starts_with(s.segment, '{CLUSTER_PREFIX}') and d.clusters_status = 'unavailable'
            where d.as_of_date in (select day from _h_days))""")
    con.execute(f"""
        create or replace temp table _h_pieces as
        select segment, customer_id, a, least(b, ?::DATE - 1) as b from _h_aff where a < ?::DATE
        union all
        select segment, customer_id, greatest(a, ?::DATE + 1), b from _h_aff where b > ?::DATE
        union all
        select x.segment, x.customer_id, c.day, c.day
        from _h_aff x join _h_cal c on c.day between x.a and x.b
        where not exists (select 1 from _h_eval e where e.segment = x.segment and e.day = c.day)
        union all
        select cs.segment, cs.customer_id, cs.as_of_date, cs.as_of_date
        from {SEGMENTS} cs join _h_eval e on e.segment = cs.segment and e.day = cs.as_of_date""",
                [ws, ws, we, we])
    con.execute("""
        create or replace temp table _h_new as
        with ordered as (
            select *, max(b) over (partition by segment, customer_id order by a, b
                                   rows between unbounded preceding and 1 preceding) as prev_b
            from _h_pieces),
        grouped as (
            select *, sum(case when prev_b is not null and a <= prev_b + 1 then 0 else 1 end)
                      over (partition by segment, customer_id order by a, b rows unbounded preceding) as grp
            from ordered)
        select segment, customer_id, min(a) as a, max(b) as b from grouped group by segment, customer_id, grp""")
    con.execute(f"""
        create or replace temp table _h_state as
        select e.segment, e.first_day, e.last_day, st.through_day as old_through,
               greatest(coalesce(st.through_day, e.last_day), e.last_day) as through_day
        from (select segment, min(day) as first_day, max(day) as last_day from _h_eval group by 1) e
        left join {HISTORY_STATE} st using (segment)""")
    result.stretches_replaced = con.execute("select count(*) from _h_aff").fetchone()[0]
    result.stretches_written = con.execute("select count(*) from _h_new").fetchone()[0]
    con.execute(f"""delete from {HISTORY} h using _h_aff x
                    where h.segment = x.segment and h.customer_id = x.customer_id and h.valid_from = x.a""")
    con.execute(f"""
        insert into {HISTORY}
        select n.segment, n.customer_id, n.a, case when n.b >= t.through_day then NULL else n.b end,
               (n.b - n.a + 1)::INTEGER
        from _h_new n
        left join (select segment, through_day from _h_state
                   union all
                   select segment, through_day from {HISTORY_STATE}
                   where segment not in (select segment from _h_state)) t using (segment)""")
    con.execute(f"delete from {HISTORY_STATE} where segment in (select segment from _h_state)")
    con.execute(f"insert into {HISTORY_STATE} select segment, through_day from _h_state")


def _rebuild_transitions(con, result: HistoryResult) -> None:
    # Entries/exits can change from the window start (or the day after a segment's previous last
    # evaluated day, which closes its open stretches) through the day after the window.
    con.execute("""
        create or replace temp table _t_range as
        select segment, least(first_day, coalesce(old_through + 1, first_day)) as ta, last_day + 1 as tb
        from _h_state""")
    con.execute("""
        create or replace temp table _t_days as
        select distinct unnest(range(ta, tb + 1, interval 1 day))::DATE as day from _t_range""")
    bounds = con.execute("select min(day), max(day) from _t_days").fetchone()
    result.transition_days = None if bounds[0] is None else (bounds[0], bounds[1])
    con.execute(f"""
        delete from {TRANSITIONS} t using _t_range r
        where (t.transition = 'entered' and t.to_segment = r.segment or t.transition = 'exited' and t.from_segment = r.segment)
          and t.as_of_date between r.ta and r.tb""")
    con.execute(f"""
        insert into {TRANSITIONS}
        select h.valid_from, h.customer_id, 'entered', NULL, h.segment
        from {HISTORY} h join _t_range r on h.segment = r.segment and h.valid_from between r.ta and r.tb
        union all
        select h.valid_to + 1, h.customer_id, 'exited', h.segment, NULL
        from {HISTORY} h join _t_range r on h.segment = r.segment and h.valid_to between r.ta - 1 and r.tb - 1""")
    con.execute(f"delete from {TRANSITIONS} where transition = 'moved' and as_of_date in (select day from _t_days)")
    con.execute(f"""
        insert into {TRANSITIONS}
        select x.as_of_date, x.customer_id, 'moved', x.from_segment, n.to_segment
        from {TRANSITIONS} x join {TRANSITIONS} n
          on n.as_of_date = x.as_of_date and n.customer_id = x.customer_id and n.transition = 'entered'
        where x.transition = 'exited' and x.as_of_date in (select day from _t_days)""")


def _rebuild_summary(con, settings: Settings) -> None:
    metrics = ", ".join([f"r.avg_{c}" for c in SUMMARY_SCORE_COLUMNS] + [f"r.{SUMMARY_REVENUE_COLUMN}"])
    con.execute(f"delete from {SUMMARY} where as_of_date in (select day from _t_days)")
    con.execute(f"""
        insert into {SUMMARY}
        with flows as (
            select as_of_date, coalesce(to_segment, from_segment) as segment,
                   count(*) filter (where transition = 'entered') as entries,
                   count(*) filter (where transition = 'exited') as exits
            from {TRANSITIONS}
            where transition in ('entered', 'exited') and as_of_date in (select day from _t_days)
            group by 1, 2),
        sized as (
            select r.*,
                   case when p.members is not null then p.members
                        when r.kind = 'cluster' and d.clusters_status = 'evaluated' then 0 end as previous_size
            from {RUNS} r
            left join {RUNS} p on p.segment = r.segment and p.as_of_date = r.as_of_date - 1 and p.status = 'evaluated'
            left join {DAYS} d on d.as_of_date = r.as_of_date - 1
            where r.status = 'evaluated' and r.as_of_date in (select day from _t_days))
        select r.as_of_date, r.segment, r.kind, r.members, coalesce(f.entries, 0), coalesce(f.exits, 0),
               r.previous_size,
               case when r.previous_size > 0 then (r.members - r.previous_size) / r.previous_size::DOUBLE end,
               coalesce(greatest(r.members, r.previous_size) >= ?
                        and (r.previous_size = 0 or abs(r.members - r.previous_size) / r.previous_size::DOUBLE > ?), false),
               {metrics}
        from sized r left join flows f on f.as_of_date = r.as_of_date and f.segment = r.segment""",
                [settings.size_change_min_size, settings.size_change_threshold])


def prune_daily_segments(con: duckdb.DuckDBPyConnection, before: date) -> int:
    """Retention: drop daily membership rows older than `before` (history keeps every move).
    Returns the number of rows deleted."""
    ensure_tables(con)
    deleted = con.execute(f"select count(*) from {SEGMENTS} where as_of_date < ?", [before]).fetchone()[0]
    con.execute(f"delete from {SEGMENTS} where as_of_date < ?", [before])
    return deleted
