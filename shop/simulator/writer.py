"""Parquet output: zstd, deterministic bytes, written to a temporary name and moved into place."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"


def write_parquet(frame: pl.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    frame.write_parquet(tmp, compression=COMPRESSION, statistics=True)
    os.replace(tmp, path)
    return path


class StreamWriter:
    """Appends frames of one schema to a single parquet file, one row group per frame.

    Used for ground truth tables that grow with customers x days, so they never sit in memory whole.
    An empty stream still produces a valid file with the schema of `empty`.
    """

    def __init__(self, path: Path, empty: pl.DataFrame):
        self.path = path
        self.tmp = path.with_name(path.name + ".tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = self._arrow(empty).schema
        self.writer = pq.ParquetWriter(self.tmp, self.schema, compression=COMPRESSION)

    @staticmethod
    def _arrow(frame: pl.DataFrame) -> pa.Table:
        # oldest compat level: plain large_string columns every parquet reader understands
        return frame.to_arrow(compat_level=pl.CompatLevel.oldest())

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height:
            self.writer.write_table(self._arrow(frame).cast(self.schema))

    def close(self) -> Path:
        self.writer.close()
        os.replace(self.tmp, self.path)
        return self.path
