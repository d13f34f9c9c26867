"""Erase the subject from MLflow artifacts: input examples and any logged table of rows.

ml/ logs, per model version, an input example (the first rows of the test or training frame, with
customer_id; input_example.json / serving_input_example.json in pandas 'split' form) and JSON details.
JSON artifacts lose the subject's rows; data files (parquet, csv, jsonl) are rewritten like any
other. A file that still mentions the subject after that (a binary model file, an unknown layout)
is reported as a problem, never silently kept.
"""

from __future__ import annotations

import json
from pathlib import Path

from activation.files import write_text_atomically
from privacy.files import DATA_SUFFIXES, erase_from_file
from privacy.subject import Subject


def _mentions(path: Path, subject: Subject) -> bool:
    raw = path.read_bytes()
    return any(k.encode() in raw for k in subject.id_keys) or any(k.encode() in raw.lower() for k in subject.email_keys)


def _strip(value, subject: Subject) -> tuple[object, int]:
    """(value without the subject's rows, rows removed) for the JSON shapes MLflow writes."""
    removed = 0
    if isinstance(value, dict):
        if isinstance(value.get("columns"), list) and isinstance(value.get("data"), list):
            columns = [str(c) for c in value["columns"]]
            keep = [not (isinstance(row, list) and subject.matches_row(dict(zip(columns, row)))) for row in value["data"]]
            removed += keep.count(False)
            value = {**value, "data": [row for row, k in zip(value["data"], keep) if k]}
            if isinstance(value.get("index"), list) and len(value["index"]) == len(keep):
                value["index"] = [i for i, k in zip(value["index"], keep) if k]
        out = {}
        for key, item in value.items():
            out[key], n = _strip(item, subject)
            removed += n
        return out, removed
    if isinstance(value, list):
        kept = []
        for item in value:
            if isinstance(item, dict) and subject.matches_row(item):
                removed += 1
                continue
            item, n = _strip(item, subject)
            removed += n
            kept.append(item)
        return kept, removed
    return value, 0


def erase_from_artifacts(root: Path, subject: Subject) -> tuple[dict[str, int], list[str]]:
    """({artifact path relative to root: rows removed}, [problems: files still mentioning the subject])."""
    removed: dict[str, int] = {}
    problems: list[str] = []
    if not root.is_dir():
        return removed, problems
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(root).as_posix()
        suffix = path.suffix.lower()
        if suffix in DATA_SUFFIXES:
            n = erase_from_file(path, subject)
        elif suffix == ".json" and _mentions(path, subject):
            data, n = _strip(json.loads(path.read_text(encoding="utf-8")), subject)
            if n:
                write_text_atomically(path, json.dumps(data))
        else:
            n = 0
        if n:
            removed[rel] = n
        if path.exists() and _mentions(path, subject):
            problems.append(f"mlartifacts/{rel} still mentions the customer after erasure (unknown layout)")
    return removed, problems
