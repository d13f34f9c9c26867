"""Shared fixtures for the ml tests: a synthetic warehouse, fast MLflow homes, one trained home."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ml import registry
from ml.synthetic import build_synthetic_warehouse

# Small models and thresholds so the whole suite stays fast; the logic under test is the same.
FAST_CONFIG = {
    "booster": {"n_estimators": 30, "learning_rate": 0.3, "max_depth": 3, "max_bin": 64, "early_stopping_rounds": 8,
                "nthread": 2},
    "small_shop": {"min_rows": 200, "min_positives": 20, "min_negatives": 20, "min_validation_rows": 50,
                   "min_test_rows": 50, "min_history_days": 28},
    "split": {"n_train": 3, "n_valid": 1, "n_test": 1, "min_spacing_days": 7, "embargo": "auto"},
    "behavioral_clusters": {"k_range": [3, 5], "sample_size": 3000},
    "next_category": {"top_k": 4},
}


@pytest.fixture(scope="session")
def synthetic_warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    info = build_synthetic_warehouse(path, n_customers=1000, days=150, seed=3)
    return path, info


@pytest.fixture(scope="session")
def mlflow_schema(tmp_path_factory) -> Path:
    """An MLflow sqlite file with the tables created once (migrations take seconds)."""
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    registry.ensure_schema(path)
    return path


@pytest.fixture
def tmp_home(tmp_path, mlflow_schema) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(mlflow_schema, home / "mlflow.db")
    registry.ensure_tracking(home)
    return home


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory, mlflow_schema, synthetic_warehouse):
    """A home where every family was trained once on the synthetic warehouse."""
    from ml.train import FAMILIES, train_family

    home = tmp_path_factory.mktemp("trained") / "home"
    home.mkdir()
    shutil.copy(mlflow_schema, home / "mlflow.db")
    registry.ensure_tracking(home)
    path, info = synthetic_warehouse
    results = {family: train_family(family, path, home, info["end"], FAST_CONFIG) for family in FAMILIES}
    return home, results
