"""Data-quality checks as plain functions over the warehouse and the model registry's rows. Used by
Dagster asset checks (thin wrappers); blocking ones stop segments, exports and the serving copy from
building on bad data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np

from ml.drift import drift_level, population_stability_index
from ml.score import NULL_WHEN_BASELINE, score_specs
from ml.train import merge_config

PROBABILITIES = ("p_purchase_7d", "p_purchase_30d", "p_purchase_90d", "p_churn")
NON_NEGATIVE = ("expected_orders_365d", "expected_value_365d")
BUYERS_ONLY = ("p_churn",)  # ml.propensity.churn_rows: only existing buyers can churn


def served_output_columns() -> dict[str, str]:
    """Score column -> the column naming the model version that filled it (null when nothing served).
    Models in ml.score.NULL_WHEN_BASELINE are left out: their served baseline writes NULL on purpose, and
    the table does not say whether a version is a baseline."""
    return {output: f"{name}_version" for name, outputs in score_specs() for output in outputs
            if name not in NULL_WHEN_BASELINE}


def score_violations(con: duckdb.DuckDBPyConnection, first: date, last: date) -> dict[str, int]:
    """Rows of marts.customer_scores in [first, last] that break a range, per rule (0 everywhere = pass)."""
    columns = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' and table_name = 'customer_scores'"
    ).fetchall()}
    rules = {"null_customer_id": "customer_id is null", "null_as_of_date": "as_of_date is null"}
    for column in PROBABILITIES:
        if column in columns:
            rules[f"{column}_outside_0_1"] = f'"{column}" < 0 or "{column}" > 1 or isnan("{column}")'
    for column in NON_NEGATIVE:
        if column in columns:
            rules[f"{column}_negative"] = f'"{column}" < 0 or isnan("{column}")'
    if "discount_uplift" in columns:
        rules["discount_uplift_outside_-1_1"] = '"discount_uplift" < -1 or "discount_uplift" > 1'
    rules.update(_null_while_served_rules(con, columns))
    selects = ", ".join(f"count(*) filter (where {condition})" for condition in rules.values())
    counts = con.execute(
        f"select {selects} from marts.customer_scores s where as_of_date between ? and ?", [first, last]
    ).fetchall()[0]
    return dict(zip(rules, (int(c) for c in counts)))


def _null_while_served_rules(con: duckdb.DuckDBPyConnection, columns: set[str]) -> dict[str, str]:
    """A score left empty although its model served the day (p_churn: only for buyers, who can churn)."""
    buyers_known = con.execute(
        "select count(*) from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'customer_features' and column_name = 'frequency'").fetchone()[0] > 0
    rules = {}
    for output, version_column in served_output_columns().items():
        if output not in columns or version_column not in columns:
            continue
        condition = f'"{version_column}" is not null and "{output}" is null'
        if output in BUYERS_ONLY:
            if not buyers_known:
                continue
            condition += (" and exists (select 1 from marts.customer_features f where f.customer_id = s.customer_id "
                          "and f.as_of_date = s.as_of_date and f.frequency > 0)")
        rules[f"{output}_null_while_served"] = condition
    return rules


def describe_violations(broken: dict[str, int], first: date, last: date) -> str | None:
    """One line for the UI: which rules broke, on how many rows (None when nothing broke)."""
    if not broken:
        return None
    rules = ", ".join(f"{rule}: {n} row(s)" for rule, n in sorted(broken.items()))
    return f"scores for {first}..{last} break {len(broken)} rule(s), so nothing downstream is published: {rules}"


def duplicate_score_keys(con: duckdb.DuckDBPyConnection, first: date, last: date) -> int:
    return int(con.execute(
        "select count(*) from (select customer_id, as_of_date from marts.customer_scores "
        "where as_of_date between ? and ? group by all having count(*) > 1)", [first, last]
    ).fetchall()[0][0])


# ---- segment size shifts -------------------------------------------------------------------------

@dataclass(frozen=True)
class SegmentShift:
    as_of_date: date
    segment: str
    size: int
    previous_size: int
    size_change: float | None  # relative; None when the segment grew from zero

    def as_dict(self) -> dict:
        return {"day": self.as_of_date.isoformat(), "segment": self.segment, "size": self.size,
                "previous_size": self.previous_size,
                "size_change": None if self.size_change is None else round(self.size_change, 4)}


@dataclass(frozen=True)
class ShiftVerdict:
    outcome: str  # pass | warn | fail
    reasons: list[str]
    shifts: list[SegmentShift]


def segment_history_days(con: duckdb.DuckDBPyConnection, before: date) -> int:
    """Days of segment_summary before `before`: how much baseline the size check has."""
    return int(con.execute("select count(distinct as_of_date) from marts.segment_summary where as_of_date < ?",
                           [before]).fetchone()[0])


def segment_shifts(con: duckdb.DuckDBPyConnection, first: date, last: date,
                   min_size: int) -> tuple[list[SegmentShift], dict[date, int]]:
    """Flagged rows of marts.segment_summary in [first, last], and per day how many segments were big
    enough to be flagged (at least `min_size` members on that day or the day before)."""
    flagged = con.execute(
        "select as_of_date, segment, size, previous_size, size_change from marts.segment_summary "
        "where as_of_date between ? and ? and size_change_flag order by as_of_date, segment", [first, last]).fetchall()
    eligible = con.execute(
        "select as_of_date, count(*) from marts.segment_summary where as_of_date between ? and ? "
        "and previous_size is not null and greatest(size, previous_size) >= ? group by 1", [first, last, min_size]).fetchall()
    return [SegmentShift(*row) for row in flagged], {day: int(n) for day, n in eligible}


def judge_segment_shifts(shifts: list[SegmentShift], eligible_by_day: dict[date, int], last: date, *,
                         min_size: int, mass_shift_share: float = 0.5, min_segments: int = 4,
                         history_days: int | None = None, min_history_days: int = 7) -> ShiftVerdict:
    """Blocking (fail) only on the window's last day, the one being published, when the inputs look
    broken: a segment of at least `min_size` members dropped to zero, or more than `mass_shift_share`
    of the segments big enough to be flagged (and at least `min_segments` of them) moved at once.
    Any other flagged move, and every move on an earlier day of a backfill, is a warning. So is every
    move of a shop with fewer than `min_history_days` days of segments before `last`: in its first days
    segments fill up from nothing and move together by nature (a new shop would never publish)."""
    today = [s for s in shifts if s.as_of_date == last]
    reasons = [f"{s.segment} dropped from {s.previous_size} members to 0 on {last}"
               for s in today if s.size == 0 and s.previous_size >= min_size]
    eligible = eligible_by_day.get(last, 0)
    if eligible >= min_segments and len(today) > mass_shift_share * eligible:
        reasons.append(f"{len(today)} of {eligible} segments moved beyond the threshold at once on {last} "
                       f"(more than {mass_shift_share:.0%}): inputs look broken")
    if reasons and history_days is not None and history_days < min_history_days:
        return ShiftVerdict("warn", [f"{r} (not blocking: only {history_days} day(s) of segments before it, "
                                     f"fewer than {min_history_days})" for r in reasons], shifts)
    if reasons:
        return ShiftVerdict("fail", reasons, shifts)
    if shifts:
        days = sorted({s.as_of_date for s in shifts})
        return ShiftVerdict("warn", [f"{len(shifts)} segment-day(s) moved beyond the threshold on "
                                     f"{len(days)} day(s), latest {days[-1]}"], shifts)
    return ShiftVerdict("pass", [], shifts)


# ---- served models against their gate ------------------------------------------------------------

@dataclass(frozen=True)
class Gate:
    metric: str
    higher_is_better: bool = True
    min_gain_over_baseline: float = 0.0
    threshold: float | None = None  # absolute bar instead of a baseline (clustering)


def gate_for(family: str, config: dict | None = None) -> Gate:
    """The promotion gate ml/train.py applies to `family` (same config keys)."""
    merged = merge_config(config)
    metric, higher = merged["gate_metric"][family]
    threshold = merged["behavioral_clusters"]["silhouette_threshold"] if family == "behavioral_clusters" else None
    return Gate(metric, bool(higher), float(merged["min_gain_over_baseline"]),
                None if threshold is None else float(threshold))


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def served_model_gate(champion: dict | None, gate: Gate) -> tuple[str, str]:
    """(outcome, reason) for the version holding the champion alias, from its registry row
    (ml.registry.list_versions): pass when it is a model whose test metric clears the gate, warn when
    a baseline is served (a model lost or the shop is too small), fail when nothing is served or the
    served model does not clear its gate (e.g. rolled back to a version the gate refused)."""
    if champion is None:
        return "fail", "no champion: nothing is served"
    name, version = champion.get("name"), champion.get("version")
    if champion.get("serve") == "baseline":
        return "warn", f"{name} v{version} is the baseline: {champion.get('gate_reason') or 'no reason recorded'}"
    metrics = champion.get("metrics") or {}
    value = _finite(metrics.get(f"test_{gate.metric}"))
    if value is None:
        return "fail", f"{name} v{version} has no finite test_{gate.metric} to hold against its gate"
    sign = 1 if gate.higher_is_better else -1
    if gate.threshold is not None:
        if sign * (value - gate.threshold) <= 0:
            return "fail", f"{name} v{version} {gate.metric}={value:.4f} does not clear the threshold {gate.threshold}"
        return "pass", f"{name} v{version} {gate.metric}={value:.4f} clears the threshold {gate.threshold}"
    baseline = _finite(metrics.get(f"baseline_{gate.metric}"))
    if baseline is None:
        if champion.get("gate") != "promoted":
            return "fail", f"{name} v{version} was not promoted by its gate ({champion.get('gate_reason')})"
        return "pass", f"{name} v{version} {gate.metric}={value:.4f} was promoted without a baseline to beat"
    # the uplift gate also asks to beat the baseline by more than the metric's own noise
    margin = max(gate.min_gain_over_baseline, _finite(metrics.get(f"test_{gate.metric}_noise_95")) or 0.0)
    if sign * (value - baseline) <= margin:
        return "fail", (f"{name} v{version} {gate.metric}={value:.4f} does not beat its baseline {baseline:.4f}"
                        + (f" by more than {margin:.4g}" if margin else ""))
    return "pass", f"{name} v{version} {gate.metric}={value:.4f} beats its baseline {baseline:.4f}"


# ---- drift against the served champion's training data -------------------------------------------

def nearest_day_on_or_before(con: duckdb.DuckDBPyConnection, table: str, day: date) -> date | None:
    return con.execute(f"select max(as_of_date) from {table} where as_of_date <= ?", [day]).fetchone()[0]


def numeric_columns(con: duckdb.DuckDBPyConnection, table: str, exclude: tuple[str, ...] = ()) -> list[str]:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, name]).fetchall()
    numeric = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "UBIGINT", "UINTEGER")
    return [c for c, t in rows if t.split("(")[0] in numeric and c not in exclude and not c.endswith("_decile")]


def psi_by_column(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], reference_day: date,
                  current_day: date, bins: int = 10) -> dict[str, float]:
    """PSI of each column on `current_day` against `reference_day` (columns empty on both days are skipped)."""
    if not columns:
        return {}
    select = ", ".join(f'"{c}"::DOUBLE' for c in columns)
    reference = con.execute(f"select {select} from {table} where as_of_date = ?", [reference_day]).fetchnumpy()
    current = con.execute(f"select {select} from {table} where as_of_date = ?", [current_day]).fetchnumpy()
    out = {}
    for key, column in zip(reference, columns):
        expected, actual = _filled(reference[key]), _filled(current[key])
        if expected.size == 0 or actual.size == 0 or (np.isnan(expected).all() and np.isnan(actual).all()):
            continue
        out[column] = round(population_stability_index(expected, actual, bins), 4)
    return out


def _filled(values) -> np.ndarray:
    """fetchnumpy gives masked arrays for columns with nulls: nulls become NaN (the missing bin)."""
    return np.ma.filled(np.ma.asarray(values, dtype=np.float64), np.nan)


FEATURES_REFERENCE_MODEL = "purchase_propensity_30d"  # the model most segment rules lean on
NOT_FEATURES = ("customer_id", "as_of_date")
# Lifetime counts and ages rise for every customer as days pass: their PSI against any earlier day
# measures time, not a change in the shop, and would keep the check red on every young shop.
GROWS_WITH_TIME = ("tenure_days", "days_since_last_seen", "recency_days", "frequency", "monetary",
                   "emails_received", "pushes_received", "age")


def drift_feature_columns(columns: list[str]) -> list[str]:
    """Feature columns whose distribution is comparable across days (windowed counts, rates, shares)."""
    return [c for c in columns if c not in GROWS_WITH_TIME and not c.endswith("_total")]


def champion_cutoffs(versions: list[dict]) -> dict[str, date]:
    """Registered model -> training cutoff (as_of_date) of the version holding the champion alias."""
    out = {}
    for row in versions:
        if "champion" in (row.get("aliases") or []) and row.get("as_of_date"):
            out[row["name"]] = date.fromisoformat(str(row["as_of_date"])[:10])
    return out


def drift_against_training(con: duckdb.DuckDBPyConnection, cutoffs: dict[str, date], day: date,
                           bins: int = 10) -> dict:
    """PSI of `day`'s features and scores against the point-in-time rows at the served champions'
    training cutoffs: features against the cutoff of FEATURES_REFERENCE_MODEL (or the latest cutoff),
    each score column against the cutoff of the model that fills it."""
    report: dict = {"day": day.isoformat(), "features": {}, "scores": {}, "reference_days": {}}
    if not cutoffs:
        return report
    feature_cutoff = cutoffs.get(FEATURES_REFERENCE_MODEL) or max(cutoffs.values())
    reference = nearest_day_on_or_before(con, "marts.customer_features", feature_cutoff)
    if reference is not None:
        columns = drift_feature_columns(numeric_columns(con, "marts.customer_features", NOT_FEATURES))
        report["features"] = psi_by_column(con, "marts.customer_features", columns, reference, day, bins)
        report["reference_days"]["features"] = reference.isoformat()
    score_columns = set(numeric_columns(con, "marts.customer_scores", NOT_FEATURES))
    for name, outputs in score_specs():
        reference = nearest_day_on_or_before(con, "marts.customer_scores", cutoffs[name]) if name in cutoffs else None
        wanted = [c for c in outputs if c in score_columns]
        if reference is None or not wanted:
            continue
        report["scores"].update(psi_by_column(con, "marts.customer_scores", wanted, reference, day, bins))
        report["reference_days"][name] = reference.isoformat()
    return report


def drift_verdict(report: dict) -> tuple[str, dict[str, float], dict[str, float]]:
    """(outcome, columns at or above FAIL_PSI, columns in the warning band) over features and scores."""
    psi = {**{f"feature:{c}": v for c, v in report["features"].items()},
           **{f"score:{c}": v for c, v in report["scores"].items()}}
    failing = {c: v for c, v in psi.items() if drift_level(v) == "fail"}
    warning = {c: v for c, v in psi.items() if drift_level(v) == "warn"}
    return ("fail" if failing else "warn" if warning else "pass"), failing, warning
