"""What an interrupted training leaves in MLflow is undone: half-registered versions, a moved alias,
runs left RUNNING; and version numbers come out as in an uninterrupted run."""

from datetime import date

from ml import registry
from tests.ml.test_registry import fitted

FAMILY, NAME = "purchase_propensity", "purchase_propensity_7d"
OTHER = "purchase_propensity_30d"


def _log(home, name, as_of: str, seed=0):
    model, frame = fitted(seed)
    return registry.log_version(home, FAMILY, name, model, input_example=frame.head(5), metrics={"roc_auc": 0.8},
                                tags={"as_of_date": as_of})


def test_a_finished_training_is_kept_and_an_interrupted_one_is_undone(tmp_home):
    home = tmp_home
    first = date(2026, 1, 8)
    for name in registry.FAMILIES[FAMILY]:
        registry.record_decision(home, _log(home, name, first.isoformat()), True, "first")
    registry.mark_trained(home, FAMILY, first)

    # a second training killed midway: one model gated and promoted, one registered without its gate,
    # and an MLflow run that never ended
    promoted = _log(home, NAME, "2026-01-15", seed=1)
    registry.record_decision(home, promoted, True, "better")
    half = _log(home, OTHER, "2026-01-15", seed=1)
    experiment = registry.client_for(home).get_experiment_by_name(registry.experiment_name(FAMILY))
    running = registry.client_for(home).create_run(experiment.experiment_id).info.run_id
    assert registry.champion_info(home, NAME)["version"] == promoted.version == "2"

    removed = registry.discard_incomplete_training(home, FAMILY)

    assert sorted(removed) == sorted([f"{NAME}/2", f"{OTHER}/2"])
    assert registry.trained_cutoffs(home, FAMILY) == {first.isoformat()}
    assert registry.champion_info(home, NAME)["version"] == "1", "the alias goes back to the replaced champion"
    assert registry.load_champion(home, OTHER).version == "1"
    assert [r["version"] for r in registry.list_versions(home, NAME)] == ["1"]
    assert registry.client_for(home).get_run(running).info.status == "KILLED"
    assert half.version == "2"
    # retraining numbers the versions as an uninterrupted run would have
    assert _log(home, NAME, "2026-01-15", seed=1).version == "2"
    assert registry.discard_incomplete_training(home, FAMILY) == [f"{NAME}/2"]  # still unfinished: no gate


def test_a_home_from_before_completion_markers_keeps_its_gated_versions(tmp_home):
    home = tmp_home
    client = registry.client_for(home)
    experiment = client.get_experiment_by_name(registry.experiment_name(FAMILY))
    client.delete_experiment_tag(experiment.experiment_id, registry.MARKERS_TAG)
    for name in registry.FAMILIES[FAMILY]:
        registry.record_decision(home, _log(home, name, "2026-01-08"), True, "first")

    assert registry.discard_incomplete_training(home, FAMILY) == []
    assert registry.trained_cutoffs(home, FAMILY) == {"2026-01-08"}
