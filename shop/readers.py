"""Read one delivered file (Parquet, CSV, JSON lines, whitespace-separated text) into a polars DataFrame.

CSV and whitespace text come back as all-string columns; Parquet and JSON lines keep their native
types. Casting to the contract is the validator's job. Anything that cannot be read as a table
raises MalformedFileError naming the file and the problem.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
TEXT_SUFFIXES = (".txt", ".dat")
SUPPORTED_SUFFIXES = PARQUET_SUFFIXES + CSV_SUFFIXES + JSONL_SUFFIXES


class MalformedFileError(ValueError):
    """A file that cannot be read as a table at all (as opposed to bad rows, which are quarantined)."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class ReadOptions:
    """How to read a text file; defaults suit a plain UTF-8 CSV with a header.

    format: csv | whitespace | jsonl | parquet, or None to pick by file suffix.
    columns: names to use when the file has no header (header=False), or to replace the header's.
    null_values: strings read as null (CSV and whitespace text).
    """

    format: str | None = None
    delimiter: str = ","
    header: bool = True
    columns: tuple[str, ...] | None = None
    encoding: str = "utf-8"
    null_values: tuple[str, ...] = ()
    quote_char: str | None = '"'


def format_of(path: Path, options: ReadOptions | None = None) -> str:
    if options is not None and options.format:
        return options.format
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in TEXT_SUFFIXES:
        return "whitespace"
    raise MalformedFileError(
        path, f"unsupported file type {suffix or '(no suffix)'}; expected one of {SUPPORTED_SUFFIXES}"
    )


def read_table_file(
    path: str | Path,
    required: Sequence[str] = (),
    options: ReadOptions | None = None,
) -> pl.DataFrame:
    """Read `path` into a DataFrame; raise MalformedFileError if it is empty, corrupt, undecodable,
    has no columns, or lacks any of the `required` columns (all missing ones are named)."""
    path = Path(path)
    options = options or ReadOptions()
    fmt = _format_of_delivered(path, options)
    readers = {"parquet": _read_parquet, "csv": _read_csv, "jsonl": _read_jsonl, "whitespace": _read_whitespace}
    if fmt not in readers:
        raise MalformedFileError(path, f"unknown format {fmt!r}; expected one of {sorted(readers)}")
    df = readers[fmt](path, options)
    _check_columns(path, df.columns, required)
    return df


class TableFile:
    """A delivered file read a slice of rows at a time, so a large one never sits in memory whole.

    Parquet files are read slice by slice from disk (row groups outside a slice are skipped); other
    formats are read whole once by read_table_file and sliced. Opening checks what read_table_file
    checks (required columns included); a Parquet file damaged past its footer raises
    MalformedFileError when the damaged part is read."""

    def __init__(self, path: str | Path, required: Sequence[str] = (), options: ReadOptions | None = None):
        self.path = Path(path)
        options = options or ReadOptions()
        self._frame: pl.DataFrame | None = None
        if _format_of_delivered(self.path, options) == "parquet":
            try:
                self.columns = list(pl.read_parquet_schema(self.path))
                self.rows = int(pl.scan_parquet(self.path).select(pl.len()).collect().item())
            except (pl.exceptions.PolarsError, OSError) as exc:
                raise _unreadable_parquet(self.path, exc) from exc
            _check_columns(self.path, self.columns, required)
        else:
            self._frame = read_table_file(self.path, required, options)
            self.columns, self.rows = self._frame.columns, self._frame.height

    def column(self, name: str) -> pl.Series:
        """One column of every row."""
        if self._frame is not None:
            return self._frame.get_column(name)
        return self._parquet(pl.scan_parquet(self.path).select(name)).to_series()

    def slices(self, size: int) -> Iterator[tuple[int, pl.DataFrame]]:
        """(offset of its first row, rows) for consecutive slices of at most `size` rows."""
        if size < 1:
            raise ValueError(f"slice size must be >= 1, got {size}")
        for offset in range(0, self.rows, size):
            if self._frame is not None:
                yield offset, self._frame.slice(offset, size)
            else:
                yield offset, self._parquet(pl.scan_parquet(self.path).slice(offset, size))

    def _parquet(self, query: pl.LazyFrame) -> pl.DataFrame:
        try:
            return query.collect()
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise _unreadable_parquet(self.path, exc) from exc


def _format_of_delivered(path: Path, options: ReadOptions) -> str:
    if not path.is_file():
        raise MalformedFileError(path, "file not found")
    if path.stat().st_size == 0:
        raise MalformedFileError(path, "empty file (0 bytes)")
    return format_of(path, options)


def _check_columns(path: Path, columns: Sequence[str], required: Sequence[str]) -> None:
    if not columns:
        raise MalformedFileError(path, "no columns")
    missing = [c for c in required if c not in columns]
    if missing:
        raise MalformedFileError(
            path, f"missing required column(s): {', '.join(missing)} (found: {', '.join(columns)})"
        )


def extra_columns(columns: Sequence[str], known: Sequence[str]) -> list[str]:
    """Columns the contract does not know; they are dropped from the lake (kept in row_json)."""
    known_set = set(known)
    return [c for c in columns if c not in known_set]


def _read_parquet(path: Path, options: ReadOptions) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _unreadable_parquet(path, exc) from exc


def _unreadable_parquet(path: Path, exc: BaseException) -> MalformedFileError:
    return MalformedFileError(path, f"unreadable Parquet (truncated or corrupt): {_short(exc)}")


def _decoded_bytes(path: Path, encoding: str) -> bytes | Path:
    """Polars reads UTF-8 only: return the path for UTF-8 files, re-encoded bytes for other encodings."""
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        return path
    try:
        return path.read_bytes().decode(encoding).encode("utf-8")
    except (UnicodeDecodeError, LookupError) as exc:
        raise MalformedFileError(path, f"cannot decode as {encoding}: {_short(exc)}") from exc


def _read_csv(path: Path, options: ReadOptions) -> pl.DataFrame:
    source = _decoded_bytes(path, options.encoding)
    has_header = options.header
    try:
        df = pl.read_csv(
            io.BytesIO(source) if isinstance(source, bytes) else source,
            separator=options.delimiter,
            has_header=has_header,
            new_columns=list(options.columns) if options.columns else None,
            infer_schema=False,
            null_values=list(options.null_values) or None,
            quote_char=options.quote_char,
            encoding="utf8",
        )
    except pl.exceptions.NoDataError as exc:
        raise MalformedFileError(path, "empty file (no header, no rows)") from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        text = str(exc)
        if "utf-8" in text.lower() or "utf8" in text.lower():
            raise MalformedFileError(path, f"not valid UTF-8 text: {_short(exc)}") from exc
        raise MalformedFileError(path, f"unreadable CSV: {_short(exc)}") from exc
    if df.columns and df.columns[0].startswith("\ufeff"):
        df = df.rename({df.columns[0]: df.columns[0].lstrip("\ufeff")})
    if has_header and not df.columns:
        raise MalformedFileError(path, "no columns")
    if has_header and df.width and all(c == "" for c in df.columns):
        raise MalformedFileError(path, "no columns (blank header line)")
    return df


def _read_jsonl(path: Path, options: ReadOptions) -> pl.DataFrame:
    source = _decoded_bytes(path, options.encoding)
    try:
        return pl.read_ndjson(io.BytesIO(source) if isinstance(source, bytes) else source, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError) as exc:
        text = str(exc).lower()
        if "utf-8" in text or "utf8" in text:
            raise MalformedFileError(path, f"not valid UTF-8 text: {_short(exc)}") from exc
        raise MalformedFileError(path, f"unreadable JSON lines: {_short(exc)}") from exc


def _read_whitespace(path: Path, options: ReadOptions) -> pl.DataFrame:
    """Fields separated by runs of spaces/tabs (e.g. the CDNOW text files); blank lines are skipped."""
    raw = path.read_bytes()
    try:
        text = raw.decode(options.encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise MalformedFileError(path, f"cannot decode as {options.encoding}: {_short(exc)}") from exc
    lines = pl.Series("line", text.splitlines(), dtype=pl.String)
    lines = lines.filter(lines.str.strip_chars() != "")
    if lines.len() == 0:
        raise MalformedFileError(path, "no rows (only blank lines)")
    fields = lines.str.extract_all(r"\S+")
    if options.header:
        names = list(fields[0])
        fields = fields.slice(1)
        if options.columns:
            names = list(options.columns)
    elif options.columns:
        names = list(options.columns)
    else:
        names = [f"column_{i + 1}" for i in range(int(fields.list.len().max() or 0))]
    counts = fields.list.len()
    wrong = (counts != len(names)).arg_true()
    if wrong.len():
        first = int(wrong[0])
        raise MalformedFileError(
            path,
            f"{wrong.len()} line(s) do not have {len(names)} fields, first at data row {first} "
            f"({int(counts[first])} fields)",
        )
    frame = pl.DataFrame({"f": fields}).select(pl.col("f").list.get(i).alias(n) for i, n in enumerate(names))
    if options.null_values:
        nulls = list(options.null_values)
        frame = frame.with_columns(
            pl.when(pl.col(c).is_in(nulls)).then(None).otherwise(pl.col(c)).alias(c) for c in frame.columns
        )
    return frame


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
