"""Model quality against the synthetic shop's ground truth, as a Markdown report.

    .venv/bin/python bench/quality_vs_truth.py [--customers 2000 --days 120 --seed 42] [--keep]
    .venv/bin/python bench/quality_vs_truth.py --home PATH     # a home already generated and run

Without --home, builds a temporary home through the real CLI (`segments generate` then
`segments run --all`: dbt, training at the cadence's cutoffs, scoring) and evaluates what it served:
(a) clusters vs planted personas on the last day, (b) served purchase propensity vs the true
probability, (c) served discount uplift vs the true sensitivity / uplift, (d) cluster changes after
persona switches, plus the discount_response gate outcomes from the registry.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ml import registry, truth_eval, warehouse  # noqa: E402

SEGMENTS = REPO / ".venv" / "bin" / "segments"


def build_home(home: Path, customers: int, days: int, seed: int) -> float:
    env = {**os.environ, "SEGMENTS_HOME": str(home)}
    started = time.perf_counter()
    for args in (["generate", "--customers", str(customers), "--days", str(days), "--seed", str(seed)], ["run", "--all"]):
        done = subprocess.run([str(SEGMENTS), *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"segments {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def read_table(path: Path, sql: str) -> pl.DataFrame:
    with warehouse.read_only(path) as con:
        return warehouse.query(con, sql)


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.{digits}f}"
    return str(value)


def section_clusters(wh: Path, truth: truth_eval.GroundTruth) -> tuple[list[str], dict]:
    last = read_table(wh, "select max(as_of_date) as d from marts.customer_clusters")["d"][0]
    clusters = read_table(wh, f"select customer_id, cluster_id, cluster_name, model_version from marts.customer_clusters "
                              f"where as_of_date = '{last}'")
    result = truth_eval.cluster_agreement(clusters, truth_eval.personas_on(truth.personas, last))
    lines = [f"### (a) Clusters vs planted personas ({last}, {clusters['model_version'][0]}, k={result.get('k')})", "",
             "| cluster | name | size | dominant persona | share |", "|---|---|---:|---|---:|"]
    for r in result["clusters"]:
        lines.append(f"| {r['cluster_id']} | {r['cluster_name']} | {r['size']} | {r['top_persona']} | {fmt(r['top_share'], 2)} |")
    lines += ["", "| persona | customers | main cluster | share in it |", "|---|---:|---:|---:|"]
    for r in result["personas"]:
        lines.append(f"| {r['persona']} | {r['size']} | {r['main_cluster']} | {fmt(r['recall'], 2)} |")
    return lines, result


def section_propensity(home: Path, wh: Path, truth: truth_eval.GroundTruth, horizon: int) -> tuple[list[str], dict]:
    column = f"p_purchase_{horizon}d"
    last_data = warehouse.activity_bounds(wh)[1]
    scores = read_table(wh, f"select customer_id, as_of_date, {column} from marts.customer_scores "
                            f"where as_of_date <= '{last_data - timedelta(days=horizon)}'")
    days = sorted(scores["as_of_date"].unique().to_list())
    # days scored by a trained model (the first days of a backfill are served by the RFM baseline)
    versions = read_table(wh, f"select as_of_date, any_value(purchase_propensity_{horizon}d_version) as v "
                              f"from marts.customer_scores group by 1")
    served = registry.list_versions(home, f"purchase_propensity_{horizon}d")
    model_versions = {r["version"] for r in served if r["serve"] == "model"}
    model_days = set(versions.filter(pl.col("v").is_in(sorted(model_versions)))["as_of_date"].to_list())
    realized = warehouse.purchase_labels(wh, days, horizon)
    p_true = truth_eval.true_window_probability(truth.daily_truth, days, horizon)
    result = truth_eval.propensity_vs_truth(scores, column, realized, p_true)
    result_model = truth_eval.propensity_vs_truth(scores.filter(pl.col("as_of_date").is_in(sorted(model_days))),
                                                  column, realized, p_true) if model_days else None
    lines = [f"### (b) Purchase propensity: served {column} vs the true {horizon}-day probability", "",
             "| days scored | customer-days | buy rate | AUC served (mean daily) | AUC truth (mean daily) | gap | AUC served (pooled) | AUC truth (pooled) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, r in (("all scored days", result), ("days served by a trained model", result_model)):
        if r is None or r["n"] == 0:
            continue
        lines.append(f"| {label} ({r['days']}) | {r['n']} | {fmt(r['positive_rate'])} | {fmt(r['auc_model_mean_daily'])} | "
                     f"{fmt(r['auc_truth_mean_daily'])} | {fmt(r['gap_mean_daily'])} | {fmt(r['auc_model_pooled'])} | "
                     f"{fmt(r['auc_truth_pooled'])} |")
    return lines, {"all": result, "model_days": result_model}


def section_uplift(home: Path, wh: Path, truth: truth_eval.GroundTruth) -> tuple[list[str], dict]:
    scores = read_table(wh, "select customer_id, as_of_date, discount_uplift, discount_response_version from marts.customer_scores")
    sends = truth.campaign_send_dates()
    predicted = truth_eval.scores_before_sends(scores, sends)
    served = registry.list_versions(home, "discount_response")
    kinds = {r["version"]: r["serve"] for r in served}
    sensitive = truth.sensitive_personas()
    result = truth_eval.uplift_vs_truth(predicted, truth.uplift, truth.personas, sends, sensitive)
    version_of = {}
    days = sorted(scores["as_of_date"].unique().to_list())
    for cid, sent in sends.items():
        before = [d for d in days if d < sent]
        if before:
            v = scores.filter(pl.col("as_of_date") == before[-1])["discount_response_version"][0]
            version_of[cid] = f"v{v} ({kinds.get(str(v), '?')})"
    lines = [f"### (c) Discount response: served discount_uplift (day before each send) vs truth", "",
             f"sensitive personas (mean sensitivity >= {truth_eval.HIGH_SENSITIVITY}): {', '.join(sensitive)}", "",
             "| campaign | served version | audience | rho(uplift, true sensitivity) | rho(uplift, true uplift) |",
             "|---|---|---:|---:|---:|"]
    for c in result.get("per_campaign", []):
        lines.append(f"| {c['campaign_id']} | {version_of.get(c['campaign_id'], '?')} | {c['n']} | "
                     f"{fmt(c['rho_sensitivity'])} | {fmt(c['rho_true_uplift'])} |")
    if result.get("n"):
        lines += ["", f"mean rho vs sensitivity {fmt(result['rho_sensitivity'])}, vs true uplift {fmt(result['rho_true_uplift'])}; "
                      f"top decile of predicted uplift: {fmt(result['sensitive_top_share'], 2)} sensitive personas vs base rate "
                      f"{fmt(result['sensitive_base_rate'], 2)} (lift {fmt(result['sensitive_lift'], 2)})"]
    # the current champion (scores of the last day) against the audience of the newest campaign
    last_day = scores["as_of_date"].max()
    newest = max(sends, key=sends.get)
    latest = scores.filter(pl.col("as_of_date") == last_day).select(pl.lit(newest).alias("campaign_id"), "customer_id",
                                                                     "discount_uplift")
    now = truth_eval.uplift_vs_truth(latest, truth.uplift, truth.personas, sends, sensitive)
    v_now = scores.filter(pl.col("as_of_date") == last_day)["discount_response_version"][0]
    if now.get("n"):
        lines += ["", f"champion v{v_now} ({kinds.get(str(v_now), '?')}) scores of {last_day} vs the audience of {newest}: "
                      f"rho vs sensitivity {fmt(now['rho_sensitivity'])}, vs true uplift {fmt(now['rho_true_uplift'])}; top decile "
                      f"{fmt(now['sensitive_top_share'], 2)} sensitive vs base {fmt(now['sensitive_base_rate'], 2)}"]
    result["champion_now"] = {k: now.get(k) for k in ("n", "rho_sensitivity", "rho_true_uplift", "sensitive_top_share",
                                                       "sensitive_base_rate")}
    gates = [{"version": r["version"], "serve": r["serve"], "gate": r["gate"], "qini": r["metrics"].get("test_qini"),
              "noise": r["metrics"].get("test_qini_noise_95")} for r in served if r["serve"] == "model"]
    if served:
        lines += ["", "| version | as of | serve | gate | qini | qini noise 95% | reason |", "|---|---|---|---|---:|---:|---|"]
        for r in sorted(served, key=lambda r: int(r["version"])):
            m = r["metrics"]
            lines.append(f"| {r['version']}{' (champion)' if 'champion' in r['aliases'] else ''} | {r['as_of_date']} | {r['serve']} | "
                         f"{r['gate']} | {fmt(m.get('test_qini'), 4)} | {fmt(m.get('test_qini_noise_95'), 4)} | {(r['gate_reason'] or '')[:110]} |")
    return lines, {**result, "versions": gates}


def section_switches(wh: Path, truth: truth_eval.GroundTruth) -> tuple[list[str], dict]:
    clusters = read_table(wh, "select customer_id, as_of_date, cluster_id, model_version from marts.customer_clusters")
    reaction = truth_eval.switch_reaction(clusters, truth.switches)
    # the cluster model is retrained (ids matched, but boundaries move): count only days on one version
    same_model = clusters.with_columns(pl.col("cluster_id").cast(pl.String) + "@" + pl.col("model_version")).rename(
        {"cluster_id": "label"})
    reaction_same = truth_eval.switch_reaction(same_model, truth.switches, label="label")
    last = clusters["as_of_date"].max()
    toward = truth_eval.switch_toward_target(clusters, truth.switches, truth.personas, last, 14)
    lines = [f"### (d) Persona switches ({truth.switches.height} customers switched)", "",
             "| days after switch | switched customers | cluster changed | non-switchers changed (same days) |",
             "|---:|---:|---:|---:|"]
    for r in reaction:
        lines.append(f"| {r['days_after']} | {r['switched_n']} | {fmt(r['switched_changed'], 2)} | {fmt(r['others_changed'], 2)} |")
    lines += ["", "(counting a cluster-model change as a change:) " + ", ".join(
        f"{r['days_after']}d {fmt(r['switched_changed'], 2)} vs {fmt(r['others_changed'], 2)}" for r in reaction_same), "",
        f"switched >= 14 days before {last}: {toward['n']} customers; in the main cluster of their new persona "
        f"{fmt(toward['in_target_before'], 2)} before the switch -> {fmt(toward['in_target_after'], 2)} on {last}"]
    return lines, {"reaction": reaction, "toward_target": toward}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an existing generated and run home (else a temp one is built)")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--horizon", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args(argv)
    tmp = None
    build_seconds = None
    if args.home is None:
        tmp = Path(tempfile.mkdtemp(prefix="quality-vs-truth-"))
        home = tmp
        build_seconds = build_home(home, args.customers, args.days, args.seed)
    else:
        home = args.home
    try:
        truth = truth_eval.read_ground_truth(home / "ground_truth")
        wh = home / "warehouse.duckdb"
        meta = truth.meta
        print(f"## Quality vs ground truth: {meta['customers']} customers x {meta['days']} days, seed {meta['seed']} "
              f"({meta['start']} .. {meta['end']})")
        print(f"home {home}" + (f" (built in {build_seconds:.0f}s)" if build_seconds else "") + "\n")
        report = {}
        for name, fn in (("clusters", lambda: section_clusters(wh, truth)),
                         ("propensity", lambda: section_propensity(home, wh, truth, args.horizon)),
                         ("uplift", lambda: section_uplift(home, wh, truth)),
                         ("switches", lambda: section_switches(wh, truth))):
            lines, report[name] = fn()
            print("\n".join(lines) + "\n")
        c, p, u = report["clusters"], report["propensity"]["model_days"] or report["propensity"]["all"], report["uplift"]
        r7 = next((r for r in report["switches"]["reaction"] if r["days_after"] == 7), {})
        print("### Summary\n")
        print("| measure | value |\n|---|---|")
        print(f"| clusters vs personas (last day) | ARI {fmt(c['ari'])}, AMI {fmt(c['ami'])}, purity {fmt(c['purity'], 2)}, k={c.get('k')} |")
        print(f"| p_purchase_{args.horizon}d AUC (served vs truth, mean daily) | {fmt(p['auc_model_mean_daily'])} vs "
              f"{fmt(p['auc_truth_mean_daily'])} (gap {fmt(p['gap_mean_daily'])}) |")
        now = u.get("champion_now") or {}
        print(f"| discount_uplift rho vs sensitivity / true uplift (served before sends) | {fmt(u.get('rho_sensitivity'))} / "
              f"{fmt(u.get('rho_true_uplift'))} |")
        print(f"| sensitive personas in top uplift decile (served before sends) | {fmt(u.get('sensitive_top_share'), 2)} vs base "
              f"{fmt(u.get('sensitive_base_rate'), 2)} |")
        print(f"| champion on the last day: rho vs sensitivity; sensitive in top decile | {fmt(now.get('rho_sensitivity'))}; "
              f"{fmt(now.get('sensitive_top_share'), 2)} vs base {fmt(now.get('sensitive_base_rate'), 2)} |")
        model_gates = [g for g in u.get("versions", []) if g["qini"] is not None]
        if model_gates:
            g = model_gates[0]
            print(f"| discount_response newest candidate: test Qini vs permutation noise 95% | {fmt(g['qini'], 4)} vs "
                  f"{fmt(g['noise'], 4)} ({g['gate']}) |")
        print(f"| cluster changed 7 days after a switch | {fmt(r7.get('switched_changed'), 2)} vs non-switchers "
              f"{fmt(r7.get('others_changed'), 2)} |")
        return report
    finally:
        if tmp is not None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp is not None:
            print(f"\nkept {tmp}")


if __name__ == "__main__":
    main()
