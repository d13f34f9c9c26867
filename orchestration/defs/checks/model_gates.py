"""Whether what is served for each model family clears that family's promotion gate (ml/gates.py)."""

import dagster as dg

from ml import registry
from orchestration.defs.checks.outcome import check_result
from orchestration.quality.gates import gate_for, served_model_gate
from orchestration.resources import current_home

WORST_FIRST = ("fail", "warn", "pass")


def _gate_check(family: str) -> dg.AssetChecksDefinition:
    gate = gate_for(family)

    @dg.asset_check(
        asset=["models", family],
        name="served_model_meets_gate",
        description=(
            f"The champion of each {family} model clears its gate ({gate.metric} against its baseline"
            f"{'' if gate.threshold is None else f' / above {gate.threshold}'}). A candidate that failed its "
            "gate is fine (the champion keeps serving). WARN when a baseline is served; ERROR when nothing "
            "is served or the served model does not clear the gate (e.g. after a rollback). Not blocking: "
            "the gate already decides promotion, and stale scores would mislead more than a known-weak model."
        ),
    )
    def _check() -> dg.AssetCheckResult:
        home = current_home()
        verdicts = {}
        for name in registry.FAMILIES[family]:
            champion = next((r for r in registry.list_versions(home.root, name) if "champion" in r["aliases"]), None)
            verdicts[name] = served_model_gate(champion, gate)
        outcome = next(o for o in WORST_FIRST if o == "pass" or any(v[0] == o for v in verdicts.values()))
        reasons = [reason for o, reason in verdicts.values() if o != "pass"]
        return check_result(outcome, reasons, {
            "served": dg.MetadataValue.json({name: {"outcome": o, "reason": r} for name, (o, r) in verdicts.items()}),
            "gate_metric": gate.metric,
        })

    return _check


gate_checks = [_gate_check(family) for family in registry.FAMILIES]
