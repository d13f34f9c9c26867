from datetime import date

from ml.served_versions import plan, served_version


def row(version, as_of, gate="promoted", rolled_back_from=None):
    return {"version": str(version), "as_of_date": as_of, "gate": gate, "rolled_back_from": rolled_back_from}


VERSIONS = [row(1, "2026-01-01"), row(2, "2026-02-01", gate="refused"), row(3, "2026-03-01")]


def test_today_uses_the_champion():
    assert served_version(VERSIONS, "3", date(2026, 3, 5)) == "3"
    assert served_version(VERSIONS, "3", date(2026, 3, 1)) == "3"


def test_history_uses_what_was_promoted_by_then_and_never_a_refused_version():
    assert served_version(VERSIONS, "3", date(2026, 2, 15)) == "1"
    assert served_version(VERSIONS, "3", date(2026, 1, 1)) == "1"


def test_before_any_promotion_nothing_serves():
    assert served_version(VERSIONS, "3", date(2025, 12, 31)) is None


def test_a_rollback_serves_the_target_now_and_strikes_the_bad_version_from_history():
    versions = [row(1, "2026-01-01"), row(3, "2026-03-01", rolled_back_from="champion moved to 1"), row(4, "2026-04-01")]
    assert served_version(versions, "1", date(2026, 4, 2)) == "1"
    assert served_version(versions, "1", date(2026, 3, 15)) == "1"


def test_no_versions_means_the_champion_or_nothing():
    assert served_version([], None, date(2026, 1, 1)) is None


def test_plan_per_day():
    days = [date(2026, 2, 1), date(2026, 3, 2)]
    assert plan({"m": VERSIONS}, {"m": "3"}, days) == {days[0]: (("m", "1"),), days[1]: (("m", "3"),)}
