import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from ml.clustering import BehavioralClustering, RuleSegments, describe_cluster, unique_names

COLS = ["recency_days", "frequency", "monetary", "sessions_30d", "cart_adds_30d", "discount_revenue_share"]
CENTERS = np.array([[2, 2, 2, 2, 2, 2], [20, 2, 20, 2, 20, 2], [2, 20, 2, 20, 2, 20], [20, 20, 20, 20, 20, 20]], float)


def blobs(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, n)
    X = np.abs(CENTERS[truth] + rng.normal(0, 1.0, (n, len(COLS))))
    frame = pl.DataFrame({c: X[:, i] for i, c in enumerate(COLS)}).with_columns(
        pl.Series("customer_id", [f"c{i}" for i in range(n)]))
    return frame, truth


def test_kmeans_recovers_planted_blobs_and_records_silhouette_per_k():
    frame, truth = blobs()
    model = BehavioralClustering(k_range=(2, 6)).fit(frame)
    out = model.predict(frame)
    # measured: adjusted Rand 1.0 on seeds 0..5
    assert adjusted_rand_score(truth, out["cluster_id"]) > 0.95
    assert model.k_ == 4 and set(model.k_scores_) == {2, 3, 4, 5, 6}
    assert max(model.k_scores_, key=model.k_scores_.get) == 4
    assert out["cluster_id"].shape == out["cluster_name"].shape == out["distance_to_centroid"].shape == (frame.height,)
    assert np.all(out["distance_to_centroid"] >= 0)


def test_ids_are_stable_after_retraining_on_permuted_data():
    frame, _ = blobs(seed=1)
    first = BehavioralClustering(k_range=(2, 6), random_state=0).fit(frame)
    first.ids_ = np.array([7, 3, 11, 5])  # arbitrary previous ids must be carried over
    before = first.predict(frame)["cluster_id"]
    shuffled = frame[np.random.default_rng(9).permutation(frame.height)]
    second = BehavioralClustering(k_range=(2, 6), random_state=42).fit(shuffled, previous=first)
    after = second.predict(frame)["cluster_id"]
    assert set(after) == {7, 3, 11, 5}
    assert np.mean(before == after) > 0.99


def test_new_cluster_gets_a_fresh_id():
    frame, _ = blobs(seed=2)
    three = frame.filter(pl.col("frequency") < 10)  # drops two of the four blobs
    first = BehavioralClustering(k_range=(2, 2)).fit(three)
    second = BehavioralClustering(k_range=(4, 4)).fit(frame, previous=first)
    assert set(first.ids_) <= set(second.ids_)
    assert sorted(second.ids_)[-2:] == [2, 3]


def test_names_are_unique_and_profiles_have_z_scores():
    frame, _ = blobs(seed=3)
    model = BehavioralClustering(k_range=(2, 6)).fit(frame)
    assert len(set(model.names_)) == len(model.names_)
    profiles = model.profile_frame()
    assert profiles.height == 4 and abs(profiles["share"].sum() - 1) < 1e-9
    high_freq = profiles.sort("mean_frequency").tail(1)
    assert high_freq["z_frequency"][0] > 0.5


def test_unique_names_disambiguates_duplicates():
    profiles = [{"z": {"a": 2.0, "b": 0.1}}, {"z": {"a": -0.1, "b": -3.0}}, {"z": {"a": 0.0, "b": 0.0}}]
    names = unique_names(["x", "x", "y"], profiles)
    assert names == ["x (high a)", "x (low b)", "y"]
    assert len(set(unique_names(["x", "x"], [{"z": {"a": 1.0}}, {"z": {"a": 1.0}}]))) == 2


@pytest.mark.parametrize("z, extra, expected", [
    ({"recency_days": 1.2, "sessions_30d": 1.0, "frequency": -0.8}, {"buyer_share": 0.6}, "lapsing window shopper"),
    ({"discount_revenue_share": 1.5, "frequency": 0.0}, {"buyer_share": 0.9}, "discount-driven occasional buyer"),
    ({"cart_adds_30d": 1.0, "frequency": 0.5}, {"buyer_share": 0.9, "top_category": "electronics",
                                                 "top_category_share": 0.8}, "high-intent tech regular shopper"),
])
def test_describe_cluster(z, extra, expected):
    assert describe_cluster({"z": z, **extra}) == expected


def test_hdbscan_labels_far_points_as_outliers():
    frame, _ = blobs(seed=4)
    far = pl.DataFrame({c: [500.0 + 50 * i for i in range(5)] for c in COLS}).with_columns(
        pl.Series("customer_id", [f"far{i}" for i in range(5)]))
    model = BehavioralClustering(method="hdbscan", min_cluster_size=30).fit(pl.concat([frame, far]))
    out = model.predict(far)
    assert np.all(out["cluster_id"] == -1) and set(out["cluster_name"]) == {"outlier"}
    inliers = model.predict(frame)["cluster_id"]
    assert np.mean(inliers >= 0) > 0.9


def test_rule_segments_baseline():
    frame = pl.DataFrame({"frequency": [0.0, 1.0, 3.0, 2.0], "recency_days": [None, 5.0, 10.0, 200.0]})
    out = RuleSegments().fit().predict(frame)
    assert list(out["cluster_name"]) == ["never bought", "one-time buyer", "repeat buyer", "lapsing buyer"]
