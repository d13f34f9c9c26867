from datetime import date

import pytest

from orchestration.cadence import anchor_days, is_anchor, spread, training_cutoffs

THURSDAY = date(2026, 1, 1)  # 1970-01-01 was a Thursday: weekly anchors are Thursdays


def test_weekly_anchors_are_thursdays():
    assert is_anchor(THURSDAY, 7)
    assert not is_anchor(date(2026, 1, 2), 7)
    assert anchor_days(date(2026, 1, 1), date(2026, 1, 20), 7) == [date(2026, 1, 1), date(2026, 1, 8), date(2026, 1, 15)]


def test_spread_keeps_the_last_and_limits_the_count():
    days = anchor_days(date(2026, 1, 1), date(2026, 4, 30), 7)
    picked = spread(days, 3)
    assert len(picked) == 3 and picked[-1] == days[-1] and picked[0] == days[0]
    assert spread(days[:2], 3) == days[:2]
    assert spread(days, 1) == [days[-1]]


def test_a_daily_run_trains_only_on_anchor_days():
    assert training_cutoffs(date(2026, 1, 2), date(2026, 1, 2)) == []
    assert training_cutoffs(THURSDAY, THURSDAY) == [THURSDAY]


def test_a_new_shop_trains_from_its_first_day_and_force_trains_as_of_the_last_day():
    day = date(2026, 1, 2)
    assert training_cutoffs(day, day, has_champion=False) == [day]
    assert training_cutoffs(day, date(2026, 1, 9), has_champion=False) == [day, date(2026, 1, 8)]
    assert training_cutoffs(day, day, force=True) == [day]
    assert training_cutoffs(THURSDAY, date(2026, 1, 3), force=True) == [THURSDAY, date(2026, 1, 3)]


def test_a_backfill_trains_at_a_few_spread_cutoffs():
    cutoffs = training_cutoffs(date(2026, 1, 1), date(2026, 4, 30), max_trainings=3)
    assert len(cutoffs) == 3 and all(is_anchor(d, 7) for d in cutoffs)
    assert cutoffs == sorted(cutoffs)


def test_bad_arguments():
    with pytest.raises(ValueError):
        training_cutoffs(date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(ValueError):
        is_anchor(THURSDAY, 0)
