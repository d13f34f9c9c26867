"""Session-wide: the order test files start in under pytest-xdist, and homes shared across workers."""

from __future__ import annotations

import os

import pytest

from tests.shared_homes import built_once

# Files whose end-to-end runs take minutes, longest first: started first, so that no worker is left
# with one of them while the others have finished (with --dist loadfile --no-loadscope-reorder).
LONG_FILES = (
    "tests/orchestration/test_crash_recovery.py",
    "tests/orchestration/test_pipeline.py",
    "tests/orchestration/test_run_plan.py",
    "tests/privacy/test_forget.py",
    "tests/orchestration/test_idempotency.py",
    "tests/orchestration/test_late_data_pipeline.py",
)
MAX_WORKERS = 4  # every worker may run a whole pipeline: DuckDB, dbt and XGBoost each take cores and memory


def pytest_xdist_auto_num_workers(config) -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def pytest_collection_modifyitems(config, items) -> None:
    rank = {path: i for i, path in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(LONG_FILES)))  # stable: the rest keep their order


@pytest.fixture(scope="session")
def small_shop_home(tmp_path_factory):
    """The 150-customer, 14-day shop of the pipeline and privacy tests after one full run; shared by every
    worker, so copy it (`tests.shared_homes.copy_home`) before running anything on it."""
    from tests.orchestration.conftest import build_small_shop

    return built_once(tmp_path_factory, "small-shop", build_small_shop)
