"""Score every customer snapshot in a date window with each champion, and write the results.

`score_window(warehouse_path, home, start, end)` loads, for each day, the version that served it
(`models:/<name>@champion` from its promotion on; for older days of a backfill, what had been
promoted by then: see ml/served_versions.py; a served baseline is an ordinary version), scores all rows of marts.customer_features with
as_of_date in [start, end] in one vectorised pass per model (a long window in spans of days, each
read, scored and written in turn), and replaces that window in marts.customer_scores and
marts.customer_clusters (and the champion's rows in marts.cluster_profiles).
The warehouse is read with a read-only connection and opened for writing only for the final write.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from shop import duckdb_connection
from ml import registry, warehouse
from ml.served_versions import plan
from ml.clustering import RuleSegments
from ml.features import encoding_cache

SCORES_TABLE = "marts.customer_scores"
CLUSTERS_TABLE = "marts.customer_clusters"
PROFILES_TABLE = "marts.cluster_profiles"
DEFAULT_HORIZONS = (7, 30, 90)
# Models whose baseline gives every customer the same value (ConstantUplift: the average treatment
# effect): served as NULL, since a constant ranks no one and would put everyone in an uplift segment
# (discount_uplift >= 0.05). <name>_version still records which version served the day.
NULL_WHEN_BASELINE = frozenset({"discount_response"})
# Snapshots read at once: a span holds their features and scored rows; the boosters' matrices and
# contributions only for a slice at a time (a 1.37 M-snapshot day peaked at 3.0 GiB in the scoring step).
SPAN_ROWS = 1_500_000
# Snapshots scored at once within a span: their encoded matrix, predictions and contributions are
# freed before the next slice (a 2.25 M-customer day scored whole peaked at 4.6 GiB).
SCORE_SLICE_ROWS = 250_000


def score_specs(horizons=DEFAULT_HORIZONS) -> list[tuple[str, tuple[str, ...]]]:
    """(registered model, output columns it fills in customer_scores), in column order."""
    specs = [(f"purchase_propensity_{h}d", (f"p_purchase_{h}d",)) for h in horizons]
    specs += [
        ("churn_risk", ("p_churn",)),
        ("customer_lifetime_value", ("expected_orders_365d", "expected_value_365d")),
        ("discount_response", ("discount_uplift",)),
        ("next_category", ("next_category",)),
    ]
    return specs


def add_deciles(frame: pl.DataFrame, columns: list[str], by: str = "as_of_date") -> pl.DataFrame:
    """<col>_decile: 10 = top 10 % of that day's scores .. 1 = bottom (as the segment rules' decile());
    null where the score is null."""
    exprs = []
    for column in columns:
        value = pl.col(column).fill_nan(None)
        rank = value.rank("ordinal").over(by)
        n = value.count().over(by)
        exprs.append((((rank - 1) * 10) // n + 1).cast(pl.Int8).alias(f"{column}_decile"))
    return frame.with_columns(exprs) if exprs else frame


def _as_series(name: str, values: np.ndarray, n: int) -> pl.Series:
    values = np.asarray(values)
    if values.dtype == object:
        return pl.Series(name, values.tolist(), dtype=pl.String)
    out = pl.Series(name, values.astype(np.float64))
    return out.fill_nan(None)


REASON_MODES = ("all", "last_day", "none")


def build_scores(features: pl.DataFrame, champions: dict, horizons=DEFAULT_HORIZONS, reason_k: int = 3,
                 approx_reasons: bool = False, reasons: str = "all",
                 slice_rows: int = SCORE_SLICE_ROWS) -> tuple[pl.DataFrame, dict]:
    """customer_scores rows for `features` from loaded champions {name: Champion | None}.
    `reasons`: reason codes for every row ("all"), only the window's last as_of_date ("last_day",
    cheaper for long backfills: contributions cost far more than predictions) or none.
    The rows are scored `slice_rows` at a time (the matrices and contributions of a slice are freed
    before the next), then ranked into deciles per day together."""
    if reasons not in REASON_MODES:
        raise ValueError(f"reasons must be one of {REASON_MODES}, got {reasons!r}")
    if slice_rows < 1:
        raise ValueError(f"slice_rows must be >= 1, got {slice_rows}")
    explain = None
    if reasons == "last_day" and features.height:
        explain = features.get_column("as_of_date") == features.get_column("as_of_date").max()
    parts, timings = [], {}
    for offset in range(0, max(features.height, 1), slice_rows):
        rows = features.slice(offset, slice_rows)
        explain_rows = explain.slice(offset, slice_rows).to_numpy() if explain is not None else None
        with encoding_cache():
            part, numeric_scores, seconds = _slice_scores(rows, champions, horizons, reason_k, approx_reasons,
                                                          reasons, explain_rows)
        parts.append(part)
        timings = {name: timings.get(name, 0.0) + t for name, t in seconds.items()}
    frame = add_deciles(pl.concat(parts), numeric_scores)
    ordered = ["customer_id", "as_of_date"]
    for name, outputs in score_specs(horizons):
        for output in outputs:
            ordered.append(output)
            if output in numeric_scores:
                ordered.append(f"{output}_decile")
    ordered += [c for c in frame.columns if c.startswith("reason_")] + [c for c in frame.columns if c.endswith("_version")]
    return frame.select(ordered), timings


def _slice_scores(features: pl.DataFrame, champions: dict, horizons, reason_k: int, approx_reasons: bool,
                  reasons: str, explain_rows: np.ndarray | None) -> tuple[pl.DataFrame, list[str], dict]:
    """(scores, reason codes and versions of `features` without deciles, the numeric score columns,
    seconds per model); reason codes only where `explain_rows` is true when it is given."""
    n = features.height
    explained = features.filter(pl.Series(explain_rows)) if explain_rows is not None else features
    columns: list[pl.Series] = [features.get_column("customer_id"), features.get_column("as_of_date")]
    numeric_scores, reason_series, versions, timings = [], [], [], {}
    for name, outputs in score_specs(horizons):
        champion = champions.get(name)
        started = time.perf_counter()
        personal = champion is not None and not (name in NULL_WHEN_BASELINE and champion.kind == "baseline")
        scored = champion.estimator.score(features) if personal else {}
        why = {}
        if personal and reason_k and reasons != "none" and hasattr(champion.estimator, "reason_codes"):
            why = champion.estimator.reason_codes(explained, reason_k, approx_reasons)
            if explain_rows is not None:
                why = {k: _scatter(v, explain_rows) for k, v in why.items()}
        timings[name] = time.perf_counter() - started
        for output in outputs:
            if output in scored:
                columns.append(_as_series(output, scored[output], n))
            elif output == "next_category":
                columns.append(pl.repeat(None, n, dtype=pl.String, eager=True).alias(output))
            else:
                columns.append(pl.repeat(None, n, dtype=pl.Float64, eager=True).alias(output))
            if output != "next_category":
                numeric_scores.append(output)
            reason_series.append(_reason_series(f"reason_{output}", why.get(output), n))
        versions.append(pl.repeat(champion.version if champion else None, n, dtype=pl.String, eager=True)
                        .alias(f"{name}_version"))
    return pl.DataFrame(columns + reason_series + versions), numeric_scores, timings


def _scatter(values, rows: np.ndarray) -> pl.Series:
    """Values for the rows where `rows` is true, null elsewhere."""
    values = values if isinstance(values, pl.Series) else pl.Series(np.asarray(values, dtype=object).tolist(), dtype=pl.String)
    out = pl.repeat(None, len(rows), dtype=pl.String, eager=True)
    return out.scatter(np.flatnonzero(rows), values.cast(pl.String))


def _reason_series(name: str, values, n: int) -> pl.Series:
    """A reason column from a model's reason codes (polars Series or object array), or all null."""
    if values is None:
        return pl.repeat(None, n, dtype=pl.String, eager=True).alias(name)
    if isinstance(values, pl.Series):
        return values.cast(pl.String).alias(name)
    return pl.Series(name, np.asarray(values, dtype=object).tolist(), dtype=pl.String)


def build_clusters(features: pl.DataFrame, champion) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """customer_clusters rows and cluster_profiles rows; rule segments when no clustering champion."""
    if champion is not None:
        model, version = champion.estimator, f"behavioral_clusters/{champion.version}"
    else:
        model, version = RuleSegments().fit(), "rules/v1"
    out = model.predict(features)
    clusters = pl.DataFrame([
        features.get_column("customer_id"), features.get_column("as_of_date"),
        pl.Series("cluster_id", out["cluster_id"], dtype=pl.Int64),
        pl.Series("cluster_name", out["cluster_name"].tolist(), dtype=pl.String),
        _as_series("distance_to_centroid", out["distance_to_centroid"], features.height),
        pl.repeat(version, features.height, dtype=pl.String, eager=True).alias("model_version"),
    ])
    if isinstance(model, RuleSegments):
        latest = features.filter(pl.col("as_of_date") == features["as_of_date"].max()) if features.height else features
        prof = model.profile_frame(latest).with_columns(pl.lit("{}").alias("profile"))
    else:
        prof = pl.DataFrame([
            {"cluster_id": p["cluster_id"], "cluster_name": p["cluster_name"], "size": p["size"], "share": p["share"],
             "top_category": p["top_category"],
             "profile": json.dumps({"means": p["means"], "z": p["z"], "buyer_share": p.get("buyer_share")}, sort_keys=True)}
            for p in model.profiles_
        ])
    profiles = prof.select(
        pl.lit(version).alias("model_version"), pl.col("cluster_id").cast(pl.Int64), pl.col("cluster_name").cast(pl.String),
        pl.col("size").cast(pl.Int64), pl.col("share").cast(pl.Float64), pl.col("top_category").cast(pl.String),
        pl.col("profile").cast(pl.String),
    ).sort("cluster_id")
    return clusters, profiles, version


def _ensure_table(con: duckdb.DuckDBPyConnection, table: str, frame_name: str) -> None:
    """Create the table from the frame's schema, or add columns the frame has and the table lacks."""
    schema, name = table.split(".")
    con.execute(f"create schema if not exists {schema}").fetchall()
    exists = con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                         [schema, name]).fetchall()[0][0]
    if not exists:
        con.execute(f"create table {table} as select * from {frame_name} limit 0").fetchall()
        return
    have = set(warehouse.table_columns(con, table))
    described = con.execute(f"describe select * from {frame_name}").fetchall()
    for column, dtype, *_ in described:
        if column not in have:
            con.execute(f'alter table {table} add column "{column}" {dtype}').fetchall()


def write_window(warehouse_path: str | Path, start: date, end: date, scores: pl.DataFrame, clusters: pl.DataFrame,
                 profiles: pl.DataFrame, profile_versions: str | list[str]) -> None:
    """Replace [start, end] in the score tables and these model versions' profiles, in one transaction.
    `scores` and `clusters` are inserted in their order (by as_of_date and customer_id, as _score_span
    sorts them): sorting them in DuckDB held ~1.5 GiB more on a day of 1.4 M customers."""
    if isinstance(profile_versions, str):
        profile_versions = [profile_versions]
    con = duckdb_connection.connect(warehouse_path)
    try:
        con.register("_scores", scores)
        con.register("_clusters", clusters)
        con.register("_profiles", profiles)
        _ensure_table(con, SCORES_TABLE, "_scores")
        _ensure_table(con, CLUSTERS_TABLE, "_clusters")
        _ensure_table(con, PROFILES_TABLE, "_profiles")
        con.execute("begin transaction").fetchall()
        try:
            con.execute(f"delete from {SCORES_TABLE} where as_of_date between ? and ?", [start, end]).fetchall()
            con.execute(f"insert into {SCORES_TABLE} by name select * from _scores").fetchall()
            # A version that also scored days after this window keeps the profile of its latest day, so
            # re-running an older window leaves cluster_profiles as a run over every day wrote them.
            kept = {r[0] for r in con.execute(
                f"select distinct c.model_version from {CLUSTERS_TABLE} c where c.as_of_date > ? "
                f"and list_contains(?, c.model_version) "
                f"and exists (select 1 from {PROFILES_TABLE} p where p.model_version = c.model_version)",
                [end, profile_versions]).fetchall()}
            replaced = [v for v in profile_versions if v not in kept]
            con.execute(f"delete from {CLUSTERS_TABLE} where as_of_date between ? and ?", [start, end]).fetchall()
            con.execute(f"insert into {CLUSTERS_TABLE} by name select * from _clusters").fetchall()
            con.execute(f"delete from {PROFILES_TABLE} where list_contains(?, model_version)", [replaced]).fetchall()
            con.execute(f"insert into {PROFILES_TABLE} by name select * from _profiles where list_contains(?, model_version) "
                        "order by cluster_id", [replaced]).fetchall()
            con.execute("commit").fetchall()
        except Exception:
            con.execute("rollback").fetchall()
            raise
    finally:
        con.close()


def load_champions(home, horizons=DEFAULT_HORIZONS) -> dict:
    names = [name for name, _ in score_specs(horizons)] + ["behavioral_clusters"]
    return {name: registry.load_champion(home, name) for name in names}


def served_by_day(home, days: list[date], horizons=DEFAULT_HORIZONS) -> dict[date, dict]:
    """For each day, {name: Champion | None}: what had been promoted by that day (see served_versions)."""
    names = [name for name, _ in score_specs(horizons)] + ["behavioral_clusters"]
    versions = {name: registry.list_versions(home, name) for name in names}
    champions = {name: (registry.champion_info(home, name) or {}).get("version") for name in names}
    loaded: dict[tuple[str, str], registry.Champion] = {}

    def load(name: str, version: str | None):
        if version is None:
            return None
        if (name, version) not in loaded:
            loaded[(name, version)] = registry.load_version(home, name, version)
        return loaded[(name, version)]

    return {day: {name: load(name, version) for name, version in pairs} for day, pairs in plan(versions, champions, days).items()}


def score_window(warehouse_path, home, start: date, end: date, horizons=DEFAULT_HORIZONS, reason_k: int = 3,
                 approx_reasons: bool = True, reasons: str = "all", span_rows: int = SPAN_ROWS) -> dict:
    """Score [start, end] and write it; returns counts, served versions and seconds per step.
    Reason codes are approximate (Saabas) contributions by default, the numbers of XGBoost's
    approx_contribs computed by ml.saabas (top-k only); exact TreeSHAP costs ~1 ms per row for a
    400-tree model: pass approx_reasons=False for it. A long window is read, scored and written in
    spans of whole days of at most `span_rows` snapshots (one day may exceed it), so memory does not
    grow with the window."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    spans = day_spans(start, end, warehouse.feature_rows_by_day(warehouse_path, start, end), span_rows)
    results = [_score_span(warehouse_path, home, a, b, horizons, reason_k, approx_reasons, reasons) for a, b in spans]
    if len(results) == 1:
        return results[0]
    last = results[-1]
    return {
        **last,
        "start": start.isoformat(),
        "rows": sum(r["rows"] for r in results),
        "days": sum(r["days"] for r in results),
        "version_groups": sum(r["version_groups"] for r in results),
        "spans": len(results),
        "seconds": {step: sum(r["seconds"][step] for r in results) for step in ("read", "load_models", "score", "write")},
    }


def _in_table_order(frame: pl.DataFrame, parts: int) -> pl.DataFrame:
    """By as_of_date, customer_id: one part is already (the features are read so); several parts
    (days served by different versions) are concatenated part by part."""
    return frame if parts == 1 else frame.sort("as_of_date", "customer_id", maintain_order=True)


def day_spans(start: date, end: date, rows_by_day: dict[date, int], span_rows: int) -> list[tuple[date, date]]:
    """[start, end] cut into consecutive spans covering every day (those without rows too), each
    holding at most `span_rows` rows unless a single day holds more."""
    if span_rows < 1:
        raise ValueError(f"span_rows must be >= 1, got {span_rows}")
    spans: list[tuple[date, date]] = []
    first, held = start, 0
    day = start
    while day <= end:
        rows = rows_by_day.get(day, 0)
        if held and held + rows > span_rows:
            spans.append((first, day - timedelta(days=1)))
            first, held = day, 0
        held += rows
        day += timedelta(days=1)
    spans.append((first, end))
    return spans


def _score_span(warehouse_path, home, start: date, end: date, horizons, reason_k: int, approx_reasons: bool,
                reasons: str) -> dict:
    """Score and write [start, end], read as one frame."""
    t0 = time.perf_counter()
    features = warehouse.features_between(warehouse_path, start, end)
    if features.height == 0:
        features = features.with_columns(pl.col("customer_id").cast(pl.String), pl.col("as_of_date").cast(pl.Date))
    t_read = time.perf_counter()
    days = sorted(features["as_of_date"].unique().to_list()) or [end]
    by_day = served_by_day(home, days, horizons)
    t_load = time.perf_counter()
    groups: dict[tuple, list[date]] = {}
    for day, served in by_day.items():
        groups.setdefault(tuple((n, c.version if c else None) for n, c in sorted(served.items())), []).append(day)
    score_parts, cluster_parts, profile_parts, profile_versions, timings = [], [], [], [], {}
    for group_days in groups.values():
        champions = by_day[group_days[0]]
        part = features.filter(pl.col("as_of_date").is_in(group_days)) if len(groups) > 1 else features
        scores, timings = build_scores(part, champions, horizons, reason_k, approx_reasons, reasons)
        clusters, profiles, profile_version = build_clusters(part, champions.get("behavioral_clusters"))
        score_parts.append(scores)
        cluster_parts.append(clusters)
        if profile_version not in profile_versions:
            profile_parts.append(profiles)
            profile_versions.append(profile_version)
    del features, part  # the largest frame of the span: freed before the write
    scores = _in_table_order(pl.concat(score_parts, how="diagonal_relaxed"), len(groups))
    clusters = _in_table_order(pl.concat(cluster_parts, how="diagonal_relaxed"), len(groups))
    profiles = pl.concat(profile_parts, how="diagonal_relaxed")
    champions = by_day[days[-1]]
    profile_version = profile_versions[-1]
    t_score = time.perf_counter()
    write_window(warehouse_path, start, end, scores, clusters, profiles, profile_versions)
    t_write = time.perf_counter()
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "rows": scores.height,
        "days": scores["as_of_date"].n_unique() if scores.height else 0,
        "served": {name: (None if c is None else {"version": c.version, "kind": c.kind}) for name, c in champions.items()},
        "version_groups": len(groups),
        "cluster_model_version": profile_version,
        "seconds": {"read": t_read - t0, "load_models": t_load - t_read, "score": t_score - t_load,
                    "write": t_write - t_score, "per_model": timings},
    }
