"""Erase the subject from audience exports under exports/, keeping each manifest true to its file.

An audience file loses the subject's row; its manifest (<stem>.manifest.json beside it) gets the new
row count, control count and checksum, and the member count drops by one when they were a member.
Exports written elsewhere with `--out` are outside the home and cannot be reached: the audit record
says which exports were rewritten.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from activation.files import sha256_file, write_text_atomically
from privacy.files import data_files, erase_from_file, read_frame

MANIFEST_SUFFIX = ".manifest.json"


def _manifest_for(path: Path) -> Path:
    return path.with_name(f"{path.stem}{MANIFEST_SUFFIX}")


def _control_rows(path: Path) -> int | None:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return sum(1 for r in rows if r.get("is_control") in (True, "true", 1))
    frame = read_frame(path)
    if "is_control" not in frame.columns:
        return None
    flags = frame.get_column("is_control").cast(pl.String).str.to_lowercase()
    return int(flags.is_in(["true", "1"]).sum())


def _row_count(path: Path) -> int:
    if not path.exists():
        return 0
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return read_frame(path).height


def erase_from_exports(exports: Path, subject) -> dict[str, int]:
    """{export file relative to `exports`: rows removed} for the files that held the subject."""
    removed: dict[str, int] = {}
    for path in data_files(exports):
        n = erase_from_file(path, subject)
        if not n:
            continue
        removed[path.relative_to(exports).as_posix()] = n
        manifest_path = _manifest_for(path)
        if not manifest_path.exists():
            continue
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not path.exists():  # a JSON-lines audience that lost its only row: keep an empty file
            path.write_text("", encoding="utf-8")
        manifest["rows"] = _row_count(path)
        control = _control_rows(path) if manifest["rows"] else 0
        if control is not None and "control_rows" in manifest:
            manifest["control_rows"] = control
        if isinstance(manifest.get("members"), int):
            manifest["members"] = max(0, manifest["members"] - n)
        manifest["sha256"] = sha256_file(path)
        manifest["erasures"] = int(manifest.get("erasures", 0)) + n
        write_text_atomically(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return removed
