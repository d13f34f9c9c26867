from __future__ import annotations

import sys
import time

from bench.dagster_runs import step_table
from bench.harness import Measured, run_measured


def test_the_largest_process_of_a_childs_tree_is_sampled_while_it_runs():
    grandchild = "import time; x = bytearray(200_000_000); time.sleep(1.0)"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    before = time.time()
    measured = run_measured([sys.executable, "-c", child], sample_every=0.1)
    assert len(measured.samples) >= 5
    assert measured.peak_between(before, time.time()) >= 200_000_000
    assert measured.peak_between(0, before - 1) == 0


def test_peak_between_takes_the_samples_in_the_window_only():
    m = Measured(1.0, 0, "", 0, [(10.0, 5), (11.0, 9), (12.0, 7)])
    assert (m.peak_between(10.0, 10.5), m.peak_between(11.5, 12.0), m.peak_between(10.0, 12.0)) == (5, 7, 9)


def test_step_table_rows_give_seconds_rate_and_peak_of_each_step():
    rows = step_table([("dbt", 10.0), ("tiny", 0.0)], {"dbt": 3 * 1024**3}, events=1_000_000)
    assert rows[2:] == ["| dbt | 10.0 | 100,000 | 3.00 GiB |", "| tiny | 0.0 | - | - |"]
