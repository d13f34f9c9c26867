import shutil
import sqlite3

import numpy as np
import pytest

from ml import registry
from ml.boosting import BoosterParams
from ml.propensity import PurchasePropensity
from ml.synthetic import planted_purchase_probability, synthetic_features

NAME = "purchase_propensity_7d"


def fitted(seed):
    frame = synthetic_features(600, seed).drop("persona")
    y = (np.random.default_rng(seed).random(600) < planted_purchase_probability(frame)).astype(float)
    return PurchasePropensity(7, BoosterParams(n_estimators=15, nthread=2)).fit(frame, y), frame


def test_register_promote_refuse_rollback_and_list(tmp_home):
    home = tmp_home
    assert registry.load_champion(home, NAME) is None
    m1, frame = fitted(0)
    v1 = registry.log_version(home, "purchase_propensity", NAME, m1, input_example=frame.head(5),
                              metrics={"roc_auc": 0.8}, baseline_metrics={"roc_auc": 0.7},
                              tags={"as_of_date": "2025-03-01", "training_window": "a..b",
                                    "code_version": registry.code_version(), "data_fingerprint": "x"})
    registry.record_decision(home, v1, True, "better than baseline")
    champion = registry.load_champion(home, NAME)
    assert (champion.version, champion.kind) == (v1.version, "model")
    assert np.allclose(champion.estimator.predict_proba(frame), m1.predict_proba(frame))

    m2, _ = fitted(1)
    v2 = registry.log_version(home, "purchase_propensity", NAME, m2, input_example=frame.head(5), metrics={"roc_auc": 0.6})
    registry.record_decision(home, v2, False, "worse than champion")
    assert registry.champion_info(home, NAME)["version"] == v1.version  # refused: old champion stays
    run = registry.client_for(home).get_run(v2.run_id)
    assert run.data.tags["gate"] == "refused" and run.data.tags["gate_reason"] == "worse than champion"

    m3, _ = fitted(2)
    v3 = registry.log_version(home, "purchase_propensity", NAME, m3, input_example=frame.head(5), metrics={"roc_auc": 0.85})
    registry.record_decision(home, v3, True, "better")
    assert registry.champion_info(home, NAME)["version"] == v3.version

    rows = registry.list_versions(home, NAME)
    assert [r["version"] for r in rows] == [v3.version, v2.version, v1.version]
    assert rows[0]["aliases"] == ["champion"] and rows[1]["gate"] == "refused"
    assert rows[2]["metrics"]["test_roc_auc"] == 0.8 and rows[2]["metrics"]["baseline_roc_auc"] == 0.7
    assert rows[2]["as_of_date"] == "2025-03-01"
    run1 = registry.client_for(home).get_run(v1.run_id)
    for tag in ("as_of_date", "training_window", "code_version", "data_fingerprint"):
        assert tag in run1.data.tags

    moved = registry.rollback(home, NAME, v1.version)
    assert moved == {"name": NAME, "champion": v1.version, "previous": v3.version}
    assert registry.load_champion(home, NAME).version == v1.version
    with pytest.raises(ValueError):
        registry.rollback(home, NAME, v3.version)  # not earlier than the champion
    with pytest.raises(ValueError):
        registry.rollback(home, NAME, 99)


def test_ensure_tracking_is_idempotent_and_puts_artifacts_under_home(tmp_home):
    uri = registry.ensure_tracking(tmp_home)
    assert uri == f"sqlite:///{(tmp_home / 'mlflow.db').resolve()}"
    client = registry.client_for(tmp_home)
    for family in registry.FAMILIES:
        experiment = client.get_experiment_by_name(registry.experiment_name(family))
        assert experiment.artifact_location.startswith((tmp_home / "mlartifacts").resolve().as_uri())
    names = {m.name for m in client.search_registered_models()}
    assert {"purchase_propensity_30d", "churn_risk", "customer_lifetime_value", "discount_response",
            "next_category", "behavioral_clusters"} <= names


def test_a_moved_home_serves_its_own_models(tmp_home, tmp_path):
    model, frame = fitted(0)
    version = registry.log_version(tmp_home, "purchase_propensity", NAME, model, input_example=frame.head(5),
                                   metrics={"roc_auc": 0.8})
    registry.record_decision(tmp_home, version, True, "first")
    moved = tmp_path / "moved home"  # a space: artifact URIs are percent-encoded, plain paths are not
    shutil.move(tmp_home, moved)

    registry.ensure_tracking(moved)

    assert registry.adopt_store(moved) is None  # already adopted: nothing left to rewrite
    champion = registry.load_champion(moved, NAME)
    assert np.allclose(champion.estimator.predict_proba(frame), model.predict_proba(frame))
    client = registry.client_for(moved)
    own = (moved / "mlartifacts").resolve().as_uri()
    assert client.get_run(version.run_id).info.artifact_uri.startswith(own)
    assert client.get_experiment("0").artifact_location.startswith(own)
    with sqlite3.connect(moved / "mlflow.db") as con:
        for table, column in (("experiments", "artifact_location"), ("runs", "artifact_uri"),
                              ("model_versions", "storage_location")):
            for (value,) in con.execute(f"select {column} from {table}"):
                assert str(tmp_home) not in (value or ""), (table, value)
