"""Homes that take a full `segments run` to build, built once per test session and shared by every
test worker (pytest-xdist), then copied by the tests that change them.

A copy must not point back at the original: MLflow stores absolute artifact locations, which
`copy_home` points at the copy (ml.registry.adopt_store), or a copy's new model versions and erasures
would land in the original.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path
from typing import Callable

from ml import registry

BUILT_MARKER = ".built"


def session_root(tmp_path_factory) -> Path:
    """The temporary folder all workers of this session share (each worker's own is one level below)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """The home `build(path)` makes, built by the first worker that asks; the others wait for it.
    Treat it as read-only: copy it with `copy_home` before running anything on it."""
    root = session_root(tmp_path_factory)
    home = root / f"shared-{name}"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / BUILT_MARKER).exists():
            shutil.rmtree(home, ignore_errors=True)
            build(home)
            (home / BUILT_MARKER).touch()
    return home


def copy_home(source: Path, target: Path) -> Path:
    """A copy of a finished home whose MLflow store points at its own artifacts."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(BUILT_MARKER))
    registry.adopt_store(target)
    return target
