from datetime import date, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest

from ml import warehouse
from ml.features import FeatureEncoder
from ml.training_sets import (InsufficientHistory, category_training_set, eligible_cutoffs, plan_time_split,
                              purchase_training_set, split_frames)

D0 = date(2025, 1, 1)


def days(*offsets):
    return [D0 + timedelta(days=o) for o in offsets]


def test_split_is_ordered_in_time_and_label_windows_end_within_data():
    snapshots = days(*range(0, 200, 7))
    last = D0 + timedelta(days=199)
    plan = plan_time_split(snapshots, last, 30, n_train=4)
    assert max(plan.train) < min(plan.valid) <= max(plan.valid) < min(plan.test)
    for cutoff in plan.cutoffs:
        assert cutoff + timedelta(days=30) <= last
        assert cutoff in snapshots
    assert plan.embargo
    # embargo: no train label window reaches the validation cutoff, no validation window the test cutoff
    assert max(plan.train) + timedelta(days=30) <= min(plan.valid)
    assert max(plan.valid) + timedelta(days=30) <= min(plan.test)
    assert len(set(plan.cutoffs)) == len(plan.cutoffs)


def test_short_history_drops_the_embargo_but_keeps_time_order():
    snapshots = days(*range(0, 60, 7))
    plan = plan_time_split(snapshots, D0 + timedelta(days=59), 30)
    assert not plan.embargo
    assert max(plan.train) < min(plan.valid) < min(plan.test)
    with pytest.raises(InsufficientHistory):
        plan_time_split(snapshots, D0 + timedelta(days=59), 30, embargo=True)


def test_too_short_history_raises():
    with pytest.raises(InsufficientHistory):
        plan_time_split(days(0, 7), D0 + timedelta(days=20), 30)


def test_eligible_cutoffs_are_spaced_from_the_newest():
    snapshots = days(*range(0, 40))  # daily snapshots
    kept = eligible_cutoffs(snapshots, D0 + timedelta(days=39), 7, min_spacing_days=7)
    assert kept[-1] == D0 + timedelta(days=32)
    assert all((b - a).days >= 7 for a, b in zip(kept, kept[1:]))


@pytest.fixture
def tiny_warehouse(tmp_path):
    """Two customers, snapshots every 10 days, purchases exactly on window edges."""
    path = tmp_path / "wh.duckdb"
    snapshots = days(*range(0, 100, 10))
    features = pl.DataFrame({
        "customer_id": ["a", "b"] * len(snapshots),
        "as_of_date": [d for d in snapshots for _ in range(2)],
        "frequency": [float(i) for i in range(2 * len(snapshots))],
    })
    # customer a buys on day 60 (a cutoff: must NOT count for cutoff 60), 70 (the last day of
    # cutoff 60's 10-day window: counts) and 71 (outside it)
    activity = pl.DataFrame({
        "customer_id": ["a", "a", "a", "b"],
        "activity_date": days(60, 70, 71, 99),
        "orders": [1, 2, 4, 1],
        "revenue": [10.0, 20.0, 40.0, 5.0],
    })
    con = duckdb.connect(str(path))
    con.execute("create schema marts").fetchall()
    for name, frame in (("customer_features", features), ("customer_daily_activity", activity)):
        con.register("f", frame)
        con.execute(f"create table marts.{name} as select * from f").fetchall()
        con.unregister("f")
    con.close()
    return path, snapshots


def test_labels_come_only_from_the_following_horizon(tiny_warehouse):
    path, snapshots = tiny_warehouse
    last = D0 + timedelta(days=99)
    plan = plan_time_split(snapshots, last, 10, n_train=3, min_spacing_days=10)
    frame = purchase_training_set(path, plan)
    direct = warehouse.purchase_labels(path, [D0 + timedelta(days=60)], 10)
    assert direct.filter(pl.col("customer_id") == "a")["orders"].to_list() == [2.0]  # day 60 excluded, 70 in, 71 out
    assert direct.filter(pl.col("customer_id") == "b").height == 0
    # keys limit the labels to those snapshots, each with the label the unkeyed call gives it
    keys = pl.DataFrame({"customer_id": ["a", "b", "a"], "as_of_date": days(60, 60, 90)})
    keyed = warehouse.purchase_labels(path, [D0 + timedelta(days=60), D0 + timedelta(days=70)], 10, keys)
    assert keyed.rows() == [("a", D0 + timedelta(days=60), 2.0, 20.0)]  # day 90 is no cutoff; b bought nothing
    row70 = frame.filter((pl.col("customer_id") == "a") & (pl.col("as_of_date") == D0 + timedelta(days=70)))
    assert row70["label_orders"][0] == 4.0  # day 71 is inside (70, 80]
    # features are the snapshot's own (frequency differs per as_of_date), one row per customer and cutoff
    assert frame.select(pl.struct("customer_id", "as_of_date").n_unique()).item() == frame.height
    train, valid, test = split_frames(frame)
    assert train["as_of_date"].max() < valid["as_of_date"].min() <= test["as_of_date"].min()
    assert test["as_of_date"].max() + timedelta(days=10) <= last


def test_label_and_bookkeeping_columns_are_never_features():
    frame = pl.DataFrame({"customer_id": ["a"] * 10, "as_of_date": [D0] * 10, "x": np.arange(10.0),
                          "label_orders": np.arange(10.0), "label_revenue": np.arange(10.0), "split": ["train"] * 10,
                          "treatment": np.ones(10), "outcome": np.ones(10)})
    encoder = FeatureEncoder().fit(frame)
    assert encoder.feature_names == ["x"]


def test_capped_sets_keep_an_equal_hash_sample_per_cutoff(synthetic_warehouse):
    from ml.train import _rows_per_cutoff

    path, info = synthetic_warehouse
    plan = plan_time_split(info["snapshots"], info["end"], 30, n_train=4)
    full = purchase_training_set(path, plan)
    capped = purchase_training_set(path, plan, 150)
    sizes = capped.group_by("as_of_date").len()
    assert sizes.height == len(plan.cutoffs) and sizes["len"].max() == 150
    assert capped.select(pl.struct("customer_id", "as_of_date").n_unique()).item() == capped.height
    # the same customers on a rerun, with the same labels as the uncapped set
    assert capped.equals(purchase_training_set(path, plan, 150))
    joined = capped.join(full, on=["customer_id", "as_of_date"], suffix="_full")
    assert joined.height == capped.height and (joined["label_orders"] == joined["label_orders_full"]).all()
    # the sampled rows are the full set's rows, every column, in (as_of_date, customer_id) order
    keys = ["as_of_date", "customer_id"]
    assert capped.equals(full.join(capped.select(keys), on=keys, how="semi").sort(keys).select(capped.columns))
    # a cap above every cutoff's size changes nothing
    assert purchase_training_set(path, plan, 10**9).equals(full)

    buyers = category_training_set(path, plan)
    capped_buyers = category_training_set(path, plan, 40)
    assert capped_buyers.group_by("as_of_date").len()["len"].max() == 40
    assert capped_buyers.equals(category_training_set(path, plan, 40))
    assert capped_buyers.equals(buyers.join(capped_buyers.select(keys), on=keys, how="semi").sort(keys)
                                .select(capped_buyers.columns))
    assert buyers.select(pl.struct(keys).n_unique()).item() == buyers.height and buyers["next_category"].null_count() == 0

    class Ctx:
        config = {"max_rows_per_cutoff": 250_000, "max_training_rows": 400_000}

    assert _rows_per_cutoff(Ctx, plan) == 400_000 // len(plan.cutoffs)
    assert _rows_per_cutoff(Ctx, plan, {"max_training_rows": 600}) == 600 // len(plan.cutoffs)
    Ctx.config = {"max_rows_per_cutoff": None, "max_training_rows": None}
    assert _rows_per_cutoff(Ctx, plan) is None
