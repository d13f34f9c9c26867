"""Where everything the platform writes at run time lives: one home folder.

`$SEGMENTS_HOME` (default `./data`) holds the landing zone, the validated lake, the DuckDB
warehouse, the MLflow store, the Dagster instance, exports and the BI serving copy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "SEGMENTS_HOME"
DEFAULT_HOME = "./data"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def from_env(cls) -> "Home":
        return cls(Path(os.environ.get(HOME_ENV, DEFAULT_HOME)).expanduser().resolve())

    # raw files as delivered (generated, imported, or dropped by another system)
    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def landing_events_day(self, day: str) -> Path:
        return self.landing / "events" / f"event_date={day}"

    @property
    def landing_quarantine(self) -> Path:
        """Rows an importer refused, waiting to be loaded into `quarantine.events`."""
        return self.landing / "_quarantine"

    # validated, typed, contract-shaped parquet that dbt reads
    @property
    def lake(self) -> Path:
        return self.root / "lake"

    def lake_events_day(self, day: str) -> Path:
        return self.lake / "events" / f"event_date={day}"

    @property
    def ground_truth(self) -> Path:
        """The synthetic shop's answers; beside the landing zone, never inside it."""
        return self.root / "ground_truth"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def mlflow_db(self) -> Path:
        return self.root / "mlflow.db"

    @property
    def mlflow_uri(self) -> str:
        return f"sqlite:///{self.mlflow_db}"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.root / "mlartifacts"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def dbt_runs(self) -> Path:
        """One folder per dbt invocation of a run: run_results.json, compiled SQL, dbt.log."""
        return self.root / "dbt" / "runs"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def serving(self) -> Path:
        return self.root / "serving"

    def ensure(self) -> "Home":
        for path in (self.landing, self.lake, self.dagster_home, self.exports, self.serving, self.mlflow_artifacts):
            path.mkdir(parents=True, exist_ok=True)
        return self


def home() -> Home:
    return Home.from_env()
