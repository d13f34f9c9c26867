"""MLflow tracking and model registry under the home: runs, versions, the `champion` alias.

`ensure_tracking(home)` must run once, alone, before anything trains or scores in parallel: it
creates or upgrades the sqlite store (two processes creating it at once corrupt it), creates one
experiment per family with an artifact location under <home>/mlartifacts, and the registered models.
Champion = the alias `champion` (aliases, not stages). A version is tagged `serve` = model|baseline,
so a served baseline is an ordinary registered version and scoring always loads `@champion`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse
from urllib.request import url2pathname

import polars as pl

CHAMPION = "champion"
REPLACES_CHAMPION = "replaces_champion"  # version tag: the champion a promotion moved the alias from
TRAINED_PREFIX = "trained_cutoff/"  # experiment tag per as-of date a family finished training (gated every model)
MARKERS_TAG = "trained_cutoff_markers"  # experiment tag: completion markers are kept (absent on older homes)
FAMILIES = {
    "purchase_propensity": ("purchase_propensity_7d", "purchase_propensity_30d", "purchase_propensity_90d"),
    "churn_risk": ("churn_risk",),
    "customer_lifetime_value": ("customer_lifetime_value",),
    "discount_response": ("discount_response",),
    "next_category": ("next_category",),
    "behavioral_clusters": ("behavioral_clusters",),
}
PIP_REQUIREMENTS_PACKAGES = ("xgboost-cpu", "scikit-learn", "polars", "pandas", "numpy", "scipy", "mlflow", "pyarrow")


def configure_environment() -> None:
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ["MLFLOW_UV_AUTO_DETECT"] = "false"
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


configure_environment()

import mlflow  # noqa: E402  (after the environment is set)
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402


def _root(home) -> Path:
    """A shop.home.Home, or a path to the home folder."""
    if not isinstance(home, (str, os.PathLike)):
        home = home.root
    return Path(home).expanduser().resolve()


def tracking_uri(home) -> str:
    return f"sqlite:///{_root(home) / 'mlflow.db'}"


def artifact_root(home) -> Path:
    return _root(home) / "mlartifacts"


def experiment_name(family: str) -> str:
    return f"segments/{family}"


def registered_names(family: str) -> tuple[str, ...]:
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; known: {sorted(FAMILIES)}")
    return FAMILIES[family]


def ensure_schema(db_path: str | Path) -> str:
    """Create or upgrade the MLflow tables in a sqlite file (no experiments); returns its URI."""
    import sqlalchemy
    from mlflow.store.db import utils as db_utils

    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{db_path.resolve()}"
    engine = sqlalchemy.create_engine(uri)
    try:
        if not db_utils._all_tables_exist(engine):
            db_utils._initialize_tables(engine)
        elif db_utils._get_schema_version(engine) != db_utils._get_latest_schema_revision():
            db_utils._upgrade_db(engine)
    finally:
        engine.dispose()
    return uri


def ensure_tracking(home, horizons: tuple[int, ...] | None = None) -> str:
    """Create/upgrade the tracking DB, the family experiments and the registered models; idempotent.
    Run once, before anything trains or scores in parallel."""
    root = _root(home)
    artifact_root(home).mkdir(parents=True, exist_ok=True)
    uri = ensure_schema(root / "mlflow.db")
    adopt_store(root)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for family in FAMILIES:
        name = experiment_name(family)
        if client.get_experiment_by_name(name) is None:
            location = artifact_root(home) / family
            location.mkdir(parents=True, exist_ok=True)
            client.create_experiment(name, artifact_location=location.as_uri(), tags={MARKERS_TAG: "1"})
        for model in _names_for(family, horizons):
            try:
                client.get_registered_model(model)
            except MlflowException:
                client.create_registered_model(model, tags={"family": family})
    return uri


def adopt_store(home) -> Path | None:
    """Make the home's MLflow store point into the home; returns the root it pointed at when that was
    another folder (the home was copied or moved), else None.
    MLflow stores absolute artifact locations, so a moved home would score with the original's
    artifacts, or fail once those are gone: every text column is rewritten from the former root to this
    one. The Default experiment, which MLflow places under the working directory, moves into the home."""
    root = _root(home)
    store = root / "mlflow.db"
    if not store.exists():
        return None
    with sqlite3.connect(store) as con:
        if not con.execute("select 1 from sqlite_master where type = 'table' and name = 'experiments'").fetchall():
            return None
        locations = [r[0] for r in con.execute("select artifact_location from experiments where name like 'segments/%'")]
        former = _former_root(locations)
        moved = former is not None and former != root
        if moved:
            for old, new in ((former.as_uri(), root.as_uri()), (str(former), str(root))):
                _replace_in_text_columns(con, old + "/", new + "/")
        own = artifact_root(root).as_uri()
        con.execute("update experiments set artifact_location = ? where experiment_id = 0 and "
                    "substr(artifact_location, 1, length(?)) != ? and not exists (select 1 from runs where experiment_id = 0)",
                    (f"{own}/0", own, own))
    return former if moved else None


def _former_root(locations: list[str]) -> Path | None:
    """The home the family experiments were created in: <root>/mlartifacts/<family>."""
    for location in locations:
        parsed = urlparse(location or "")
        path = Path(url2pathname(parsed.path)) if parsed.scheme == "file" else Path(location or "")
        if path.is_absolute() and path.parent.name == "mlartifacts":
            return path.parent.parent
    return None


def _replace_in_text_columns(con: sqlite3.Connection, old: str, new: str) -> None:
    tables = [r[0] for r in con.execute("select name from sqlite_master where type = 'table'")]
    for table in tables:
        for column in con.execute(f'pragma table_info("{table}")').fetchall():
            name, kind = column[1], (column[2] or "").upper()
            if "CHAR" in kind or "TEXT" in kind or "CLOB" in kind:
                con.execute(f'update "{table}" set "{name}" = replace("{name}", ?, ?) where instr("{name}", ?) > 0',
                            (old, new, old))


def _names_for(family: str, horizons: tuple[int, ...] | None) -> tuple[str, ...]:
    if family == "purchase_propensity" and horizons:
        return tuple(f"purchase_propensity_{h}d" for h in horizons)
    return FAMILIES[family]


def client_for(home) -> MlflowClient:
    uri = tracking_uri(home)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextmanager
def _using(home) -> Iterator[None]:
    """Point the fluent mlflow API at this home for the duration (restored afterwards)."""
    previous_tracking = mlflow.get_tracking_uri()
    previous_registry = mlflow.get_registry_uri()
    uri = tracking_uri(home)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous_tracking)
        mlflow.set_registry_uri(previous_registry)


def code_version() -> str:
    """git sha of the working tree (suffixed -dirty when modified), else the package version."""
    repo = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=5)
        if sha.returncode == 0 and sha.stdout.strip():
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                                   capture_output=True, text=True, timeout=5)
            return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return "segments-" + metadata.version("segments")
    except metadata.PackageNotFoundError:
        return "unknown"


def pip_requirements() -> list[str]:
    pins = []
    for package in PIP_REQUIREMENTS_PACKAGES:
        try:
            pins.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def _flat_metrics(prefix: str, metrics: dict | None) -> dict[str, float]:
    out = {}
    for key, value in (metrics or {}).items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)) and value == value and abs(value) != float("inf"):
            out[f"{prefix}{key}"] = float(value)
    return out


@dataclass
class LoggedVersion:
    name: str
    version: str
    run_id: str


VERSION_TAGS = ("as_of_date", "training_window", "data_fingerprint", "code_version")


def log_version(
    home,
    family: str,
    name: str,
    estimator,
    *,
    input_example,
    params: dict | None = None,
    metrics: dict | None = None,
    baseline_metrics: dict | None = None,
    champion_metrics: dict | None = None,
    tags: dict | None = None,
    plots: dict[str, Path] | None = None,
    extra_json: dict[str, Any] | None = None,
) -> LoggedVersion:
    """One MLflow run: params, metrics (test_*, baseline_*, champion_*), plots, JSON details and the
    pyfunc model with signature + input example, registered as a new version of `name`."""
    import mlflow.pyfunc
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema

    from ml.serving import ESTIMATOR_ARTIFACT, ScorePyfunc, example_output, save_estimator

    kind = getattr(estimator, "kind", "model")
    client = client_for(home)
    experiment = client.get_experiment_by_name(experiment_name(family))
    if experiment is None:
        raise RuntimeError(f"experiment {experiment_name(family)!r} missing: call ml.registry.ensure_tracking(home) first")
    # integer columns become doubles: real rows carry missing values an int schema would refuse
    example_pd = input_example.with_columns(
        pl.col(c).cast(pl.Float64) for c, t in input_example.schema.items() if t.is_integer()
    ).to_pandas()
    inferred = infer_signature(example_pd, example_output(estimator, input_example))
    # every input column optional: shops differ in which feature columns they have
    signature = ModelSignature(
        inputs=Schema([ColSpec(c.type, c.name, required=False) for c in inferred.inputs.inputs]),
        outputs=inferred.outputs,
    )
    with _using(home), tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\..*")
        with mlflow.start_run(experiment_id=experiment.experiment_id, run_name=f"{name}-{kind}") as run:
            mlflow.set_tags({"family": family, "registered_model": name, "serve": kind, **{k: str(v) for k, v in (tags or {}).items()}})
            if params:
                mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
            flat = {**_flat_metrics("test_", metrics), **_flat_metrics("baseline_", baseline_metrics),
                    **_flat_metrics("champion_", champion_metrics)}
            if flat:
                mlflow.log_metrics(flat)
            for label, data in {"metrics": metrics, "baseline_metrics": baseline_metrics,
                                "champion_metrics": champion_metrics, **(extra_json or {})}.items():
                if data is not None:
                    mlflow.log_dict(json.loads(json.dumps(data, default=str)), f"details/{label}.json")
            for path in (plots or {}).values():
                if Path(path).exists():
                    mlflow.log_artifact(str(path), artifact_path="plots")
            estimator_path = save_estimator(estimator, Path(tmp))
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=ScorePyfunc(),
                artifacts={ESTIMATOR_ARTIFACT: str(estimator_path)},
                signature=signature,
                input_example=example_pd,
                pip_requirements=pip_requirements(),
            )
            run_id = run.info.run_id
            # registered with its tags in one call: a tag per call cost ~30 ms each on SQLite
            version_tags = {"serve": kind, "family": family}
            version_tags.update({key: str(tags[key]) for key in VERSION_TAGS if tags and key in tags})
            registered = mlflow.register_model(info.model_uri, name, tags=version_tags)
    return LoggedVersion(name, str(registered.version), run_id)


def record_decision(home, logged: LoggedVersion, promote: bool, reason: str) -> None:
    """Tag the run and the version with the gate outcome; move `champion` only when promoted."""
    client = client_for(home)
    outcome = "promoted" if promote else "refused"
    client.set_tag(logged.run_id, "gate", outcome)
    client.set_tag(logged.run_id, "gate_reason", reason[:5000])
    if promote:
        previous = champion_info(home, logged.name)
        if previous is not None:  # lets discard_incomplete_training put the alias back
            client.set_model_version_tag(logged.name, logged.version, REPLACES_CHAMPION, previous["version"])
        client.set_registered_model_alias(logged.name, CHAMPION, logged.version)
    # written last: a version without its gate tag is one a crash interrupted
    client.set_model_version_tag(logged.name, logged.version, "gate_reason", reason[:5000])
    client.set_model_version_tag(logged.name, logged.version, "gate", outcome)


@dataclass
class Champion:
    name: str
    version: str
    kind: str  # model | baseline
    run_id: str
    estimator: Any


def champion_info(home, name: str) -> dict | None:
    client = client_for(home)
    try:
        mv = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None
    return {"name": name, "version": str(mv.version), "kind": mv.tags.get("serve", "model"), "run_id": mv.run_id}


def load_champion(home, name: str) -> Champion | None:
    """The estimator behind `models:/<name>@champion`, or None when nothing was ever promoted."""
    import mlflow.pyfunc

    info = champion_info(home, name)
    if info is None:
        return None
    with _using(home):
        pyfunc = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")
    estimator = pyfunc.unwrap_python_model().estimator
    return Champion(name, info["version"], info["kind"], info["run_id"], estimator)


def load_version(home, name: str, version: str) -> Champion:
    """The estimator of one registered version (for scoring a past day with what served then)."""
    import mlflow.pyfunc

    client = client_for(home)
    mv = client.get_model_version(name, str(version))
    with _using(home):
        pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    return Champion(name, str(version), mv.tags.get("serve", "model"), mv.run_id, pyfunc.unwrap_python_model().estimator)


def list_versions(home, name: str | None = None) -> list[dict]:
    """Every version of the registered models (or one), newest first, with aliases, serve kind,
    gate outcome and the run's test/baseline/champion metrics."""
    client = client_for(home)
    names = [name] if name else [m.name for m in client.search_registered_models()]
    rows = []
    for model_name in sorted(names):
        aliases: dict[str, list[str]] = {}
        for alias, version in (client.get_registered_model(model_name).aliases or {}).items():
            aliases.setdefault(str(version), []).append(alias)
        for mv in client.search_model_versions(f"name = '{model_name}'"):
            metrics = {}
            if mv.run_id:
                try:
                    metrics = dict(client.get_run(mv.run_id).data.metrics)
                except MlflowException:
                    metrics = {}
            rows.append({
                "name": model_name,
                "version": str(mv.version),
                "aliases": sorted(aliases.get(str(mv.version), [])),
                "serve": mv.tags.get("serve"),
                "gate": mv.tags.get("gate"),
                "gate_reason": mv.tags.get("gate_reason"),
                "as_of_date": mv.tags.get("as_of_date"),
                "rolled_back_from": mv.tags.get("rolled_back_from"),
                "created": mv.creation_timestamp,
                "run_id": mv.run_id,
                "metrics": metrics,
            })
    rows.sort(key=lambda r: (r["name"], -int(r["version"])))
    return rows


def rollback(home, name: str, version: str | int) -> dict:
    """Move `champion` to an earlier version of `name`; records the rollback on both versions."""
    client = client_for(home)
    version = str(version)
    current = champion_info(home, name)
    try:
        client.get_model_version(name, version)
    except MlflowException as exc:
        raise ValueError(f"{name} has no version {version}") from exc
    if current is not None and int(version) >= int(current["version"]):
        raise ValueError(f"rollback target {version} is not earlier than the champion {current['version']}")
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_model_version_tag(name, version, "rolled_back_to", "true")
    if current is not None:
        client.set_model_version_tag(name, current["version"], "rolled_back_from", f"champion moved to {version}")
    return {"name": name, "champion": version, "previous": current["version"] if current else None}


def _experiment(client: MlflowClient, family: str):
    registered_names(family)  # unknown family -> ValueError
    experiment = client.get_experiment_by_name(experiment_name(family))
    if experiment is None:
        raise RuntimeError(f"experiment {experiment_name(family)!r} missing: call ml.registry.ensure_tracking(home) first")
    return experiment


def mark_trained(home, family: str, as_of) -> None:
    """Record that `family` finished training as of `as_of`: every model logged, gated and promoted or not."""
    client = client_for(home)
    client.set_experiment_tag(_experiment(client, family).experiment_id, f"{TRAINED_PREFIX}{as_of.isoformat()}", "complete")


def trained_cutoffs(home, family: str) -> set[str]:
    """As-of dates (ISO) `family` finished training for."""
    tags = _experiment(client_for(home), family).tags
    return {key[len(TRAINED_PREFIX):] for key in tags if key.startswith(TRAINED_PREFIX)}


def discard_incomplete_training(home, family: str) -> list[str]:
    """Undo what an interrupted training of `family` left behind (a killed process): MLflow runs still
    RUNNING end as KILLED; versions of an as-of date the family never finished, or without their gate
    tag, are removed (their runs deleted) and the champion alias goes back to the version they replaced.
    The removed version numbers are freed, so retraining numbers versions as an uninterrupted run would.
    Call it only while nothing else trains this family. Returns the removed 'name/version's."""
    client = client_for(home)
    experiment = _experiment(client, family)
    if MARKERS_TAG not in experiment.tags:  # a home from before completion markers: what was gated counts as done
        for row in list_versions(home, FAMILIES[family][0]):
            if row["gate"] and row["as_of_date"]:
                mark_trained(home, family, _iso_day(row["as_of_date"]))
        client.set_experiment_tag(experiment.experiment_id, MARKERS_TAG, "1")
    complete = trained_cutoffs(home, family)
    for run in client.search_runs([experiment.experiment_id], filter_string="attributes.status = 'RUNNING'"):
        client.set_terminated(run.info.run_id, status="KILLED")
    removed = []
    for name in FAMILIES[family]:
        stale = [mv for mv in client.search_model_versions(f"name = '{name}'")
                 if not mv.tags.get("gate") or (mv.tags.get("as_of_date") and mv.tags["as_of_date"] not in complete)]
        for mv in sorted(stale, key=lambda m: -int(m.version)):  # newest first: aliases unwind in order
            champion = champion_info(home, name)
            client.delete_model_version(name, mv.version)
            _purge_version(home, name, mv.version)
            if mv.run_id:
                try:
                    client.delete_run(mv.run_id)
                except MlflowException:
                    pass  # the run is already gone
            previous = mv.tags.get(REPLACES_CHAMPION)
            if champion and champion["version"] == str(mv.version) and previous:
                client.set_registered_model_alias(name, CHAMPION, previous)
            removed.append(f"{name}/{mv.version}")
    return removed


def _iso_day(value: str):
    from datetime import date

    return date.fromisoformat(str(value)[:10])


def _purge_version(home, name: str, version) -> None:
    """Remove a deleted version's rows: MLflow keeps them (and their number) after delete_model_version."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(tracking_uri(home))
    try:
        with engine.begin() as con:
            for table in ("model_version_tags", "model_versions"):
                con.execute(sqlalchemy.text(f"delete from {table} where name = :name and version = :version"),
                            {"name": name, "version": int(version)})
    finally:
        engine.dispose()
