"""Rewrite a data file without the subject's rows, in the file's own format, atomically.

Parquet keeps its schema (zstd); CSV is read and written back as text (every value kept as
delivered); JSON lines are filtered line by line (the other lines are kept byte for byte). The
new file is written beside the old one and os.replace'd onto it, so a reader sees one or the other.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from activation.files import remove_quietly, replace_atomically, temp_path_for
from privacy.subject import Subject

DATA_SUFFIXES = (".parquet", ".csv", ".jsonl", ".ndjson")


class UnreadableFile(Exception):
    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path


def data_files(folder: Path) -> list[Path]:
    """Every data file under `folder` (recursively), temp files (names starting with '.') excepted."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in DATA_SUFFIXES and not p.name.startswith("."))


def _mentions(path: Path, subject: Subject) -> bool:
    """Cheap pre-check for text files: does any key appear in the raw bytes at all?"""
    raw = path.read_bytes()
    lowered = raw.lower()
    return any(k.encode() in raw for k in subject.id_keys) or any(k.encode() in lowered for k in subject.email_keys)


def read_frame(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise UnreadableFile(path, f"cannot read as {suffix[1:]}: {exc}") from exc
    raise ValueError(f"read_frame does not read {suffix} files")


def _write(path: Path, frame: pl.DataFrame) -> None:
    temp = temp_path_for(path)
    try:
        if path.suffix.lower() == ".parquet":
            frame.write_parquet(temp, compression="zstd", statistics=True)
        else:
            frame.write_csv(temp)
        replace_atomically(temp, path)
    except BaseException:
        remove_quietly(temp)
        raise


def _rewrite_lines(path: Path, subject: Subject) -> int:
    kept, removed = [], 0
    for line in path.read_bytes().splitlines(keepends=True):
        text = line.decode("utf-8", errors="replace").strip()
        if text:
            try:
                row = json.loads(text)
            except ValueError as exc:
                raise UnreadableFile(path, f"a line is not JSON: {exc}") from exc
            if isinstance(row, dict) and subject.matches_row(row):
                removed += 1
                continue
        kept.append(line)
    if removed:
        if not any(line.strip() for line in kept):
            # an empty JSON-lines file is unreadable for the loader: no rows left means no file
            path.unlink()
        else:
            temp = temp_path_for(path)
            try:
                temp.write_bytes(b"".join(kept))
                replace_atomically(temp, path)
            except BaseException:
                remove_quietly(temp)
                raise
    return removed


def erase_from_file(path: Path, subject: Subject) -> int:
    """Remove the subject's rows from one data file; returns how many rows were removed."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _rewrite_lines(path, subject) if _mentions(path, subject) else 0
    if suffix == ".csv" and not _mentions(path, subject):
        return 0
    frame = read_frame(path)
    mask = subject.frame_mask(frame)
    removed = int(mask.sum())
    if removed:
        _write(path, frame.filter(~mask))
    return removed
