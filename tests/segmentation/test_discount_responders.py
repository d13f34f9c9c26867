"""likely_discount_responders is empty when no personalised discount-response model is served:
the constant baseline (average treatment effect for everyone) is scored as NULL, not as everyone's uplift."""

from datetime import date

import duckdb
import numpy as np
import polars as pl

from ml.fallbacks import ConstantUplift
from ml.registry import Champion
from ml.score import build_scores
from segmentation.compiler import compile_rule
from segmentation.rules import load_segments
from tests.segmentation.test_rules import REPO

FEATURES = pl.DataFrame({"customer_id": [f"c{i}" for i in range(50)], "as_of_date": [date(2025, 5, 1)] * 50})


class Personal:
    kind = "model"

    def score(self, frame):
        return {"discount_uplift": np.linspace(0.0, 0.1, frame.height)}


def responders(scores: pl.DataFrame) -> int:
    rule = next(s.rule for s in load_segments(REPO / "segments.yml").segments if s.name == "likely_discount_responders")
    with duckdb.connect() as con:
        con.register("scores", scores.to_arrow())
        return con.execute(f"select count(*) from scores where {compile_rule(rule).sql}").fetchall()[0][0]


def test_a_served_constant_baseline_scores_null_and_puts_no_one_in_the_segment():
    # treated buy at 0.5, control at 0.4: an average effect of +0.10, above the rule's 0.05 for everyone
    baseline = ConstantUplift().fit(FEATURES, np.arange(50) % 2 == 0, (np.arange(50) % 10) < np.where(np.arange(50) % 2 == 0, 5, 4))
    assert baseline.ate_ >= 0.05
    scores, _ = build_scores(FEATURES, {"discount_response": Champion("discount_response", "3", "baseline", "r", baseline)})
    assert scores["discount_uplift"].null_count() == 50 and scores["reason_discount_uplift"].null_count() == 50
    assert scores["discount_response_version"].unique().to_list() == ["3"]
    assert responders(scores) == 0


def test_a_personalised_model_is_scored_and_only_its_high_uplift_customers_are_responders():
    scores, _ = build_scores(FEATURES, {"discount_response": Champion("discount_response", "4", "model", "r", Personal())})
    assert scores["discount_uplift"].null_count() == 0
    assert responders(scores) == int((np.linspace(0.0, 0.1, 50) >= 0.05).sum())
