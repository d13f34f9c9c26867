from datetime import date, datetime, timezone

import pytest

from orchestration.lookback import affected_window, partition_rebuild_window, rebuild_window
from shop.home import Home
from shop.late_data import record_corrected_days

D = date(2024, 3, 11)


def test_affected_window_extends_back_to_the_earliest_corrected_day():
    assert affected_window(D, D, [], 3) == (D, D)
    assert affected_window(D, D, [date(2024, 3, 9), date(2024, 3, 8)], 3) == (date(2024, 3, 8), D)
    assert affected_window(D, date(2024, 3, 13), [date(2024, 3, 12)], 3) == (D, date(2024, 3, 13))
    # a reloaded day 3 days back may hold events 3 more days late
    assert affected_window(D, D, [date(2024, 3, 5)], 3) == (date(2024, 3, 5), D)


def test_affected_window_refuses_days_no_load_could_have_corrected():
    with pytest.raises(ValueError, match="outside 2024-03-05..2024-03-11"):
        affected_window(D, D, [date(2024, 3, 4)], 3)
    with pytest.raises(ValueError, match="outside"):
        affected_window(D, D, [date(2024, 3, 12)], 3)
    with pytest.raises(ValueError, match="before first"):
        affected_window(D, date(2024, 3, 10), [], 3)


def test_downstream_windows_read_the_lake_record(tmp_path):
    home = Home(tmp_path)
    assert rebuild_window(home, D, D) == (D, D)
    record_corrected_days(home.lake / "events", D, D, [date(2024, 3, 9)], 3)
    assert rebuild_window(home, D, D) == (date(2024, 3, 9), D)
    assert rebuild_window(home, date(2024, 3, 12), date(2024, 3, 12)) == (date(2024, 3, 12), date(2024, 3, 12))
    window = (datetime(2024, 3, 11, tzinfo=timezone.utc), datetime(2024, 3, 12, tzinfo=timezone.utc))
    assert partition_rebuild_window(home, window) == (date(2024, 3, 9), D)
