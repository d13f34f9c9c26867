"""Feature and score drift (population stability index) against the served champions' training data."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np

from ml.drift import drift_level, population_stability_index
from ml.score import score_specs


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
