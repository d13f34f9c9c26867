"""Model quality against a simulated shop's ground truth (evaluation code, never a production path).

Pure functions over polars frames: the ground truth files the simulator writes under
`<home>/ground_truth/` (personas, daily_truth, uplift, switches) next to what the platform served
(marts.customer_clusters, marts.customer_scores) and what happened (marts.customer_daily_activity).
Nothing here imports the simulator; `read_ground_truth` only reads its parquet files.

- clusters vs planted personas: adjusted Rand index / adjusted mutual information + contingency;
- purchase propensity: ROC-AUC of a served score next to the AUC of the true window probability
  1 - prod(1 - p_purchase) on the same customers and days;
- discount response: rank correlation of the served uplift with the true sensitivity / uplift, and
  how over-represented the most sensitive personas are in the top decile of predicted uplift;
- persona switches: does a switched customer's cluster change soon after the switch, compared with
  customers who did not switch over the same days.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, roc_auc_score

HIGH_SENSITIVITY = 0.5  # a persona whose mean discount_sensitivity is at least this is "discount-sensitive"


@dataclass
class GroundTruth:
    personas: pl.DataFrame  # customer_id, persona, valid_from, valid_to (inclusive)
    uplift: pl.DataFrame  # campaign_id, customer_id, group, discount_pct, discount_sensitivity, ..., true_uplift
    switches: pl.DataFrame  # customer_id, switch_date, from_persona, to_persona
    daily_truth: pl.LazyFrame  # customer_id, date, persona, p_purchase (scanned lazily: customers x days rows)
    meta: dict

    def campaign_send_dates(self) -> dict[str, date]:
        return {c["campaign_id"]: date.fromisoformat(c["send_date"]) for c in self.meta.get("campaigns", [])}

    def sensitive_personas(self, threshold: float = HIGH_SENSITIVITY) -> list[str]:
        """Personas the generator made discount-sensitive (mean sensitivity >= threshold)."""
        return sorted(p["name"] for p in self.meta.get("personas", [])
                      if float(p.get("discount_sensitivity", 0.0)) >= threshold)


def read_ground_truth(folder: str | Path) -> GroundTruth:
    folder = Path(folder)
    missing = [n for n in ("personas.parquet", "uplift.parquet", "switches.parquet", "daily_truth.parquet", "meta.json")
               if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(f"ground truth under {folder} lacks {missing}: was the shop made by shop.simulator?")
    return GroundTruth(
        personas=pl.read_parquet(folder / "personas.parquet"),
        uplift=pl.read_parquet(folder / "uplift.parquet"),
        switches=pl.read_parquet(folder / "switches.parquet"),
        daily_truth=pl.scan_parquet(folder / "daily_truth.parquet"),
        meta=json.loads((folder / "meta.json").read_text(encoding="utf-8")),
    )


def personas_on(personas: pl.DataFrame, day: date) -> pl.DataFrame:
    """customer_id, persona valid on `day`."""
    return (personas.filter((pl.col("valid_from") <= day) & (pl.col("valid_to") >= day))
            .select("customer_id", "persona").unique("customer_id", keep="last"))


def personas_at(personas: pl.DataFrame, keys: pl.DataFrame, day_column: str) -> pl.DataFrame:
    """`keys` with the persona each customer had on its row's `day_column` (null when unknown)."""
    joined = keys.with_row_index("_row").join(personas.select("customer_id", "persona", "valid_from", "valid_to"),
                                             on="customer_id", how="left")
    inside = joined.filter((pl.col("valid_from") <= pl.col(day_column)) & (pl.col("valid_to") >= pl.col(day_column)))
    return (keys.with_row_index("_row")
            .join(inside.select("_row", "persona").unique("_row", keep="first"), on="_row", how="left")
            .drop("_row"))


# ---- (a) clusters vs personas ------------------------------------------------------------------

def cluster_agreement(clusters: pl.DataFrame, personas: pl.DataFrame) -> dict:
    """ARI / AMI between `cluster_id` and `persona` of customers present in both frames, plus a
    contingency summary: per cluster its size, dominant persona and that persona's share (purity),
    per persona the cluster holding most of it and that share (recall)."""
    both = clusters.select("customer_id", "cluster_id", *([c for c in ("cluster_name",) if c in clusters.columns])).join(
        personas.select("customer_id", "persona"), on="customer_id", how="inner")
    if both.height == 0:
        return {"n": 0, "ari": float("nan"), "ami": float("nan"), "clusters": [], "personas": [], "purity": float("nan")}
    c = both["cluster_id"].to_numpy()
    p = both["persona"].to_numpy().astype(str)
    table = both.group_by("cluster_id", "persona").agg(pl.len().alias("n"))
    cluster_rows = []
    for cid, part in table.sort("cluster_id").group_by("cluster_id", maintain_order=True):
        size = int(part["n"].sum())
        top = part.sort(["n", "persona"], descending=[True, False]).row(0, named=True)
        name = None
        if "cluster_name" in both.columns:
            names = both.filter(pl.col("cluster_id") == cid[0])["cluster_name"]
            name = names.mode().sort()[0] if names.len() else None
        cluster_rows.append({"cluster_id": int(cid[0]), "cluster_name": name, "size": size,
                             "top_persona": top["persona"], "top_share": top["n"] / size})
    persona_rows = []
    for persona, part in table.sort("persona").group_by("persona", maintain_order=True):
        size = int(part["n"].sum())
        top = part.sort(["n", "cluster_id"], descending=[True, False]).row(0, named=True)
        persona_rows.append({"persona": persona[0], "size": size, "main_cluster": int(top["cluster_id"]),
                             "recall": top["n"] / size})
    purity = sum(r["top_share"] * r["size"] for r in cluster_rows) / both.height
    return {
        "n": both.height,
        "k": int(len(np.unique(c))),
        "ari": float(adjusted_rand_score(p, c)),
        "ami": float(adjusted_mutual_info_score(p, c)),
        "purity": float(purity),
        "clusters": cluster_rows,
        "personas": persona_rows,
    }


# ---- (b) purchase propensity -------------------------------------------------------------------

def true_window_probability(daily_truth: pl.LazyFrame | pl.DataFrame, as_of_dates: list[date],
                            horizon_days: int) -> pl.DataFrame:
    """customer_id, as_of_date, p_true = 1 - prod(1 - p_purchase) over the days (as_of, as_of + h]."""
    lazy = daily_truth.lazy() if isinstance(daily_truth, pl.DataFrame) else daily_truth
    if not as_of_dates:
        return pl.DataFrame(schema={"customer_id": pl.String, "as_of_date": pl.Date, "p_true": pl.Float64})
    lo, hi = min(as_of_dates), max(as_of_dates) + timedelta(days=horizon_days)
    days = (lazy.filter((pl.col("date") > lo) & (pl.col("date") <= hi))
            .select("customer_id", "date", pl.col("p_purchase").cast(pl.Float64)).collect())
    cutoffs = pl.DataFrame({"as_of_date": sorted(set(as_of_dates))}, schema={"as_of_date": pl.Date})
    return (days.join(cutoffs, how="cross")
            .filter((pl.col("date") > pl.col("as_of_date"))
                    & (pl.col("date") <= pl.col("as_of_date") + timedelta(days=horizon_days)))
            .group_by("customer_id", "as_of_date")
            .agg((1.0 - (1.0 - pl.col("p_purchase").clip(0.0, 1.0)).log().sum().exp()).alias("p_true"),
                 pl.len().alias("days"))
            .filter(pl.col("days") == horizon_days)
            .drop("days"))


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    if len(y) == 0 or len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, s))


def propensity_vs_truth(scores: pl.DataFrame, score_column: str, realized: pl.DataFrame, truth: pl.DataFrame) -> dict:
    """AUC of the served `score_column` and of the true probability `p_true` against realized
    purchases, on the customer-days present in both `scores` and `truth`.
    `realized`: customer_id, as_of_date of customer-days with >= 1 purchase in the window."""
    frame = (scores.select("customer_id", "as_of_date", pl.col(score_column).alias("score"))
             .join(truth, on=["customer_id", "as_of_date"], how="inner")
             .join(realized.select("customer_id", "as_of_date").unique().with_columns(pl.lit(1).alias("bought")),
                   on=["customer_id", "as_of_date"], how="left")
             .with_columns(pl.col("bought").fill_null(0))
             .filter(pl.col("score").is_not_null() & pl.col("score").is_not_nan()))
    per_day = []
    for (day,), part in frame.sort("as_of_date").group_by("as_of_date", maintain_order=True):
        y = part["bought"].to_numpy()
        per_day.append({"as_of_date": day, "n": part.height, "positives": int(y.sum()),
                        "auc_model": _auc(y, part["score"].to_numpy()), "auc_truth": _auc(y, part["p_true"].to_numpy())})
    y = frame["bought"].to_numpy()
    model_days = [d["auc_model"] for d in per_day if math.isfinite(d["auc_model"])]
    truth_days = [d["auc_truth"] for d in per_day if math.isfinite(d["auc_truth"])]
    out = {
        "n": frame.height,
        "days": len(per_day),
        "positive_rate": float(y.mean()) if len(y) else float("nan"),
        "auc_model_pooled": _auc(y, frame["score"].to_numpy()),
        "auc_truth_pooled": _auc(y, frame["p_true"].to_numpy()),
        "auc_model_mean_daily": float(np.mean(model_days)) if model_days else float("nan"),
        "auc_truth_mean_daily": float(np.mean(truth_days)) if truth_days else float("nan"),
        "per_day": per_day,
    }
    out["gap_mean_daily"] = out["auc_truth_mean_daily"] - out["auc_model_mean_daily"]
    out["gap_pooled"] = out["auc_truth_pooled"] - out["auc_model_pooled"]
    return out


# ---- (c) discount response ---------------------------------------------------------------------

def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def uplift_vs_truth(predicted: pl.DataFrame, uplift_truth: pl.DataFrame, personas: pl.DataFrame,
                    send_dates: dict[str, date], sensitive: list[str], top_fraction: float = 0.1) -> dict:
    """`predicted`: campaign_id, customer_id, discount_uplift (the score served before the send).
    Spearman of the prediction with the true discount_sensitivity and true_uplift (per campaign,
    then averaged, so campaigns' different discounts do not mix into the rank), and the share of
    the top `top_fraction` of predicted uplift (per campaign) held by the sensitive personas, vs
    their share of the audience."""
    keyed = predicted.join(uplift_truth.select("campaign_id", "customer_id", "discount_sensitivity", "true_uplift"),
                           on=["campaign_id", "customer_id"], how="inner")
    keyed = keyed.with_columns(pl.col("campaign_id").replace_strict(send_dates, default=None, return_dtype=pl.Date)
                               .alias("send_date"))
    keyed = personas_at(personas, keyed, "send_date").filter(pl.col("discount_uplift").is_not_null()
                                                              & pl.col("discount_uplift").is_not_nan())
    if keyed.height == 0:
        return {"n": 0, "campaigns": 0}
    keyed = keyed.with_columns(
        pl.col("persona").is_in(sensitive).alias("sensitive"),
        (pl.col("discount_uplift").rank("ordinal", descending=True).over("campaign_id")
         <= (pl.len().over("campaign_id") * top_fraction).ceil()).alias("top"),
    )
    per_campaign = []
    for (cid,), part in keyed.sort("campaign_id").group_by("campaign_id", maintain_order=True):
        u = part["discount_uplift"].to_numpy()
        per_campaign.append({"campaign_id": cid, "n": part.height,
                             "rho_sensitivity": _spearman(u, part["discount_sensitivity"].to_numpy()),
                             "rho_true_uplift": _spearman(u, part["true_uplift"].to_numpy()),
                             "constant": bool(np.all(u == u[0]))})
    # a constant score (the "treat everyone" baseline) ranks nobody: it has no top decile
    constant = [c["campaign_id"] for c in per_campaign if c["constant"]]
    ranked = keyed.filter(~pl.col("campaign_id").is_in(constant))
    top = ranked.filter(pl.col("top"))
    base = float(ranked["sensitive"].mean()) if ranked.height else float("nan")
    top_share = float(top["sensitive"].mean()) if top.height else float("nan")
    mean = lambda key: float(np.nanmean([c[key] for c in per_campaign])) if any(  # noqa: E731
        math.isfinite(c[key]) for c in per_campaign) else float("nan")
    return {
        "n": keyed.height,
        "campaigns": len(per_campaign),
        "constant_campaigns": sum(c["constant"] for c in per_campaign),
        "rho_sensitivity": mean("rho_sensitivity"),
        "rho_true_uplift": mean("rho_true_uplift"),
        "sensitive_personas": sensitive,
        "sensitive_top_share": top_share,
        "sensitive_base_rate": base,
        "sensitive_lift": top_share / base if base > 0 else float("nan"),
        "ranked_campaigns": len(per_campaign) - len(constant),
        "per_campaign": per_campaign,
    }


def scores_before_sends(scores: pl.DataFrame, send_dates: dict[str, date], column: str = "discount_uplift") -> pl.DataFrame:
    """campaign_id, customer_id, <column>: each campaign's audience scored as of the newest scored day
    before its send day (what a marketer would have used to pick the audience)."""
    days = sorted(scores["as_of_date"].unique().to_list())
    parts = []
    for cid, sent in send_dates.items():
        before = [d for d in days if d < sent]
        if not before:
            continue
        parts.append(scores.filter(pl.col("as_of_date") == before[-1])
                     .select(pl.lit(cid).alias("campaign_id"), "customer_id", column))
    if not parts:
        return pl.DataFrame(schema={"campaign_id": pl.String, "customer_id": pl.String, column: pl.Float64})
    return pl.concat(parts)


# ---- (d) persona switches ----------------------------------------------------------------------

def switch_reaction(clusters: pl.DataFrame, switches: pl.DataFrame, days_after: tuple[int, ...] = (3, 7, 14, 28),
                    label: str = "cluster_id") -> list[dict]:
    """For each lag L: among switched customers with a `label` known on switch_date - 1 and on
    switch_date + L, the share whose label changed; next to the share that changed over the same
    pairs of days among customers who never switched (the background churn of labels)."""
    lookup = clusters.select("customer_id", "as_of_date", label)
    switched_ids = switches["customer_id"].unique()
    others = lookup.filter(~pl.col("customer_id").is_in(switched_ids.implode()))
    out = []
    for lag in days_after:
        pairs = switches.select("customer_id", (pl.col("switch_date") - timedelta(days=1)).alias("before"),
                                (pl.col("switch_date") + timedelta(days=lag)).alias("after"))
        s = (pairs.join(lookup.rename({"as_of_date": "before", label: "l0"}), on=["customer_id", "before"])
             .join(lookup.rename({"as_of_date": "after", label: "l1"}), on=["customer_id", "after"]))
        date_pairs = s.select("before", "after").unique()
        o = (others.rename({"as_of_date": "before", label: "l0"}).join(date_pairs, on="before")
             .join(others.rename({"as_of_date": "after", label: "l1"}), on=["customer_id", "after"]))
        # weight the background per switch so each switched customer is compared with its own days
        counts = s.group_by("before", "after").agg(pl.len().alias("w"))
        bg = (o.group_by("before", "after").agg((pl.col("l0") != pl.col("l1")).mean().alias("rate"))
              .join(counts, on=["before", "after"]))
        background = float((bg["rate"] * bg["w"]).sum() / bg["w"].sum()) if bg.height and bg["w"].sum() else float("nan")
        out.append({"days_after": lag, "switched_n": s.height,
                    "switched_changed": float((s["l0"] != s["l1"]).mean()) if s.height else float("nan"),
                    "others_changed": background})
    return out


def switch_toward_target(clusters: pl.DataFrame, switches: pl.DataFrame, personas: pl.DataFrame, day: date,
                         days_after: int) -> dict:
    """Among customers who switched at least `days_after` days before `day`: the share whose cluster
    on `day` is the main cluster of their new persona (among non-switchers on `day`), vs the share
    before the switch (switch_date - 1) in their new persona's main cluster."""
    on_day = clusters.filter(pl.col("as_of_date") == day).select("customer_id", "cluster_id")
    stable = personas_on(personas, day).filter(~pl.col("customer_id").is_in(switches["customer_id"].implode()))
    main = (on_day.join(stable, on="customer_id").group_by("persona", "cluster_id").agg(pl.len().alias("n"))
            .sort(["persona", "n", "cluster_id"], descending=[False, True, False]).unique("persona", keep="first")
            .select(pl.col("persona").alias("to_persona"), pl.col("cluster_id").alias("target_cluster")))
    moved = switches.filter(pl.col("switch_date") + timedelta(days=days_after) <= day).join(main, on="to_persona")
    before = clusters.select("customer_id", pl.col("as_of_date").alias("before"), pl.col("cluster_id").alias("c0"))
    moved = (moved.with_columns((pl.col("switch_date") - timedelta(days=1)).alias("before"))
             .join(before, on=["customer_id", "before"]).join(on_day.rename({"cluster_id": "c1"}), on="customer_id"))
    if moved.height == 0:
        return {"n": 0, "in_target_before": float("nan"), "in_target_after": float("nan")}
    return {"n": moved.height,
            "in_target_before": float((moved["c0"] == moved["target_cluster"]).mean()),
            "in_target_after": float((moved["c1"] == moved["target_cluster"]).mean())}
