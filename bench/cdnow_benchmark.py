"""CDNOW benchmark: BG/NBD (published vs this fit), an RFM heuristic and XGBoost on the same split.

Split (Fader, Hardie & Lee 2005): calibration weeks 1-39 = 1997-01-01 .. 1997-09-30, holdout
weeks 40-78 = 1997-10-01 .. 1998-06-30. Target: repeat transactions (distinct purchase days) per
customer in the holdout, and whether there is at least one.

Models and what they see:
- BG/NBD: fitted on the calibration summary; holdout forecast = E[Y(39) | x, t_x, T]; the
  any-purchase score is P(Y(39) > 0 | x, t_x, T) (closed form, see BGNBD.prob_any_purchase).
- RFM rank score: (R + F + M) / 15 from calibration-period quintiles; no fitting, so it gives a
  ranking but no count.
- RFM isotonic and XGBoost (two feature sets, see the notes printed with the table): trained on
  an inner time split of the calibration period only - features as of week 26 (1997-07-01),
  labels = repeat purchase days in weeks 27-39 (13 weeks) - then applied to features as of week
  39 to forecast weeks 40-78 (39 weeks). The holdout is never used for training or
  hyper-parameters (the XGBoost rate-feature variant was, however, added after seeing the raw
  variant's holdout result; the printed notes say so). The label horizon triples; it is bridged
  by assuming a customer's weekly purchase rate is the same in the 39 forecast weeks as in the 13
  training weeks: RFM counts are multiplied by 3, the XGBoost Poisson model gets log(13 weeks) as
  exposure offset (base_margin) in training and log(39) when forecasting. That ignores the decay
  of a cohort's purchase rate over time (customers drop out), so these counts are expected to
  over-forecast; ranking metrics (correlation, AUC) do not depend on the scaling. The any-purchase
  probabilities of RFM isotonic and the XGBoost classifier are for a 13-week window: used for AUC
  only.

Run: .venv/bin/python bench/cdnow_benchmark.py [--data DIR or CDNOW_sample.txt] [--out PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import polars as pl
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from ml.baselines import BGNBD, RFMExpectedCount, RFMPropensity, rfm_propensity, rfm_summary
from ml.baselines import cdnow

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "tests" / "fixtures" / "cdnow"
INNER_CUTOFF_WEEK = 26
INNER_LABEL_WEEKS = 39 - INNER_CUTOFF_WEEK
WEEKLY_COUNT_WEEKS = 8
SEED = 20050101
WEEK_COLS = [f"w{k}" for k in range(WEEKLY_COUNT_WEEKS)]
# The features the brief names. Counts accumulate with customer age, so at week 39 every customer
# looks more active than at week 26 and a tree model trained at week 26 over-forecasts.
XGB_FEATURES_RAW = ["frequency", "recency", "T", "monetary_value", "weeks_since_last"] + WEEK_COLS
# Age-invariant variant: rates and shares instead of cumulative counts, no T. Added after the raw
# variant's holdout result showed the drift; nothing else was changed or tuned on the holdout.
XGB_FEATURES_RATE = [
    "repeat_rate", "recency_share", "weeks_since_last", "monetary_value"
] + WEEK_COLS


# -- features ----------------------------------------------------------------------------------


def weekly_counts(transactions: pl.DataFrame, cutoff: dt.date, n_weeks: int) -> pl.DataFrame:
    """Purchase days per customer in each of the ``n_weeks`` weeks ending on ``cutoff``.

    Column w0 is the week ending on the cutoff day, w1 the week before, and so on.
    """
    start = cutoff - dt.timedelta(days=7 * n_weeks)
    days = (
        transactions.select("customer_id", "date")
        .unique()
        .filter((pl.col("date") > start) & (pl.col("date") <= cutoff))
        .with_columns(((pl.lit(cutoff) - pl.col("date")).dt.total_days() // 7).alias("week_back"))
    )
    return days.group_by("customer_id").agg(
        [(pl.col("week_back") == k).sum().cast(pl.Int64).alias(f"w{k}") for k in range(n_weeks)]
    )


def features_as_of(transactions: pl.DataFrame, cutoff: dt.date, label_end: dt.date):
    """Features as of ``cutoff``; label = repeat purchase days in (cutoff, label_end]."""
    summary = rfm_summary(transactions, cutoff, "W", observation_end=label_end)
    # RFM inputs use every calibration purchase day, the first one included.
    spend = (
        transactions.filter(pl.col("date") <= cutoff)
        .group_by("customer_id", "date")
        .agg(pl.col("amount").sum())
        .group_by("customer_id")
        .agg(pl.col("amount").mean().alias("mean_spend_all"))
    )
    counts = weekly_counts(transactions, cutoff, WEEKLY_COUNT_WEEKS)
    frame = (
        summary.join(spend, on="customer_id", how="left")
        .join(counts, on="customer_id", how="left")
        .with_columns(pl.col(WEEK_COLS).fill_null(0))
        .with_columns(
            (pl.col("T") - pl.col("recency")).alias("weeks_since_last"),
            pl.when(pl.col("T") > 0)
            .then(pl.col("frequency") / pl.col("T"))
            .alias("repeat_rate"),
            pl.when(pl.col("T") > 0).then(pl.col("recency") / pl.col("T")).alias("recency_share"),
        )
        .sort("customer_id")
    )
    return frame


def rfm_inputs(frame: pl.DataFrame) -> np.ndarray:
    """recency_days, purchase days, mean spend per purchase day (all calibration purchases)."""
    return np.column_stack(
        [
            (frame["weeks_since_last"] * 7).to_numpy(),
            (frame["frequency"] + 1).to_numpy().astype(float),
            frame["mean_spend_all"].to_numpy(),
        ]
    )


# -- XGBoost ---------------------------------------------------------------------------------


def _xgb_params(objective: str) -> dict:
    return dict(
        objective=objective,
        tree_method="hist",
        learning_rate=0.03,
        max_depth=3,
        min_child_weight=5,
        subsample=0.8,
        colsample_bytree=0.8,
        reg_lambda=1.0,
        n_jobs=4,
        random_state=SEED,
    )


def _fit_with_early_stopping(model_cls, objective, X, y, margin):
    """Choose the number of trees on a random 20 % of the training customers, then refit on all."""
    rng = np.random.default_rng(SEED)
    valid = rng.random(len(y)) < 0.2
    probe = model_cls(n_estimators=2000, early_stopping_rounds=50, **_xgb_params(objective))
    fit_kw = {}
    if margin is not None:
        fit_kw = dict(base_margin=margin[~valid], base_margin_eval_set=[margin[valid]])
    probe.fit(X[~valid], y[~valid], eval_set=[(X[valid], y[valid])], verbose=False, **fit_kw)
    n_trees = probe.best_iteration + 1
    final = model_cls(n_estimators=n_trees, **_xgb_params(objective))
    final.fit(X, y, **({} if margin is None else dict(base_margin=margin)))
    return final, n_trees


# -- metrics ---------------------------------------------------------------------------------


def count_metrics(pred: np.ndarray, actual: np.ndarray, calib_total: float) -> dict:
    cumulative_actual = calib_total + actual.sum()
    cumulative_pred = calib_total + pred.sum()
    return {
        "corr": float(np.corrcoef(pred, actual)[0, 1]),
        "holdout_total": f"{pred.sum():,.0f} vs {actual.sum():,.0f} "
        f"({(pred.sum() / actual.sum() - 1) * 100:+.1f} %)",
        "cum78": f"{cumulative_pred:,.0f} vs {cumulative_actual:,.0f} "
        f"({(cumulative_pred / cumulative_actual - 1) * 100:+.1f} %)",
        "rmse": float(np.sqrt(np.mean((pred - actual) ** 2))),
        "mae": float(np.mean(np.abs(pred - actual))),
        "auc_count": float(roc_auc_score(actual > 0, pred)),
    }


def xgboost_metrics(train, test, features, y_train, actual, calib_total, holdout_weeks) -> dict:
    X_train = train.select(features).to_numpy().astype(float)
    X_test = test.select(features).to_numpy().astype(float)
    train_margin = np.full(len(y_train), np.log(INNER_LABEL_WEEKS))
    count_model, n_count = _fit_with_early_stopping(
        xgb.XGBRegressor, "count:poisson", X_train, y_train, train_margin
    )
    pred = count_model.predict(X_test, base_margin=np.full(len(X_test), np.log(holdout_weeks)))
    clf, n_clf = _fit_with_early_stopping(
        xgb.XGBClassifier, "binary:logistic", X_train, (y_train > 0).astype(int), None
    )
    prob13 = clf.predict_proba(X_test)[:, 1]
    metrics = count_metrics(pred, actual, calib_total)
    metrics["auc"] = float(roc_auc_score(actual > 0, prob13))
    prob39 = 1.0 - np.exp(-pred)  # P(>=1) if purchases given the forecast were Poisson
    metrics["brier"] = float(np.mean((prob39 - (actual > 0)) ** 2))
    metrics["trees"] = f"{n_count} / {n_clf}"
    return metrics


def fmt(value, digits=3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    return f"{value:.{digits}f}"


# -- main ------------------------------------------------------------------------------------


def run(data_dir: Path) -> str:
    transactions = cdnow.load_transactions(data_dir / "CDNOW_sample.txt")
    inner_cutoff = cdnow.week_end(INNER_CUTOFF_WEEK)
    test = features_as_of(transactions, cdnow.CALIBRATION_END, cdnow.OBSERVATION_END)
    train = features_as_of(transactions, inner_cutoff, cdnow.CALIBRATION_END)
    if test.height != train.height:
        raise RuntimeError("customers acquired after the inner cutoff: the split assumes none")
    actual = test["frequency_holdout"].to_numpy().astype(float)
    any_purchase = actual > 0
    calib_total = float(test["frequency"].sum())
    holdout_weeks = float(test["duration_holdout"][0])
    x, t_x, big_t = (test[c].to_numpy() for c in ("frequency", "recency", "T"))

    # BG/NBD
    bg = BGNBD().fit(x, t_x, big_t)
    bg_pred = bg.expected_purchases(holdout_weeks, x, t_x, big_t)
    bg_prob = bg.prob_any_purchase(holdout_weeks, x, t_x, big_t)
    bg_m = count_metrics(bg_pred, actual, calib_total)
    tracking = bg.expected_purchases_new(big_t + holdout_weeks).sum()
    tracking_actual = calib_total + actual.sum()
    tracking_error = (tracking / tracking_actual - 1) * 100
    bg_m["tracking"] = f"{tracking:,.0f} vs {tracking_actual:,.0f} ({tracking_error:+.1f} %)"
    bg_m["auc"] = float(roc_auc_score(any_purchase, bg_prob))
    bg_m["brier"] = float(np.mean((bg_prob - any_purchase) ** 2))

    # RFM: rank score (no fitting) and isotonic calibration on the inner split
    X_rfm_test, X_rfm_train = rfm_inputs(test), rfm_inputs(train)
    y_train = train["frequency_holdout"].to_numpy().astype(float)
    rank_score = rfm_propensity(*X_rfm_test.T)
    rank_m = {
        "corr": float(np.corrcoef(rank_score, actual)[0, 1]),
        "auc": float(roc_auc_score(any_purchase, rank_score)),
    }
    horizon_ratio = holdout_weeks / INNER_LABEL_WEEKS
    rfm_prop = RFMPropensity().fit(X_rfm_train, y_train > 0).predict_proba(X_rfm_test)[:, 1]
    rfm_count = RFMExpectedCount().fit(X_rfm_train, y_train).predict(X_rfm_test) * horizon_ratio
    iso_m = count_metrics(rfm_count, actual, calib_total)
    iso_m["auc"] = float(roc_auc_score(any_purchase, rfm_prop))

    # XGBoost, two feature sets: Poisson count model with exposure offset + any-purchase classifier
    xr, xa = (
        xgboost_metrics(train, test, features, y_train, actual, calib_total, holdout_weeks)
        for features in (XGB_FEATURES_RAW, XGB_FEATURES_RATE)
    )

    p = bg.params_
    pub = cdnow.PUBLISHED_BGNBD
    fitted = [iso_m, xr, xa]  # models with a count forecast, after the two BG/NBD columns

    def row(label, published, bg_cell, rank_cell, key, digits=3, suffix=("", "", "")):
        missing = "" if key == "trees" else "n/a"
        cells = [
            fmt(m[key], digits) + sfx if key in m else missing for m, sfx in zip(fitted, suffix)
        ]
        return (label, published, bg_cell, rank_cell, *cells)

    blank = ("", "", "", "")
    rows = [
        ("BG/NBD r", fmt(pub["r"]), fmt(p["r"]), *blank),
        ("BG/NBD alpha", fmt(pub["alpha"]), fmt(p["alpha"]), *blank),
        ("BG/NBD a", fmt(pub["a"]), fmt(p["a"]), *blank),
        ("BG/NBD b", fmt(pub["b"]), fmt(p["b"]), *blank),
        ("BG/NBD log-likelihood", fmt(cdnow.PUBLISHED_BGNBD_LL, 1), fmt(bg.log_likelihood_, 1),
         *blank),
        row("corr(predicted, actual) holdout repeat transactions per customer",
            fmt(cdnow.PUBLISHED_HOLDOUT_CORRELATION), fmt(bg_m["corr"]),
            fmt(rank_m["corr"]) + " (score)", "corr"),
        row("holdout (weeks 40-78) repeat transactions, predicted vs actual", "n/a",
            bg_m["holdout_total"], "n/a", "holdout_total"),
        row("cumulative repeat transactions at week 78 (calibration actual + predicted holdout)",
            "n/a", bg_m["cum78"], "n/a", "cum78"),
        ("cumulative repeat transactions at week 78, unconditional tracking forecast",
         f"about {cdnow.PUBLISHED_WEEK78_CUMULATIVE_ERROR * 100:+.0f} %", bg_m["tracking"],
         *blank),
        row("AUC any holdout purchase (probability score)", "n/a",
            fmt(bg_m["auc"]) + " (P(Y>0), 39 wk)", fmt(rank_m["auc"]) + " (score)", "auc",
            suffix=(" (P, 13 wk)", " (classifier, 13 wk)", " (classifier, 13 wk)")),
        row("AUC any holdout purchase (expected count as score)", "n/a", fmt(bg_m["auc_count"]),
            "n/a", "auc_count"),
        row("Brier score, P(any purchase in weeks 40-78)", "n/a", fmt(bg_m["brier"], 4), "n/a",
            "brier", 4, suffix=("", " (1-exp(-count))", " (1-exp(-count))")),
        row("RMSE per customer", "n/a", fmt(bg_m["rmse"]), "n/a", "rmse"),
        row("MAE per customer", "n/a", fmt(bg_m["mae"]), "n/a", "mae"),
        row("XGBoost trees (count / classifier)", "", "", "", "trees"),
    ]
    header = (
        "Metric",
        "BG/NBD published (FHL 2005)",
        "BG/NBD this fit",
        "RFM rank score",
        "RFM isotonic (inner split)",
        "XGBoost raw features (inner split)",
        "XGBoost rate features (inner split)",
    )
    lines = [
        f"CDNOW benchmark: {test.height:,} customers, calibration weeks 1-39 "
        f"(to {cdnow.CALIBRATION_END}), holdout weeks 40-78 (to {cdnow.OBSERVATION_END}); "
        f"{calib_total:,.0f} calibration and {actual.sum():,.0f} holdout repeat transactions, "
        f"{any_purchase.mean() * 100:.1f} % of customers buy in the holdout.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += [
        "",
        "Notes:",
        "- BG/NBD this fit: maximum likelihood on rfm_summary of CDNOW_sample.txt (weeks); "
        "forecast E[Y(39) | x, t_x, T], probability P(Y(39) > 0 | x, t_x, T).",
        f"- RFM isotonic and both XGBoost models are trained on features as of week "
        f"{INNER_CUTOFF_WEEK} ({inner_cutoff}) with labels from weeks {INNER_CUTOFF_WEEK + 1}-39 "
        "only, then applied to week-39 features: the holdout is never used for training or "
        "hyper-parameters (but see the note on the rate variant). Counts are scaled from 13 to "
        "39 weeks assuming a constant weekly rate (RFM: x3; XGBoost: Poisson exposure offset "
        "log(weeks)), which ignores cohort decay.",
        "- XGBoost: hist, depth 3, learning rate 0.03, trees chosen by early stopping on a random "
        "20 % of the training customers, then refitted on all. Raw features (as the brief names "
        f"them): {', '.join(XGB_FEATURES_RAW)}. Rate features: "
        f"{', '.join(XGB_FEATURES_RATE)}. w0..w{WEEKLY_COUNT_WEEKS - 1} = purchase days in each "
        "of the last weeks before the cutoff; repeat_rate = frequency / T; recency_share = "
        "recency / T. The rate variant was added after seeing the raw variant over-forecast the "
        "holdout (cumulative counts drift with customer age between the week-26 training snapshot "
        "and the week-39 scoring snapshot); it was not tuned further.",
        "- RFM inputs: days since last purchase, purchase days, mean spend per purchase day; the "
        "rank score (R + F + M) / 15 has no count forecast, its correlation is that of the score.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder holding CDNOW_sample.txt (default: tests/fixtures/cdnow)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    data_dir = args.data.parent if args.data.is_file() else args.data
    if not (data_dir / "CDNOW_sample.txt").exists():
        parser.error(f"{data_dir / 'CDNOW_sample.txt'} not found")
    report = run(data_dir)
    print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
