import json
from datetime import date, datetime, timedelta, timezone

import dagster as dg
import pytest

from orchestration.partitions import (
    START_ENV,
    daily_partitions,
    dbt_build_args,
    dbt_window_environment,
    dbt_window_vars,
    last_closed_day,
    landing_days,
    partition_keys,
    partitions_start,
    range_tags,
    window_dates,
)
from shop.home import Home


def test_window_dates_turn_an_exclusive_end_into_an_inclusive_last_day():
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    end = datetime(2026, 3, 4, tzinfo=timezone.utc)
    assert window_dates(start, end) == (date(2026, 3, 1), date(2026, 3, 3))


def test_a_single_day_window():
    assert window_dates(date(2026, 3, 1), date(2026, 3, 2)) == (date(2026, 3, 1), date(2026, 3, 1))


def test_an_empty_window_is_an_error():
    with pytest.raises(ValueError):
        window_dates(date(2026, 3, 2), date(2026, 3, 2))


def test_dbt_vars_are_inclusive_iso_dates():
    assert dbt_window_vars(date(2026, 1, 30), date(2026, 2, 2)) == {"min_date": "2026-01-30", "max_date": "2026-02-02"}
    with pytest.raises(ValueError):
        dbt_window_vars(date(2026, 2, 2), date(2026, 1, 30))


def test_scheduled_dbt_builds_skip_unit_tests_and_carry_the_window():
    args = dbt_build_args(date(2026, 1, 30), date(2026, 2, 2))
    assert args[:3] == ["build", "--exclude-resource-type", "unit_test"]
    assert json.loads(args[args.index("--vars") + 1]) == {"min_date": "2026-01-30", "max_date": "2026-02-02"}
    assert dbt_build_args() == ["build", "--exclude-resource-type", "unit_test"]


def test_the_window_as_dbt_reads_it_from_the_environment():
    assert dbt_window_environment(date(2026, 1, 30), date(2026, 2, 2)) == {
        "SEGMENTS_DBT_MIN_DATE": "2026-01-30", "SEGMENTS_DBT_MAX_DATE": "2026-02-02"}
    assert dbt_window_environment() == {"SEGMENTS_DBT_MIN_DATE": "", "SEGMENTS_DBT_MAX_DATE": ""}
    with pytest.raises(ValueError):
        dbt_window_environment(date(2026, 2, 2), date(2026, 1, 30))


def test_partition_keys_cover_the_range():
    assert partition_keys(date(2026, 2, 27), date(2026, 3, 1)) == ["2026-02-27", "2026-02-28", "2026-03-01"]


def test_range_tags_for_a_single_run_backfill():
    assert range_tags(date(2026, 1, 1), date(2026, 1, 31)) == {
        "dagster/asset_partition_range_start": "2026-01-01",
        "dagster/asset_partition_range_end": "2026-01-31",
    }
    with pytest.raises(ValueError):
        range_tags(date(2026, 1, 2), date(2026, 1, 1))


def test_partitions_start_from_setting_then_landing_then_default(tmp_path):
    home = Home(tmp_path)
    assert partitions_start(home, env={START_ENV: "2024-05-06"}) == date(2024, 5, 6)
    assert partitions_start(home, env={}) == date(2025, 1, 1)
    for day in ("2026-02-03", "2026-01-09"):
        home.landing_events_day(day).mkdir(parents=True)
    (home.landing / "events" / "not_a_day").mkdir()
    assert landing_days(home.landing / "events") == [date(2026, 1, 9), date(2026, 2, 3)]
    assert partitions_start(home, env={}) == date(2026, 1, 9)


def test_todays_partition_exists_for_the_micro_batch(tmp_path):
    today = datetime.now(timezone.utc).date()
    partitions = daily_partitions(Home(tmp_path))
    assert partitions.get_last_partition_key() == today.isoformat()


def test_last_closed_day_is_the_utc_day_before():
    assert last_closed_day(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)) == date(2026, 11, 22)
    assert last_closed_day(datetime(2026, 11, 23, 0, 30, tzinfo=timezone(timedelta(hours=2)))) == date(2026, 11, 21)
    with pytest.raises(ValueError):
        last_closed_day(datetime(2026, 11, 23, 2, 0))


def test_the_0200_schedule_closes_yesterday_not_todays_open_partition():
    from orchestration.defs.jobs import daily_schedule

    assert daily_schedule.cron_schedule == "0 2 * * *" and daily_schedule.job_name == "daily_pipeline"
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc))
    request = daily_schedule(context)
    assert (request.partition_key, request.run_key) == ("2026-11-22", "2026-11-22")
