"""Atomic file publishing: write beside the target under a temp name, then os.replace onto it.

os.replace is atomic on one filesystem: readers see the old file or the new one, never a mix, and a
reader that already has the old file open keeps reading the old inode (POSIX). Temp names start with
'.' and contain '.tmp-' so they are never mistaken for published files.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path

TMP_MARK = ".tmp-"


def temp_path_for(target: Path) -> Path:
    return target.with_name(f".{target.name}{TMP_MARK}{uuid.uuid4().hex[:12]}")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(temp: Path, target: Path) -> None:
    fsync_file(temp)
    os.replace(temp, target)


def remove_quietly(*paths: Path) -> None:
    for path in paths:
        try:
            Path(path).unlink()
        except FileNotFoundError:
            pass


def write_text_atomically(target: Path, text: str) -> None:
    temp = temp_path_for(target)
    try:
        temp.write_text(text, encoding="utf-8")
        replace_atomically(temp, target)
    except BaseException:
        remove_quietly(temp)
        raise


def remove_stale_temps(folder: Path, older_than_seconds: float = 3600.0) -> list[Path]:
    """Temp files a killed process left behind (an exception cleans its own; SIGKILL cannot).
    Only old ones, so a publish running concurrently by mistake does not lose its files."""
    removed = []
    if not folder.is_dir():
        return removed
    cutoff = time.time() - older_than_seconds
    for path in folder.iterdir():
        if path.name.startswith(".") and TMP_MARK in path.name and path.is_file():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:
                pass
    return removed
