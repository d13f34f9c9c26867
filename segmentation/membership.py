"""Daily segment membership (marts.customer_segments) and, re-exported from `history`, the
membership history, transitions and summary.

Call order for a window [start, end] of days, on one read-write connection (the only writer):

    config = load_segments("segments.yml")
    build_daily_segments(con, config, start, end)       # customer_segments, segment_runs, segment_days
    build_membership_history(con, start, end, config.settings)   # history, transitions, summary

A day is evaluated only when marts.customer_features has a snapshot for it; a day without one is
left exactly as it was (reported in the result). Re-running a window replaces its days exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable

import duckdb

from segmentation.columns import (CATEGORY_COLUMNS, CATEGORY_TABLE, CLUSTERS_TABLE, FEATURES_TABLE,
                                  SCORES_TABLE, SUMMARY_REVENUE_COLUMN, SUMMARY_SCORE_COLUMNS, TAG_COLUMNS, TAG_TABLE,
                                  ColumnInfo, table_columns, warehouse_catalogue)
from segmentation.compiler import CategoryMeasure, Decile, TagMeasure, quote_ident, sql_string
from segmentation.history import build_membership_history  # noqa: F401  (part of this module's API)
from segmentation.rules import CLUSTER_PREFIX, PlannedSegment, SegmentConfig, SegmentDefinition, plan_segments
from segmentation.tables import DAYS, DEFINITIONS, RUNS, SEGMENTS, ensure_tables


class SegmentBuildError(RuntimeError):
    pass


@dataclass
class DailyBuildResult:
    days_built: list[date] = field(default_factory=list)
    days_without_features: list[date] = field(default_factory=list)
    membership_rows: int = 0
    evaluated: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # segment -> reason
    clusters_note: str | None = None


def _config(segments: SegmentConfig | Iterable[SegmentDefinition]) -> SegmentConfig:
    return segments if isinstance(segments, SegmentConfig) else SegmentConfig(tuple(segments))


def build_daily_segments(con: duckdb.DuckDBPyConnection, segments: SegmentConfig | Iterable[SegmentDefinition],
                         start: date, end: date) -> DailyBuildResult:
    """Evaluate every segment for every day in [start, end] that has a feature snapshot and replace
    those days in marts.customer_segments / segment_runs / segment_days (one transaction)."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    config = _config(segments)
    settings = config.settings
    feature_types = table_columns(con, FEATURES_TABLE)
    if feature_types is None or not {"customer_id", "as_of_date"} <= set(feature_types):
        raise SegmentBuildError(f"{FEATURES_TABLE} with customer_id and as_of_date is required: build the feature marts first")
    score_types = table_columns(con, SCORES_TABLE) or {}
    if score_types and not {"customer_id", "as_of_date"} <= set(score_types):
        score_types = {}
    catalogue = {name: info for name, info in warehouse_catalogue(con).items()
                 if info.source == "features" or score_types}
    category_types = table_columns(con, CATEGORY_TABLE) or {}
    category_available = set(CATEGORY_COLUMNS) <= set(category_types)
    tag_types = table_columns(con, TAG_TABLE) or {}
    tag_available = set(TAG_COLUMNS) <= set(tag_types)
    planned = plan_segments(config, catalogue, category_available, tag_available,  # raises before anything is written
                            set(category_types), set(tag_types))

    result = DailyBuildResult()
    result.evaluated = [p.definition.name for p in planned if p.compiled]
    result.skipped = {p.definition.name: p.skip_reason for p in planned if not p.compiled}
    days = [row[0] for row in con.execute(
        f"select distinct cast(as_of_date as date) from {FEATURES_TABLE} where as_of_date between ? and ? order by 1",
        [start, end]).fetchall()]
    calendar = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    result.days_without_features = [d for d in calendar if d not in set(days)]
    ensure_tables(con)

    cluster_types = table_columns(con, CLUSTERS_TABLE) or {}
    if not settings.clusters:
        clusters_status, result.clusters_note = "disabled", "settings.clusters is false"
    elif not {"customer_id", "as_of_date", "cluster_name"} <= set(cluster_types):
        clusters_status, result.clusters_note = "unavailable", f"{CLUSTERS_TABLE} (customer_id, as_of_date, cluster_name) is missing"
    else:
        clusters_status = "evaluated"

    con.execute("begin transaction")
    try:
        _write_definitions(con, planned)
        if days:
            con.execute("create or replace temp table _seg_days as select unnest(?::DATE[]) as day", [days])
            _build_base(con, planned, catalogue, feature_types, score_types, cluster_types if clusters_status == "evaluated" else None,
                        start, end, settings.max_score_age_days)
            con.execute(f"delete from {SEGMENTS} where as_of_date in (select day from _seg_days)")
            con.execute(f"delete from {RUNS} where as_of_date in (select day from _seg_days)")
            con.execute(f"delete from {DAYS} where as_of_date in (select day from _seg_days)")
            for plan in planned:
                if plan.compiled:
                    con.execute(
                        f"insert into {SEGMENTS} select distinct as_of_date, ?, customer_id, 'rule', ? "
                        f"from _seg_base where {plan.compiled.sql}",
                        [plan.definition.name, plan.definition.description])
            if clusters_status == "evaluated":
                con.execute(f"insert into {SEGMENTS} select distinct as_of_date, __cluster_segment, customer_id, 'cluster', "
                            f"'Behavioural cluster: ' || __cluster_name from _seg_base where __cluster_segment is not null")
            _write_runs(con, planned, catalogue)
            note = sql_string(result.clusters_note) if result.clusters_note else "NULL"
            con.execute(f"""
                insert into {DAYS}
                select d.day, coalesce(b.customers, 0), coalesce(m.n, 0), ?, ?, ?,
                       case when ? = 'evaluated' and coalesce(b.clustered, 0) = 0
                            then 'no cluster assignment within max_score_age_days' else {note} end
                from _seg_days d
                left join (select as_of_date, count(*) customers, count(__cluster_segment) clustered
                           from _seg_base group by 1) b on b.as_of_date = d.day
                left join (select as_of_date, count(*) n from {SEGMENTS}
                           where as_of_date in (select day from _seg_days) group by 1) m on m.as_of_date = d.day
            """, [len(result.evaluated), len(result.skipped), clusters_status, clusters_status])
            # A day on which no customer has a fresh cluster is unknown for clusters, not empty.
            con.execute(f"""update {DAYS} set clusters_status = 'unavailable'
                            where as_of_date in (select day from _seg_days) and clusters_status = 'evaluated'
                              and clusters_note is not null""")
            result.membership_rows = con.execute(
                f"select count(*) from {SEGMENTS} where as_of_date in (select day from _seg_days)").fetchone()[0]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    result.days_built = days
    return result


def _numeric_expr(alias: str, column: str, dtype: str) -> str:
    # NaN compares greater than every number in DuckDB: treat it as missing.
    ref = f"{alias}.{quote_ident(column)}"
    return f"nullif({ref}, 'NaN'::DOUBLE)" if dtype.upper() in ("DOUBLE", "FLOAT", "REAL") else ref


def _build_base(con, planned: list[PlannedSegment], catalogue: dict[str, ColumnInfo], feature_types: dict,
                score_types: dict, cluster_types: dict | None, start: date, end: date, max_age: int) -> None:
    """_seg_base: one row per (customer_id, as_of_date) of the evaluated days with every column the
    rules and the summary need, category and tag lookups and per-day deciles."""
    compiled = [p.compiled for p in planned if p.compiled]
    wanted = set().union(*(c.columns for c in compiled)) if compiled else set()
    deciles: set[Decile] = set().union(*(c.deciles for c in compiled)) if compiled else set()
    categories: set[CategoryMeasure] = set().union(*(c.categories for c in compiled)) if compiled else set()
    tags: set[TagMeasure] = set().union(*(c.tags for c in compiled)) if compiled else set()
    wanted |= {d.column for d in deciles}
    wanted |= {c for c in (*SUMMARY_SCORE_COLUMNS, SUMMARY_REVENUE_COLUMN) if c in catalogue}
    wanted = sorted(wanted)

    select = ["f.customer_id", "f.as_of_date"]
    feature_cols = [c for c in wanted if catalogue[c].source == "features"]
    score_cols = [c for c in wanted if catalogue[c].source == "scores"]
    joins = []
    for c in feature_cols:
        select.append(f"{_numeric_expr('f', c, feature_types[c])} as {quote_ident(c)}")
    fresh = f"f.as_of_date - {int(max_age)}"
    if score_cols:
        inner = ", ".join(quote_ident(c) for c in score_cols)
        joins.append(f"""asof left join (
                select cast(customer_id as varchar) as customer_id, cast(as_of_date as date) as scored_on, {inner}
                from {SCORES_TABLE} where as_of_date between ? and ?) s
            on s.customer_id = f.customer_id and f.as_of_date >= s.scored_on""")
        for c in score_cols:
            select.append(f"case when s.scored_on >= {fresh} then {_numeric_expr('s', c, score_types[c])} end as {quote_ident(c)}")
    if cluster_types is not None:
        id_fallback = "cast(cluster_id as varchar)" if "cluster_id" in cluster_types else "NULL"
        joins.append(f"""asof left join (
                select cast(customer_id as varchar) as customer_id, cast(as_of_date as date) as clustered_on,
                       cast(cluster_name as varchar) as cluster_name, {id_fallback} as cluster_key
                from {CLUSTERS_TABLE} where as_of_date between ? and ?) k
            on k.customer_id = f.customer_id and f.as_of_date >= k.clustered_on""")
        slug = "trim(regexp_replace(lower(k.cluster_name), '[^a-z0-9]+', '_', 'g'), '_')"
        select.append(f"case when k.clustered_on >= {fresh} then coalesce(k.cluster_name, k.cluster_key) end as __cluster_name")
        select.append(f"case when k.clustered_on >= {fresh} then '{CLUSTER_PREFIX}' || "
                      f"left(coalesce(nullif({slug}, ''), k.cluster_key, 'unnamed'), 55) end as __cluster_segment")
    else:
        select += ["NULL::VARCHAR as __cluster_name", "NULL::VARCHAR as __cluster_segment"]
    if categories:
        measures = {
            "views_1d": "sum(coalesce(views_1d, 0))",
            "views_7d": "sum(coalesce(views_7d, 0))",
            "views_30d": "sum(coalesce(views_30d, 0))",
            "views_90d": "sum(coalesce(views_30d, 0) + coalesce(views_prior_60d, 0))",
            "cart_adds_7d": "sum(coalesce(cart_adds_7d, 0))",
            "cart_adds_90d": "sum(coalesce(cart_adds_90d, 0))",
            "orders_90d": "sum(coalesce(orders_90d, 0))",
            "revenue_90d": "sum(coalesce(revenue_90d, 0))",
            "share_of_views_1d": "max(share_of_views_1d)",
            "share_of_views_7d": "max(share_of_views_7d)",
            "share_of_views_30d": "max(share_of_views_30d)",
            "share_of_views_90d": "max(share_of_views_90d)",
            "trend_ratio": "max(trend_ratio)",
        }
        pivots = []
        for m in sorted(categories, key=lambda m: m.alias):
            pivots.append(f"{measures[m.measure]} filter (where category = {sql_string(m.category)}) as {quote_ident(m.alias)}")
            default = "" if m.measure == "trend_ratio" or m.measure.startswith("share_of_views") else ", 0"
            select.append(f"coalesce(c.{quote_ident(m.alias)}{default}) as {quote_ident(m.alias)}")
        names = ", ".join(sorted({sql_string(m.category) for m in categories}))
        joins.append(f"""left join (
                select cast(customer_id as varchar) as customer_id, cast(as_of_date as date) as as_of_date, {', '.join(pivots)}
                from {CATEGORY_TABLE}
                where as_of_date in (select day from _seg_days) and category in ({names})
                group by 1, 2) c
            on c.customer_id = f.customer_id and c.as_of_date = f.as_of_date""")
    if tags:
        # views / orders: 0 without a row for the tag; share: NULL then, like category_view_share
        tag_measures = {"views_1d": "sum(coalesce(views_1d, 0))", "views_7d": "sum(coalesce(views_7d, 0))",
                        "views_30d": "sum(coalesce(views_30d, 0))", "views_90d": "sum(coalesce(views_90d, 0))",
                        "share_of_views_1d": "max(share_of_views_1d)", "share_of_views_7d": "max(share_of_views_7d)",
                        "orders_90d": "sum(coalesce(orders_90d, 0))", "share_of_views_90d": "max(share_of_views_90d)"}
        pivots = []
        for m in sorted(tags, key=lambda m: m.alias):
            pivots.append(f"{tag_measures[m.measure]} filter (where tag = {sql_string(m.tag)}) as {quote_ident(m.alias)}")
            default = "" if m.measure.startswith("share_of_views") else ", 0"
            select.append(f"coalesce(t.{quote_ident(m.alias)}{default}) as {quote_ident(m.alias)}")
        names = ", ".join(sorted({sql_string(m.tag) for m in tags}))
        joins.append(f"""left join (
                select cast(customer_id as varchar) as customer_id, cast(as_of_date as date) as as_of_date, {', '.join(pivots)}
                from {TAG_TABLE}
                where as_of_date in (select day from _seg_days) and tag in ({names})
                group by 1, 2) t
            on t.customer_id = f.customer_id and t.as_of_date = f.as_of_date""")
    params: list = []
    if score_cols:
        params += [start - timedelta(days=max_age), end]
    if cluster_types is not None:
        params += [start - timedelta(days=max_age), end]
    feature_inner = ", ".join(["cast(customer_id as varchar) as customer_id", "cast(as_of_date as date) as as_of_date",
                               *(quote_ident(c) for c in feature_cols)])
    con.execute(f"""
        create or replace temp table _seg_base0 as
        select {', '.join(select)}
        from (select {feature_inner} from {FEATURES_TABLE}
              where as_of_date in (select day from _seg_days) and customer_id is not null) f
        {' '.join(joins)}
    """, params)
    windows = [
        f"""case when {quote_ident(d.column)} is null then null else
              least(10, 1 + floor(10 * percent_rank() over (
                  partition by as_of_date, {quote_ident(d.column)} is null order by {quote_ident(d.column)})))::INTEGER
            end as {quote_ident(d.alias)}"""
        for d in sorted(deciles, key=lambda d: d.alias)
    ]
    con.execute(f"create or replace temp table _seg_base as select *{''.join(', ' + w for w in windows)} from _seg_base0")


def _write_runs(con, planned: list[PlannedSegment], catalogue: dict[str, ColumnInfo]) -> None:
    # Summed as DECIMAL: a double sum depends on the (parallel) order, and re-runs must be identical.
    def exact_sum(column: str) -> str:
        return f"sum(cast(b.{quote_ident(column)} as DECIMAL(38, 9)))"

    metrics = [f"cast({exact_sum(c)} / count(b.{quote_ident(c)}) as DOUBLE) as avg_{c}" if c in catalogue
               else f"NULL::DOUBLE as avg_{c}" for c in SUMMARY_SCORE_COLUMNS]
    revenue = quote_ident(SUMMARY_REVENUE_COLUMN)
    metrics.append(f"cast({exact_sum(SUMMARY_REVENUE_COLUMN)} as DOUBLE) as {revenue}" if SUMMARY_REVENUE_COLUMN in catalogue
                   else f"NULL::DOUBLE as {revenue}")
    con.execute(f"""
        create or replace temp table _seg_metrics as
        select cs.as_of_date, cs.segment, any_value(cs.reason) as kind, any_value(cs.description) as description,
               count(*) as members, {', '.join(metrics)}
        from {SEGMENTS} cs join _seg_base b on b.customer_id = cs.customer_id and b.as_of_date = cs.as_of_date
        where cs.as_of_date in (select day from _seg_days)
        group by 1, 2
    """)
    con.execute("create or replace temp table _seg_plan (segment VARCHAR, status VARCHAR, skip_reason VARCHAR, description VARCHAR)")
    if planned:
        con.executemany("insert into _seg_plan values (?, ?, ?, ?)", [
            [p.definition.name, "evaluated" if p.compiled else "skipped", p.skip_reason, p.definition.description]
            for p in planned])
    metric_cols = ", ".join(f"m.avg_{c}" for c in SUMMARY_SCORE_COLUMNS) + f", m.{revenue}"
    con.execute(f"""
        insert into {RUNS}
        select d.day, p.segment, 'rule', p.status, p.skip_reason, p.description, coalesce(m.members, 0), {metric_cols}
        from _seg_days d cross join _seg_plan p
        left join _seg_metrics m on m.as_of_date = d.day and m.segment = p.segment
        union all
        select m.as_of_date, m.segment, 'cluster', 'evaluated', NULL, m.description, m.members, {metric_cols}
        from _seg_metrics m where m.kind = 'cluster'
    """)


def _write_definitions(con, planned: list[PlannedSegment]) -> None:
    con.execute(f"delete from {DEFINITIONS}")
    if planned:
        con.executemany(f"insert into {DEFINITIONS} values (?, ?, ?, ?, ?, ?, ?, ?)", [
            [p.definition.name, p.definition.description, p.definition.owner, p.definition.rule,
             p.compiled.sql if p.compiled else None, list(p.definition.channels),
             "active" if p.compiled else "skipped", p.skip_reason]
            for p in planned])
