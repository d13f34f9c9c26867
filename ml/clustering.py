"""Behavioral clusters: K-Means (k by silhouette) or density-based (HDBSCAN / DBSCAN, outliers = -1).

Pipeline: chosen behaviour columns -> NaN fill (days columns with the stalest value, others the
median) -> log1p on non-negative columns -> standard scaling -> clip to +-5 sd.
Cluster ids are stable across retrains: `fit(..., previous=champion)` matches the new centroids to
the previous model's with the Hungarian algorithm and reuses its ids. Each cluster gets a profile
(size, share, feature means, z-scores vs the population) and a readable name built from it.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from sklearn.metrics import silhouette_score

from ml.features import NON_FEATURE_COLUMNS, is_numeric_dtype, string_column

DEFAULT_CLUSTER_FEATURES = (
    "recency_days", "frequency", "monetary", "avg_order_value", "orders_90d", "revenue_90d",
    "sessions_30d", "product_views_30d", "views_per_session", "cart_adds_30d", "cart_abandonment_rate",
    "view_to_purchase_ratio", "discount_revenue_share", "discounted_order_share", "return_rate",
    "email_open_rate", "days_since_last_seen", "tenure_days", "top_category_share", "n_categories_viewed",
    # how customers search: price / on-sale filters and dwell separate deal hunters, researchers and
    # browsers that order counts alone mix up (ARI vs the simulator's personas ~0.10 -> 0.23-0.40, 4 shops)
    "on_sale_filter_uses_90d", "price_filter_uses_90d", "filter_use_rate", "avg_session_dwell_seconds",
)
OUTLIER_ID = -1
OUTLIER_NAME = "outlier"

# (feature, sign, z threshold, word) in order of precedence per name slot
_LIFECYCLE = (("recency_days", 1, 0.6, "lapsing"), ("days_since_last_seen", 1, 0.6, "lapsing"),
              ("tenure_days", -1, 0.8, "new"))
_STYLE = (("discount_revenue_share", 1, 0.5, "discount-driven"), ("discounted_order_share", 1, 0.5, "discount-driven"),
          ("cart_adds_30d", 1, 0.5, "high-intent"), ("cart_abandonment_rate", 1, 0.7, "cart-abandoning"),
          ("email_open_rate", 1, 0.7, "email-engaged"))
_CATEGORY_ALIASES = {"electronics": "tech", "computers": "tech", "technology": "tech"}


class BehavioralClustering:
    kind = "model"

    def __init__(self, method: str = "kmeans", k_range: tuple[int, int] = (3, 8),
                 features: tuple[str, ...] | None = DEFAULT_CLUSTER_FEATURES, sample_size: int = 20000,
                 silhouette_sample: int = 4000, min_cluster_size: int | None = None, eps: float = 0.8,
                 radius_quantile: float = 0.95, n_init: int = 3, random_state: int = 0):
        if method not in ("kmeans", "hdbscan", "dbscan"):
            raise ValueError(f"method must be kmeans, hdbscan or dbscan, got {method!r}")
        if k_range[0] < 2 or k_range[1] < k_range[0]:
            raise ValueError(f"k_range must be (lo >= 2, hi >= lo), got {k_range}")
        self.method = method
        self.k_range = tuple(k_range)
        self.features = tuple(features) if features else None
        self.sample_size = sample_size
        self.silhouette_sample = silhouette_sample
        self.min_cluster_size = min_cluster_size
        self.eps = eps
        self.radius_quantile = radius_quantile
        self.n_init = n_init
        self.random_state = random_state

    # ---- preprocessing ---------------------------------------------------------------------
    def _select_columns(self, frame: pl.DataFrame) -> list[str]:
        numeric = [c for c, t in frame.schema.items() if c not in NON_FEATURE_COLUMNS and is_numeric_dtype(t)]
        if self.features:
            chosen = [c for c in self.features if c in numeric]
            if len(chosen) >= 2:
                return chosen
        if len(numeric) < 2:
            raise ValueError(f"need at least 2 numeric feature columns to cluster, have {numeric}")
        return numeric

    def _raw(self, frame: pl.DataFrame) -> np.ndarray:
        exprs = [
            (pl.col(c).cast(pl.Float64).fill_nan(None) if c in frame.columns and is_numeric_dtype(frame.schema[c])
             else pl.lit(None, dtype=pl.Float64)).alias(c)
            for c in self.columns_
        ]
        return frame.select(exprs).to_numpy().astype(np.float64)

    def _fit_transform_params(self, raw: np.ndarray) -> None:
        fill = np.nanmedian(np.where(np.isfinite(raw), raw, np.nan), axis=0)
        stale = np.nanmax(np.where(np.isfinite(raw), raw, np.nan), axis=0)
        days = np.array([c.endswith("_days") for c in self.columns_])
        self.fill_ = np.where(days, stale, fill)
        self.fill_ = np.where(np.isfinite(self.fill_), self.fill_, 0.0)
        filled = self._fill(raw)
        self.log_ = filled.min(axis=0) >= 0
        logged = self._log(filled)
        self.mean_ = logged.mean(axis=0)
        std = logged.std(axis=0)
        self.scale_ = np.where(std > 1e-12, std, 1.0)

    def _fill(self, raw: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(raw), raw, self.fill_)

    def _log(self, filled: np.ndarray) -> np.ndarray:
        return np.where(self.log_, np.log1p(np.maximum(filled, 0.0)), filled)

    def _scale(self, raw: np.ndarray) -> np.ndarray:
        return np.clip((self._log(self._fill(raw)) - self.mean_) / self.scale_, -5.0, 5.0)

    def transform(self, frame: pl.DataFrame) -> np.ndarray:
        return self._scale(self._raw(frame))

    def _representative_raw(self, centroids: np.ndarray) -> np.ndarray:
        """A raw-feature point whose transform is the centroid (for matching against another model)."""
        logged = centroids * self.scale_ + self.mean_
        return np.where(self.log_, np.expm1(logged), logged)

    # ---- fitting ---------------------------------------------------------------------------
    def fit(self, frame: pl.DataFrame, previous: "BehavioralClustering | None" = None) -> "BehavioralClustering":
        if frame.height < 10:
            raise ValueError(f"need at least 10 customers to cluster, got {frame.height}")
        self.columns_ = self._select_columns(frame)
        raw = self._raw(frame)
        self._fit_transform_params(raw)
        Z = self._scale(raw)
        rng = np.random.default_rng(self.random_state)
        sample = rng.choice(len(Z), size=min(self.sample_size, len(Z)), replace=False)
        Zs = Z[sample]
        sil_idx = sample[: min(self.silhouette_sample, len(sample))]
        self.k_scores_: dict[int, float] = {}
        if self.method == "kmeans":
            centroids = self._fit_kmeans(Zs, Z[sil_idx])
            self.radius_ = None
        else:
            centroids, members_labels = self._fit_density(Zs)
            dist = np.linalg.norm(Zs[:, None, :] - centroids[None, :, :], axis=2) if len(centroids) else np.zeros((len(Zs), 0))
            self.radius_ = np.array([
                np.quantile(dist[members_labels == j, j], self.radius_quantile) if np.any(members_labels == j) else 0.0
                for j in range(len(centroids))
            ])
        if len(centroids) < 2:
            raise ValueError(f"{self.method} found {len(centroids)} cluster(s); need at least 2")
        self.centroids_ = centroids
        self.ids_ = self._stable_ids(previous)
        internal, _ = self._assign(Z)
        self._build_profiles(frame, raw, internal)
        return self

    def _fit_kmeans(self, Zs: np.ndarray, Zsil: np.ndarray) -> np.ndarray:
        lo, hi = self.k_range
        hi = min(hi, max(lo, len(Zs) // 5))
        best, best_score, best_model = None, -np.inf, None
        for k in range(lo, hi + 1):
            model = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(Zs)
            labels = model.predict(Zsil)
            score = float(silhouette_score(Zsil, labels)) if len(np.unique(labels)) > 1 else -1.0
            self.k_scores_[k] = score
            if score > best_score + 1e-9:
                best, best_score, best_model = k, score, model
        self.k_ = best
        return best_model.cluster_centers_

    def _fit_density(self, Zs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        min_size = self.min_cluster_size or max(10, len(Zs) // 50)
        if self.method == "hdbscan":
            labels = HDBSCAN(min_cluster_size=min_size, copy=True).fit_predict(Zs)
        else:
            labels = DBSCAN(eps=self.eps, min_samples=min_size).fit_predict(Zs)
        clusters = np.array(sorted(int(c) for c in np.unique(labels) if c >= 0), dtype=np.int64)
        centroids = np.array([Zs[labels == c].mean(axis=0) for c in clusters]).reshape(len(clusters), Zs.shape[1])
        position = np.searchsorted(clusters, labels)
        internal = np.where(labels >= 0, position, -1)
        self.k_ = len(clusters)
        return centroids, internal

    def _stable_ids(self, previous: "BehavioralClustering | None") -> np.ndarray:
        k = len(self.centroids_)
        if previous is None or not hasattr(previous, "centroids_"):
            return np.arange(k)
        prev_raw = previous._representative_raw(previous.centroids_)
        # express the previous centroids in this model's space (columns it lacks count as missing)
        prev_frame = pl.DataFrame({c: prev_raw[:, i] for i, c in enumerate(previous.columns_)})
        prev_in_new = self.transform(prev_frame)
        cost = np.linalg.norm(self.centroids_[:, None, :] - prev_in_new[None, :, :], axis=2)
        rows, cols = linear_sum_assignment(cost)
        ids = np.full(k, -1)
        ids[rows] = np.asarray(previous.ids_)[cols]
        next_id = int(max(np.max(previous.ids_), -1)) + 1
        for i in range(k):
            if ids[i] < 0:
                ids[i] = next_id
                next_id += 1
        self.matched_previous_ = {int(ids[r]): float(cost[r, c]) for r, c in zip(rows, cols)}
        return ids

    # ---- prediction ------------------------------------------------------------------------
    def _assign(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest centroid index and distance, vectorised; -1 beyond a density cluster's radius."""
        c = self.centroids_
        d2 = (Z * Z).sum(axis=1)[:, None] - 2.0 * Z @ c.T + (c * c).sum(axis=1)[None, :]
        nearest = d2.argmin(axis=1)
        dist = np.sqrt(np.maximum(d2[np.arange(len(Z)), nearest], 0.0))
        if self.radius_ is not None:
            nearest = np.where(dist <= self.radius_[nearest], nearest, -1)
        return nearest, dist

    def predict(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        """cluster_id (stable), cluster_name, distance_to_centroid (in scaled units)."""
        internal, dist = self._assign(self.transform(frame))
        ids = np.where(internal >= 0, self.ids_[np.maximum(internal, 0)], OUTLIER_ID)
        names = np.append(np.asarray(self.names_, dtype=object), OUTLIER_NAME)[np.where(internal >= 0, internal, -1)]
        return {"cluster_id": ids.astype(np.int64), "cluster_name": names, "distance_to_centroid": dist}

    score = predict

    def labels(self, frame: pl.DataFrame) -> np.ndarray:
        return self.predict(frame)["cluster_id"]

    # ---- profiles and names ----------------------------------------------------------------
    def _build_profiles(self, frame: pl.DataFrame, raw: np.ndarray, internal: np.ndarray) -> None:
        filled = self._fill(raw)
        pop_mean = filled.mean(axis=0)
        pop_std = filled.std(axis=0)
        pop_std = np.where(pop_std > 1e-12, pop_std, 1.0)
        top_cat = string_column(frame, "top_category")
        bought = np.nan_to_num(raw[:, self.columns_.index("frequency")], nan=0.0) > 0 if "frequency" in self.columns_ else None
        n = len(filled)
        profiles = []
        for j in range(len(self.centroids_)):
            members = internal == j
            size = int(members.sum())
            means = filled[members].mean(axis=0) if size else np.full(len(self.columns_), np.nan)
            z = (means - pop_mean) / pop_std
            cats = top_cat[members]
            cats = cats[cats != None]  # noqa: E711 - object array of str/None
            mode, mode_share = None, 0.0
            if len(cats):
                values, counts = np.unique(cats.astype(str), return_counts=True)
                mode, mode_share = str(values[counts.argmax()]), float(counts.max() / size)
            profiles.append({
                "internal": j, "cluster_id": int(self.ids_[j]), "size": size, "share": size / n,
                "means": {c: float(m) for c, m in zip(self.columns_, means)},
                "z": {c: float(v) for c, v in zip(self.columns_, z)},
                "top_category": mode, "top_category_share": mode_share,
                "buyer_share": float(bought[members].mean()) if bought is not None and size else None,
            })
        outliers = int((internal < 0).sum())
        self.outlier_share_ = outliers / n if n else 0.0
        self.names_ = unique_names([describe_cluster(p) for p in profiles], profiles)
        for p, name in zip(profiles, self.names_):
            p["cluster_name"] = name
        self.profiles_ = profiles

    def profile_frame(self) -> pl.DataFrame:
        """One row per cluster: cluster_id, cluster_name, size, share, top_category, then mean_<f> and z_<f>."""
        rows = []
        for p in self.profiles_:
            row = {"cluster_id": p["cluster_id"], "cluster_name": p["cluster_name"], "size": p["size"],
                   "share": p["share"], "top_category": p["top_category"]}
            row.update({f"mean_{c}": v for c, v in p["means"].items()})
            row.update({f"z_{c}": v for c, v in p["z"].items()})
            rows.append(row)
        return pl.DataFrame(rows).sort("cluster_id")


def _word(z: dict, rules) -> str | None:
    for feature, sign, threshold, word in rules:
        value = z.get(feature)
        if value is not None and np.isfinite(value) and sign * value > threshold:
            return word
    return None


def describe_cluster(profile: dict) -> str:
    """A short name from a cluster profile: [lifecycle] [style] [category] <buyer type>."""
    z = profile["z"]
    buyer_share = profile.get("buyer_share")
    value_z = max(z.get("frequency", -np.inf), z.get("monetary", -np.inf))
    browse_z = max(z.get("sessions_30d", -np.inf), z.get("product_views_30d", -np.inf))
    if buyer_share is not None and buyer_share < 0.3:
        noun = "window shopper" if browse_z > 0.0 else "browser"
    elif browse_z > 0.5 and value_z < 0.3:
        noun = "window shopper"
    elif value_z > 0.8:
        noun = "high-value buyer"
    elif value_z > 0.3:
        noun = "regular buyer"
    else:
        noun = "occasional buyer"
    words = [_word(z, _LIFECYCLE), _word(z, _STYLE)]
    if profile.get("top_category") and profile.get("top_category_share", 0) >= 0.5:
        category = profile["top_category"]
        words.append(_CATEGORY_ALIASES.get(category.lower(), category.lower()))
        noun = noun.replace("buyer", "shopper") if noun.endswith("buyer") else noun
    return " ".join(w for w in words + [noun] if w)


def unique_names(names: list[str], profiles: list[dict]) -> list[str]:
    """Disambiguate duplicate names with each cluster's most distinctive feature, then a number."""
    out = list(names)
    for name in set(names):
        dupes = [i for i, n in enumerate(names) if n == name]
        if len(dupes) < 2:
            continue
        for i in dupes:
            z = {k: v for k, v in profiles[i]["z"].items() if np.isfinite(v)}
            if z:
                feature = max(z, key=lambda k: abs(z[k]))
                out[i] = f"{name} ({'high' if z[feature] > 0 else 'low'} {feature})"
    seen: dict[str, int] = {}
    for i, name in enumerate(out):
        if name in seen:
            seen[name] += 1
            out[i] = f"{name} #{seen[name]}"
        else:
            seen[name] = 1
    return out


class RuleSegments:
    """Baseline segmentation when no clustering passes its gate: fixed rules on recency/frequency.
    ids: 0 never bought, 1 one-time buyer, 2 repeat buyer, 3 lapsing buyer (no order in 90 days)."""

    kind = "baseline"
    NAMES = ("never bought", "one-time buyer", "repeat buyer", "lapsing buyer")

    def __init__(self, lapsing_days: int = 90):
        self.lapsing_days = lapsing_days

    def fit(self, frame: pl.DataFrame | None = None) -> "RuleSegments":
        self.description = f"rules: never bought / one-time / repeat / lapsing (> {self.lapsing_days}d)"
        return self

    def predict(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        from ml.features import column_or

        freq = column_or(frame, "frequency", 0.0)
        rec = column_or(frame, "recency_days", np.inf)
        ids = np.where(freq <= 0, 0, np.where(rec > self.lapsing_days, 3, np.where(freq >= 2, 2, 1)))
        return {"cluster_id": ids.astype(np.int64), "cluster_name": np.asarray(self.NAMES, dtype=object)[ids],
                "distance_to_centroid": np.full(frame.height, np.nan)}

    score = predict

    def profile_frame(self, frame: pl.DataFrame | None = None) -> pl.DataFrame:
        sizes = np.zeros(4, dtype=np.int64)
        if frame is not None and frame.height:
            sizes = np.bincount(self.predict(frame)["cluster_id"], minlength=4)
        total = max(int(sizes.sum()), 1)
        return pl.DataFrame({"cluster_id": np.arange(4), "cluster_name": list(self.NAMES), "size": sizes,
                             "share": sizes / total, "top_category": [None] * 4})
