"""`segments forget`: erase one customer from everything the home holds, and keep them out.

Order: resolve who they are (id, stitched anonymous ids, e-mail and its hash) while holding the
warehouse's write lock; add them to the suppression list (so no later load accepts their rows);
rewrite landing, lake and ground-truth files; delete their rows from every warehouse table and copy
the warehouse into a fresh file (deleted values stay in a DuckDB file's free blocks); then,
with the lock released, rewrite exports and MLflow artifacts, republish the serving copy, check
that nothing of theirs is left, and append the audit record.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from activation.files import replace_atomically
from privacy.artifacts import erase_from_artifacts
from privacy.audit import append_record
from privacy.exports import erase_from_exports
from privacy.files import UnreadableFile, data_files, erase_from_file, read_frame
from privacy.subject import Subject
from privacy.suppression import audit_digest, suppress
from privacy.warehouse import copy_to_fresh_file, count_rows, erase_tables, linked_identities, writer

# folders of the home whose data files are rewritten in place (exports and artifacts have their own rules)
FILE_AREAS = ("landing", "lake", "ground_truth")


@dataclass
class ErasureReport:
    subject: str  # HMAC-SHA256 of the customer id with the home's secret salt (privacy/salt)
    reason: str | None
    erased_at: str
    removed: dict[str, dict[str, int]] = field(default_factory=dict)
    anonymous_ids: int = 0
    email_hashes: int = 0
    serving_republished: bool = False
    left: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(sum(place.values()) for place in self.removed.values())

    @property
    def complete(self) -> bool:
        return not self.left and not self.problems

    def record(self) -> dict:
        return {
            "erased_at": self.erased_at, "customer_hmac_sha256": self.subject, "reason": self.reason,
            "anonymous_ids": self.anonymous_ids, "email_hashes": self.email_hashes,
            "rows_removed": {area: dict(sorted(places.items())) for area, places in self.removed.items()},
            "rows_removed_total": self.total, "serving_republished": self.serving_republished,
            "left_after_erasure": self.left, "problems": self.problems, "complete": self.complete,
        }

    def __str__(self) -> str:
        lines = [f"erased customer {self.subject[:16]}… ({self.anonymous_ids} anonymous id(s), "
                 f"{self.email_hashes} e-mail hash(es)): {self.total:,} row(s)"]
        for area, places in self.removed.items():
            lines.append(f"  {area:<16} {sum(places.values()):>8,} row(s) in {len(places)} place(s)")
        lines.append(f"  serving copy {'republished' if self.serving_republished else 'not published yet: nothing to do'}")
        for problem in self.problems:
            lines.append(f"  PROBLEM: {problem}")
        for place, n in self.left.items():
            lines.append(f"  LEFT: {n} row(s) in {place}")
        return "\n".join(lines)


def _events_links(home, customer_id: str) -> set[str]:
    """Anonymous ids seen on an event together with the customer id, in the lake and the landing zone."""
    found: set[str] = set()
    for area in (home.lake / "events", home.landing / "events"):
        for path in data_files(area):
            try:
                if path.suffix.lower() == ".parquet":
                    frame = pl.scan_parquet(path)
                    if not {"customer_id", "anonymous_id"} <= set(frame.collect_schema().names()):
                        continue
                    frame = frame.select(pl.col("customer_id", "anonymous_id").cast(pl.String)).collect()
                elif path.suffix.lower() == ".csv":
                    frame = read_frame(path)
                else:
                    frame = pl.read_ndjson(path, infer_schema_length=None)
            except (UnreadableFile, pl.exceptions.PolarsError, OSError):
                continue  # an unreadable file is reported by the rewrite pass
            if {"customer_id", "anonymous_id"} <= set(frame.columns):
                ids = frame.select(pl.col("customer_id", "anonymous_id").cast(pl.String).str.strip_chars())
                found |= set(ids.filter(pl.col("customer_id") == customer_id).get_column("anonymous_id").drop_nulls())
    return found


def _emails(home, customer_id: str) -> set[str]:
    found: set[str] = set()
    for area in (home.lake / "customers", home.landing / "customers"):
        for path in data_files(area):
            try:
                frame = read_frame(path) if path.suffix.lower() != ".jsonl" else pl.read_ndjson(path)
            except (UnreadableFile, pl.exceptions.PolarsError, OSError):
                continue
            if {"customer_id", "email"} <= set(frame.columns):
                rows = frame.select(pl.col("customer_id", "email").cast(pl.String).str.strip_chars())
                found |= set(rows.filter(pl.col("customer_id") == customer_id).get_column("email").drop_nulls())
    return found


def _erase_files(home, subject: Subject, report: ErasureReport) -> None:
    for area in FILE_AREAS:
        folder = home.root / area
        removed = {}
        for path in data_files(folder):
            try:
                n = erase_from_file(path, subject)
            except UnreadableFile as exc:
                # the reader's message may quote the file's content: only its kind goes in the audit
                cause = type(exc.__cause__ or exc).__name__
                report.problems.append(f"{path.relative_to(home.root)} could not be read ({cause}), so it was not checked")
                continue
            if n:
                removed[path.relative_to(home.root).as_posix()] = n
        report.removed[area] = removed


def _serving(home, subject: Subject, report: ErasureReport) -> None:
    from activation.serving import publish_serving_copy, read_manifest, serving_paths

    served = serving_paths(home)["duckdb"]
    manifest = read_manifest(home)
    if not served.exists() or manifest is None:
        return
    con = duckdb.connect(str(served), read_only=True)
    try:
        before = count_rows(con, subject)
    finally:
        con.close()
    publish_serving_copy(home, list(manifest.get("tables", {})) or None, run_id=f"erasure-{report.subject[:12]}")
    report.serving_republished = True
    report.removed["serving"] = before


def verify(home, subject: Subject) -> dict[str, int]:
    """What of the subject is still in the warehouse, the serving copy and the home's data files."""
    left: dict[str, int] = {}
    for path, label in ((home.warehouse, "warehouse"), (home.serving / "segments.duckdb", "serving")):
        if Path(path).exists():
            con = duckdb.connect(str(path), read_only=True)
            try:
                left |= {f"{label}:{t}": n for t, n in count_rows(con, subject).items()}
            finally:
                con.close()
    for area in (*FILE_AREAS, "exports", "serving"):
        for path in data_files(home.root / area):
            try:
                frame = read_frame(path) if path.suffix.lower() != ".jsonl" else pl.read_ndjson(path)
            except (UnreadableFile, pl.exceptions.PolarsError, OSError):
                continue
            n = int(subject.frame_mask(frame).sum())
            if n:
                left[path.relative_to(home.root).as_posix()] = n
    return left


def forget(home, customer_id: str, reason: str | None = None, *, now: datetime | None = None) -> ErasureReport:
    """Erase `customer_id` everywhere under `home`; raises WarehouseLocked while a pipeline writes."""
    customer_id = (customer_id or "").strip()
    if not customer_id:
        raise ValueError("a customer id is required")
    now = now or datetime.now(timezone.utc)
    report = ErasureReport(audit_digest(home.root, customer_id), reason, now.isoformat(timespec="seconds"))
    subject = Subject(customer_id)
    fresh = None
    with contextlib.ExitStack() as stack:
        con = stack.enter_context(writer(home.warehouse)) if Path(home.warehouse).exists() else None
        mine, others, hashes = linked_identities(con, customer_id) if con is not None else (set(), set(), set())
        # an anonymous id the identity map gives to someone else is theirs (a shared device), not erased
        anonymous = mine | (_events_links(home, customer_id) - others)
        subject = subject.with_links(anonymous, _emails(home, customer_id))
        subject = Subject(subject.customer_id, subject.anonymous_ids, subject.email_hashes | hashes, subject.emails)
        report.anonymous_ids, report.email_hashes = len(subject.anonymous_ids), len(subject.email_hashes)

        suppress(home.root, "customer", [customer_id], now)
        suppress(home.root, "anonymous", subject.anonymous_ids, now)
        _erase_files(home, subject, report)
        if con is not None:
            report.removed["warehouse"] = erase_tables(con, subject)
            fresh = copy_to_fresh_file(con, home.warehouse)
    if fresh is not None:
        replace_atomically(fresh, home.warehouse)
    report.removed["exports"] = erase_from_exports(home.exports, subject)
    report.removed["mlflow_artifacts"], problems = erase_from_artifacts(home.mlflow_artifacts, subject)
    report.problems += problems
    _serving(home, subject, report)
    report.left = verify(home, subject)
    append_record(home.root, report.record())
    return report
