"""Shared by the data-path benchmarks: sizes, a shop in the lake, measured child processes, dbt."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from statistics import median

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
# Events per customer per day of the synthetic shop (bench_generate: 12.36 M events from 200,000 x 30).
EVENTS_PER_CUSTOMER_DAY = 2.06
GIB = 1024**3


def parse_count(text: str) -> int:
    """'10M', '1.5m', '500k', '2000000' -> int."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmM]?)\s*", text)
    if not match:
        raise ValueError(f"not a count: {text!r} (e.g. 10M, 500k, 2000000)")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(round(number * {"": 1, "k": 1_000, "m": 1_000_000}[unit]))


def customers_for(events: int, days: int) -> int:
    return max(1, round(events / (days * EVENTS_PER_CUSTOMER_DAY)))


@dataclass
class Measured:
    seconds: float
    peak_bytes: int
    stdout: str
    returncode: int = 0
    # (epoch seconds, RSS of the largest process of the child's tree) every `sample_every` seconds
    samples: list[tuple[float, int]] = field(default_factory=list)

    def peak_between(self, start: float, end: float) -> int:
        """Largest sampled RSS from `start` to `end` (epoch seconds); 0 if no sample fell there."""
        return max((rss for at, rss in self.samples if start <= at <= end), default=0)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def failure(self) -> str:
        """How a failed run ended, in words ('' when it succeeded)."""
        if self.ok:
            return ""
        if self.returncode == -9:
            return f"killed by SIGKILL (out of memory) after {self.seconds:.0f} s"
        tail = [line for line in self.stdout.strip().splitlines() if line.strip()][-1:] or [""]
        return f"exited {self.returncode} after {self.seconds:.0f} s: {tail[0][:160]}"


def run_measured(cmd: list[str], env: dict[str, str | None] | None = None, cwd: Path = REPO,
                 check: bool = True, sample_every: float | None = None) -> Measured:
    """Run a child process (env: overrides, None removes); wall time and peak RSS.

    The RSS is wait4's: the largest of the child and its waited-for descendants (dbt included).
    With `sample_every`, the largest process of the child's tree is also sampled (Measured.samples).
    With check=False a failed child is returned (its returncode set) instead of raised.
    """
    merged = {**os.environ, **(env or {})}
    child_env = {k: v for k, v in merged.items() if v is not None}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    samples: list[tuple[float, int]] = []
    done = threading.Event()
    sampler = None
    if sample_every:
        sampler = threading.Thread(target=_sample_tree, args=(proc.pid, sample_every, samples, done), daemon=True)
        sampler.start()
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    if sampler is not None:
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 and check:
        raise RuntimeError(f"{' '.join(cmd[:6])} ... exited {proc.returncode}:\n{out[-4000:]}")
    return Measured(seconds, usage.ru_maxrss * 1024, out, proc.returncode, samples)


SEGMENTS = Path(sys.executable).with_name("segments")


def segments(home: Path, *args: str, sample_every: float | None = None) -> Measured:
    """`segments <args>` on `home` in a child process, measured; a run that reports a failed step raises."""
    measured = run_measured([str(SEGMENTS), *args], env={"SEGMENTS_HOME": str(home), "DAGSTER_HOME": None},
                            sample_every=sample_every)
    if "FAILED" in measured.stdout:
        raise RuntimeError(f"segments {' '.join(args)} failed:\n{measured.stdout[-3000:]}")
    return measured


def _sample_tree(root: int, every: float, samples: list[tuple[float, int]], done: threading.Event) -> None:
    page = os.sysconf("SC_PAGE_SIZE")
    while not done.wait(every):
        parents, rss = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * page
        tree, grew = {root}, True
        while grew:
            grown = tree | {pid for pid, parent in parents.items() if parent in tree}
            grew, tree = grown != tree, grown
        samples.append((time.time(), max((rss.get(pid, 0) for pid in tree), default=0)))


def prepare_shop(home: Path, customers: int, days: int, seed: int, start: date | None = None) -> dict:
    """Synthetic shop into landing/, then the real loader into lake/ (events and dimensions)."""
    from shop.home import Home
    from shop.loader import load_dimensions, load_events
    from shop.simulator import generate

    h = Home(home)
    began = time.perf_counter()
    summary = generate(h, customers, days, start=start, seed=seed)
    generated = time.perf_counter() - began
    first = date.fromisoformat(str(summary["start"]))
    last = first + timedelta(days=days - 1)
    began = time.perf_counter()
    events = load_events(h, first, last)
    dims = load_dimensions(h)
    loaded = time.perf_counter() - began
    if not (events.reconciles and dims.reconciles):
        raise RuntimeError(f"loader does not reconcile:\n{events}\n{dims}")
    return {"events": events.accepted, "first": first, "last": last, "generate_s": generated, "load_s": loaded}


def dbt_env(home: Path) -> dict[str, str]:
    return {"SEGMENTS_HOME": str(home), "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def dbt_command(home: Path, *args: str, target: str = "dbt_target") -> list[str]:
    """dbt on the project, with target/ and logs/ under the home (never the shared project folder).

    One `target` folder per set of --vars keeps dbt's partial parse valid between repeated runs.
    """
    dbt = Path(sys.executable).with_name("dbt")
    return [
        str(dbt), *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(home / target), "--log-path", str(home / "dbt_logs"),
    ]


def pipeline_build(home: Path, first: date, last: date, target: str = "dbt_target", only: str | None = None) -> list[str]:
    """`dbt build` of the partitioned models for first..last as the daily pipeline runs it (without
    dbt unit tests, which CI runs: they cost seconds on every invocation whatever the data).
    `only`: a dbt selector the partitioned models are intersected with (e.g. "+customer_features")."""
    from orchestration.partitions import PARTITIONED, dbt_build_args

    select = f"{only},{PARTITIONED}" if only else PARTITIONED
    return dbt_command(home, *dbt_build_args(first, last), "--select", select, target=target)


def window_vars(first: date, last: date) -> str:
    return json.dumps({"min_date": first.isoformat(), "max_date": last.isoformat()})


def dbt_node_seconds(home: Path, top: int = 10, target: str = "dbt_target") -> list[tuple[str, float]]:
    """Slowest nodes of the last dbt invocation with this target folder (run_results.json)."""
    results = json.loads((home / target / "run_results.json").read_text())["results"]
    timed = [(r["unique_id"].split(".", 2)[-1], float(r.get("execution_time") or 0)) for r in results]
    return sorted(timed, key=lambda x: -x[1])[:top]


def dbt_seconds_by_kind(home: Path, target: str = "dbt_target") -> dict[str, float]:
    """Execution seconds of the last invocation summed per node kind (model, test, unit_test)."""
    results = json.loads((home / target / "run_results.json").read_text())["results"]
    kinds: dict[str, float] = {}
    for result in results:
        kind = result["unique_id"].split(".", 1)[0]
        kinds[kind] = kinds.get(kind, 0.0) + float(result.get("execution_time") or 0)
    return kinds


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cpus"


def median_of(values: list[float]) -> float:
    return median(values) if values else float("nan")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"
