"""What the benchmarks read back from a home's Dagster instance: the newest run's steps, their seconds,
the largest process sampled while each ran, and a table of the three per step."""

from __future__ import annotations

from pathlib import Path

from bench.harness import GIB, Measured


def instance(home: Path):
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster")))


def latest_run(home: Path) -> tuple[str, list[tuple[str, float]], list]:
    """(run id, step seconds slowest first, event records) of the newest run under the home."""
    with instance(home) as inst:
        record = inst.get_run_records(limit=1)[0]
        run_id = record.dagster_run.run_id
        steps = sorted(step_seconds(inst, run_id).items(), key=lambda item: -item[1])
        logs = inst.all_logs(run_id)
    return run_id, steps, logs


def step_seconds(inst, run_id: str) -> dict[str, float]:
    """Seconds per step key of one run."""
    return {stat.step_key: (stat.end_time or 0) - (stat.start_time or 0) for stat in inst.get_run_step_stats(run_id)}


def step_peaks(home: Path, run_id: str, measured: Measured) -> dict[str, int]:
    """Largest process RSS sampled while each step of the run ran (steps running side by side share it)."""
    with instance(home) as inst:
        stats = inst.get_run_step_stats(run_id)
    return {s.step_key: measured.peak_between(s.start_time or 0, s.end_time or 0) for s in stats}


def step_table(steps: list[tuple[str, float]], peaks: dict[str, int], events: int) -> list[str]:
    """Markdown rows: each step's seconds, the run's events per second of that step, and its peak RSS
    ('-' where no sample fell within a step shorter than the sampling interval)."""
    lines = ["| step | seconds | events/s | peak RSS |", "|---|---|---|---|"]
    for step, seconds in steps:
        rate = f"{events / seconds:,.0f}" if seconds > 0 else "-"
        peak = f"{peaks[step] / GIB:.2f} GiB" if peaks.get(step) else "-"
        lines.append(f"| {step} | {seconds:.1f} | {rate} | {peak} |")
    return lines
