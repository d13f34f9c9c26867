"""One verdict shape for every check here: pass, warn (shown, never blocks) or fail (ERROR severity)."""

import dagster as dg

SEVERITY = {"warn": dg.AssetCheckSeverity.WARN, "fail": dg.AssetCheckSeverity.ERROR}


def check_result(outcome: str, reasons: list[str], metadata: dict) -> dg.AssetCheckResult:
    """An ERROR result stops downstream steps of the run only when the check is declared blocking."""
    if outcome not in ("pass", *SEVERITY):
        raise ValueError(f"unknown check outcome {outcome!r}")
    return dg.AssetCheckResult(
        passed=outcome == "pass",
        severity=SEVERITY.get(outcome, dg.AssetCheckSeverity.ERROR),
        description="; ".join(reasons) or None,
        metadata={"outcome": outcome, **metadata},
    )
