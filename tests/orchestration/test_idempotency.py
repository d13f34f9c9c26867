"""Re-running partitions gives byte-identical tables: warehouse, serving copy and model registry.

The clean reference (conftest `clean_reference`) ran every day of a small shop once. Each test here
re-runs some days on one copy of that home and compares every table of every schema with the reference.
"""

from datetime import date, timedelta

import pytest

from tests.fingerprint import assert_same_tables, home_fingerprint
from tests.orchestration.conftest import REFERENCE_DAYS, REFERENCE_START, registry_listing, run_cli
from tests.shared_homes import copy_home

pytestmark = pytest.mark.slow

FIRST = date.fromisoformat(REFERENCE_START)
LAST = FIRST + timedelta(days=REFERENCE_DAYS - 1)
ANCHOR = FIRST + timedelta(days=7)  # a retrain anchor (Thursday): re-running it must not train again


@pytest.fixture(scope="module")
def rerun_home(clean_reference, tmp_path_factory):
    """(a copy of the reference home the tests here re-run days on, its fingerprints, its registry)"""
    home, reference, versions = clean_reference
    return copy_home(home, tmp_path_factory.mktemp("idempotency") / "home"), reference, versions


def _rerun_and_compare(rerun_home, start: date, end: date, what: str) -> None:
    home, reference, versions = rerun_home
    run_cli(home, "run", "--start", start.isoformat(), "--end", end.isoformat())
    assert_same_tables(reference, home_fingerprint(home), f"after re-running {what} ({start}..{end})")
    assert registry_listing(home) == versions, f"re-running {what} changed the model registry"


def test_rerunning_the_last_partition_changes_nothing(rerun_home):
    _rerun_and_compare(rerun_home, LAST, LAST, "the last day")


def test_backfilling_old_days_through_a_retrain_day_after_later_ones_changes_nothing(rerun_home):
    # one backfill covers what two re-runs did (old days after later ones; a retrain day that must not
    # train again), at the fixed cost of one run instead of two
    _rerun_and_compare(rerun_home, FIRST + timedelta(days=1), ANCHOR, "old days up to a retrain day")
