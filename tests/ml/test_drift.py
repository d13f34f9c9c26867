import math

import numpy as np
import pytest

from ml.drift import EPSILON, bin_edges, drift_level, population_stability_index

UNIFORM = np.arange(1, 101, dtype=float)  # quartiles: 1-25, 26-50, 51-75, 76-100


def test_the_same_distribution_has_no_drift():
    assert population_stability_index(UNIFORM, UNIFORM) == pytest.approx(0.0)
    assert population_stability_index(UNIFORM, UNIFORM[::-1].copy()) == pytest.approx(0.0)


def test_a_textbook_case_by_hand():
    # reference quartile shares 25/25/25/25, current 10/20/30/40
    actual = np.concatenate([np.full(10, 5.0), np.full(20, 30.0), np.full(30, 60.0), np.full(40, 90.0)])
    by_hand = sum((a - 0.25) * math.log(a / 0.25) for a in (0.1, 0.2, 0.3, 0.4))
    assert by_hand == pytest.approx(0.2282, abs=1e-4)
    assert population_stability_index(UNIFORM, actual, bins=4) == pytest.approx(by_hand)


def test_an_empty_bin_gets_epsilon_instead_of_an_infinite_term():
    actual = np.full(100, 10.0)  # everything in the lower half of a median split
    expected_psi = (1 - 0.5) * math.log(1 / 0.5) + (EPSILON - 0.5) * math.log(EPSILON / 0.5)
    assert population_stability_index(UNIFORM, actual, bins=2) == pytest.approx(expected_psi)


def test_missing_values_are_a_bin_of_their_own():
    half_missing = np.concatenate([UNIFORM[::2], np.full(50, np.nan)])
    assert population_stability_index(UNIFORM, half_missing) >= 0.25
    with_nulls = [None if i % 5 == 0 else float(i) for i in range(100)]
    assert population_stability_index(with_nulls, with_nulls) == pytest.approx(0.0)
    # the same values with a new share of missing ones: only the missing bin moves
    assert population_stability_index(UNIFORM, list(UNIFORM) + [None] * 10) > population_stability_index(UNIFORM, UNIFORM)


def test_constant_columns():
    constant = np.full(50, 3.0)
    assert list(bin_edges(constant, 10)) == [3.0]
    assert population_stability_index(constant, constant) == pytest.approx(0.0)
    assert population_stability_index(constant, np.full(50, 4.0)) > 0.25
    assert population_stability_index(np.full(10, np.nan), np.full(10, np.nan)) == pytest.approx(0.0)


def test_a_shift_of_one_standard_deviation_is_major_and_a_small_one_is_not():
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, 20_000)
    assert population_stability_index(reference, rng.normal(1.0, 1, 20_000)) >= 0.25
    assert population_stability_index(reference, rng.normal(0.05, 1, 20_000)) < 0.1


def test_levels_and_bad_arguments():
    assert (drift_level(0.05), drift_level(0.1), drift_level(0.2), drift_level(0.25)) == ("ok", "warn", "warn", "fail")
    with pytest.raises(ValueError, match="bins"):
        population_stability_index(UNIFORM, UNIFORM, bins=1)
    with pytest.raises(ValueError, match="both sides"):
        population_stability_index([], UNIFORM)
