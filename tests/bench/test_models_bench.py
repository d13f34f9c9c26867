from types import SimpleNamespace

import numpy as np

from bench.bench_models import served_trees
from ml.boosting import BoosterParams
from ml.fallbacks import RFMScore
from ml.propensity import PurchasePropensity
from ml.synthetic import synthetic_features
from ml.uplift import TLearnerUplift


def test_served_trees_count_every_booster_a_model_holds():
    frame = synthetic_features(400, 0).drop("persona")
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.3).astype(float)
    treated = rng.random(400) < 0.5
    params = BoosterParams(n_estimators=4, early_stopping_rounds=0, nthread=1)
    propensity = PurchasePropensity(7, params).fit(frame, y)
    uplift = TLearnerUplift(booster_params=params).fit(frame, treated, y)  # boosters in a dict, one per arm
    champions = {name: SimpleNamespace(estimator=model) for name, model in
                 (("p", propensity), ("u", uplift), ("rfm", RFMScore("p_purchase_7d").fit(frame, y)))}
    trees = served_trees({**champions, "absent": None})
    assert trees["p"] == 4 and trees["u"] >= 8
    assert "rfm" not in trees and "absent" not in trees
