"""The erasure audit log: append-only JSON lines under $SEGMENTS_HOME/audit/erasures.jsonl.

A record says when, who (the salted hash of the customer id, never the id), why, and how many rows
went from each place. It never holds a clear id, e-mail or anonymous id: location names are
tables and file paths, and file paths of the home never contain customer ids.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

AUDIT_DIR = "audit"
AUDIT_FILE = "erasures.jsonl"


def audit_path(root: Path) -> Path:
    return Path(root) / AUDIT_DIR / AUDIT_FILE


def append_record(root: Path, record: dict) -> Path:
    path = audit_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return path


def read_records(root: Path) -> list[dict]:
    path = audit_path(root)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
