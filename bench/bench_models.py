"""Training and scoring costs of the ml layer on synthetic customer feature frames.

    .venv/bin/python bench/bench_models.py [--customers 200000] [--estimators 400] [--end-to-end]
    .venv/bin/python bench/bench_models.py --customers 1000000 --end-to-end --no-frames [--workdir DIR]

Prints fit seconds per family, scoring throughput (customers/s) per model for predictions alone and
with reason codes (approximate and exact SHAP on a sample), and peak RSS. `--end-to-end` also builds
a synthetic DuckDB warehouse of the same size (kept in --workdir for reruns) and times train_family
(building the point-in-time set from the marts, fitting, gating, MLflow logging) per family and
score_window (read, every served model, reason codes, clusters, writing the three tables) on a temp
home, each beside its issue-6 target with PASS/MISS. The machine (cores, RAM) and its load average
are printed first and last: on a shared machine the figures are only as good as the load allows.
Before them, bench/calibration.py times the issue's own reference workloads on this machine; the
training and scoring figures are also printed divided by those ratios, as an indication of what the
reference machine would measure (the targets are judged on the figures measured here).
After scoring it counts the trees the served models walk for every customer and prints the rate their
predictions alone could reach at the calibration's tree-row rate: a ceiling on scoring before any
reading, encoding, reason codes or writing.
The synthetic warehouse builder holds customers x days matrices in memory: 1 M customers x 150 days
peaked above 17 GB RSS, so use --days 100 (or fewer) at 1 M.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.calibration import (REFERENCE_PREDICT_ROWS_PER_S, REFERENCE_TREES, Calibration,  # noqa: E402
                               calibrate)
from ml.boosting import BoosterParams  # noqa: E402
from ml.clustering import BehavioralClustering  # noqa: E402
from ml.fallbacks import BGNBDValue  # noqa: E402
from ml.features import encoding_cache  # noqa: E402
from ml.lifetime_value import HurdleLifetimeValue  # noqa: E402
from ml.next_category import DEFAULT_BOOSTER as NEXT_CATEGORY_BOOSTER  # noqa: E402
from ml.next_category import NextCategoryModel  # noqa: E402
from ml.propensity import ChurnRisk, PurchasePropensity  # noqa: E402
from ml.synthetic import planted_purchase_probability, synthetic_features  # noqa: E402
from ml.uplift import TLearnerUplift  # noqa: E402


TRAINING_TARGET_S = 120.0  # issue 6: training on 1 M customers under 2 minutes (every family)
SCORING_TARGET = 500_000  # issue 6: scoring at least 500,000 customers per second


def machine() -> str:
    ram = 0.0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores, {ram:.0f} GiB RAM"


def load() -> str:
    return "load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn, rows: int | None = None):
    started = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - started
    rate = f"  {rows / seconds:>12,.0f} rows/s" if rows else ""
    print(f"  {label:<46} {seconds:8.2f} s{rate}")
    return out, seconds


def planted_frames(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    frame = synthetic_features(n, seed).drop("persona")
    p = planted_purchase_probability(frame)
    buy = rng.random(n) < p
    orders = np.where(buy, 1 + rng.poisson(frame["frequency"].to_numpy() / 10), 0).astype(float)
    revenue = orders * np.nan_to_num(frame["avg_order_value"].to_numpy(), nan=50.0)
    treated = rng.random(n) < 0.5
    sensitive = frame["discount_revenue_share"].to_numpy() > 0.6
    responded = (rng.random(n) < 0.15 + 0.3 * (sensitive & treated)).astype(float)
    top = frame["top_category"].to_numpy()
    category = np.where(rng.random(n) < 0.7, top, np.array(["garden", "toys"], dtype=object)[rng.integers(0, 2, n)])
    return frame, buy.astype(float), orders, revenue, treated, responded, category


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--estimators", type=int, default=400, help="max boosting rounds (early stopping applies)")
    parser.add_argument("--shap-sample", type=int, default=20_000)
    parser.add_argument("--end-to-end", action="store_true")
    parser.add_argument("--no-frames", action="store_true", help="skip the in-memory model part (end to end only)")
    parser.add_argument("--days", type=int, default=150, help="days of the synthetic warehouse (end to end)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the synthetic warehouse here and reuse it on the next run of the same size")
    args = parser.parse_args()
    n = args.customers
    params = BoosterParams(n_estimators=args.estimators)
    print(f"machine: {machine()}; {load()}")
    calibration = calibrate()
    print("\n".join(calibration.lines()))
    print(f"ml bench: {n:,} customers, up to {args.estimators} rounds, {params.max_depth=}")
    if not args.no_frames:
        frames_part(args, n, params)
    if args.end_to_end:
        end_to_end(n, args.days, args.workdir, calibration)
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")
    print(f"machine: {machine()}; {load()}")


def frames_part(args, n: int, params: BoosterParams) -> None:

    (data, gen_s) = timed("synthetic frames", lambda: planted_frames(n, 0))
    frame, buy, orders, revenue, treated, responded, category = data
    valid_n = max(1000, n // 5)
    (vdata, _) = timed("validation frames", lambda: planted_frames(valid_n, 1))
    vframe, vbuy, vorders, vrevenue, vtreated, vresponded, vcategory = vdata

    print("fit (seconds):")
    models = {}
    models["purchase_propensity_30d"], _ = timed(
        "purchase_propensity (1 horizon)", lambda: PurchasePropensity(30, params).fit(frame, buy, vframe, vbuy))
    buyers = frame["frequency"].to_numpy() > 0
    vbuyers = vframe["frequency"].to_numpy() > 0
    models["churn_risk"], _ = timed("churn_risk (buyers only)", lambda: ChurnRisk(90, params).fit(
        frame.filter(pl.Series(buyers)), 1 - buy[buyers], vframe.filter(pl.Series(vbuyers)), 1 - vbuy[vbuyers]))
    baseline, _ = timed("BG/NBD + Gamma-Gamma baseline", lambda: BGNBDValue().fit(frame, orders, revenue, label_days=180))
    models["customer_lifetime_value"], _ = timed("customer_lifetime_value (hurdle, 3 boosters)", lambda: HurdleLifetimeValue(
        180, 365, params).fit(frame, orders, revenue, vframe, vorders, vrevenue, horizon_scaler=baseline))
    models["discount_response"], _ = timed("discount_response (T-learner, 2 boosters)", lambda: TLearnerUplift(params).fit(
        frame, treated, responded, vframe, vtreated, vresponded))
    category_params = BoosterParams(**{**NEXT_CATEGORY_BOOSTER, "n_estimators": min(args.estimators, NEXT_CATEGORY_BOOSTER["n_estimators"])})
    models["next_category"], _ = timed("next_category (multi:softprob, 9 classes)", lambda: NextCategoryModel(
        8, category_params).fit(frame, category, vframe, vcategory))
    models["behavioral_clusters"], _ = timed("behavioral_clusters (k-means, k=3..8)", lambda: BehavioralClustering().fit(frame))

    print("scoring, predictions only (each model encodes the frame itself):")
    total = 0.0
    for name, model in models.items():
        _, seconds = timed(name, lambda m=model: m.score(frame), n)
        total += seconds
    print(f"  {'all models, one pass each':<46} {total:8.2f} s  {n / total:>12,.0f} customers/s")
    with encoding_cache():  # as score_window does: identical encoders encode the frame once
        _, cached = timed("all models, shared encoding (score_window path)",
                          lambda: [m.score(frame) for m in models.values()], n)

    sample = frame.head(min(args.shap_sample, n))
    print(f"reason codes on {sample.height:,} rows:")
    for name, model in models.items():
        if hasattr(model, "reason_codes"):
            timed(f"{name} approx contributions", lambda m=model: m.reason_codes(sample, 3, True), sample.height)
    small = sample.head(min(2000, sample.height))
    timed("purchase_propensity_30d exact TreeSHAP", lambda: models["purchase_propensity_30d"].reason_codes(small, 3, False),
          small.height)


def end_to_end(n: int, days: int, workdir: Path | None, calibration: Calibration) -> None:
    import json

    from ml import registry
    from ml.score import load_champions, score_window
    from ml.synthetic import build_synthetic_warehouse
    from ml.train import FAMILIES, train_family

    print("end to end (DuckDB warehouse + MLflow on a temp home):")
    with tempfile.TemporaryDirectory() as tmp:
        folder = workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        source, stamp = folder / f"warehouse-{n}-{days}.duckdb", folder / f"warehouse-{n}-{days}.json"
        if not (source.exists() and stamp.exists()):
            info, _ = timed(f"build synthetic warehouse ({n:,} customers, {days} days)",
                            lambda: build_synthetic_warehouse(source, n_customers=n, days=days, seed=0))
            stamp.write_text(json.dumps({"end": info["end"].isoformat()}))
        end = date.fromisoformat(json.loads(stamp.read_text())["end"])
        home = Path(tmp) / "home"
        path = home / "warehouse.duckdb"
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, path)
        timed("ensure_tracking", lambda: registry.ensure_tracking(home))
        print(f"  training as of {end} (each: point-in-time set from the marts, fit, gate, MLflow):")
        total = 0.0
        for family in FAMILIES:
            result, seconds = timed(f"train_family {family}", lambda f=family: train_family(f, path, home, end))
            total += seconds
            for row in result["models"]:
                print(f"      {row['model_name']}: serve={row['serve']} promoted={row['promoted']} {row['key_metrics']}")
        print(f"  training, every family: {total:.1f} s  (target < {TRAINING_TARGET_S:.0f} s at 1 M customers) "
              f"{verdict(total < TRAINING_TARGET_S) if n >= 1_000_000 else 'n/a below 1 M customers'}")
        print(f"      / XGBoost fit ratio x{calibration.fit_ratio:.1f} = {total / calibration.fit_ratio:.1f} s "
              "on the reference machine (indicative)")
        score_window(path, home, end, end)  # first call compiles the reason-code walk (cached on disk)
        for mode in ("all", "none"):
            summary, seconds = timed(f"score_window, 1 day, reasons={mode}",
                                     lambda m=mode: score_window(path, home, end, end, reasons=m))
            steps = ", ".join(f"{k}={v:.2f}s" for k, v in summary["seconds"].items() if k != "per_model")
            per_model = ", ".join(f"{k}={v:.2f}s" for k, v in summary["seconds"]["per_model"].items())
            rate = summary["rows"] / seconds
            print(f"      {summary['rows']:,} customers, {rate:,.0f} customers/s (target >= {SCORING_TARGET:,}) "
                  f"{verdict(rate >= SCORING_TARGET)}; x predict ratio {calibration.predict_ratio:.1f} = "
                  f"{rate * calibration.predict_ratio:,.0f} customers/s on the reference machine (indicative)")
            print(f"      steps: {steps}")
            print(f"      per model (predictions + reason codes): {per_model}")
        print_prediction_ceiling(served_trees(load_champions(home)), calibration)


def served_trees(champions: dict) -> dict[str, int]:
    """Trees each served model walks for every customer: every XGBoost booster it holds, also inside
    its dicts, lists and ml objects (e.g. the arms of an uplift learner)."""
    import xgboost as xgb

    def boosters(value, depth: int = 0) -> list:
        if isinstance(value, xgb.Booster):
            return [value]
        if depth > 3:
            return []
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, (list, tuple)):
            children = list(value)
        elif type(value).__module__.startswith("ml.") and hasattr(value, "__dict__"):
            children = list(vars(value).values())
        else:
            return []
        return [b for child in children for b in boosters(child, depth + 1)]

    counts = {name: sum(len(b.get_dump()) for b in boosters(c.estimator)) for name, c in champions.items() if c}
    return {name: trees for name, trees in counts.items() if trees}


def print_prediction_ceiling(trees: dict[str, int], calibration: Calibration) -> None:
    """Why the scoring target is out of reach: the trees served bound the rate before any other cost."""
    total = sum(trees.values())
    if not total:
        return
    here = calibration.prediction_ceiling(total)
    reference = REFERENCE_PREDICT_ROWS_PER_S * REFERENCE_TREES / total
    print(f"      served boosters: {total:,} trees ({', '.join(f'{n} {t}' for n, t in trees.items())}); "
          f"their predictions alone, at the calibration's tree-row rate: at most {here:,.0f} customers/s here, "
          f"{reference:,.0f} on the reference machine; {SCORING_TARGET:,}/s there allows "
          f"{REFERENCE_PREDICT_ROWS_PER_S * REFERENCE_TREES / SCORING_TARGET:,.0f} trees in all")


if __name__ == "__main__":
    main()
