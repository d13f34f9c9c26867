"""The suppression list: who was erased, kept only as salted hashes so the list itself holds no ids.

`$SEGMENTS_HOME/privacy/suppressed.jsonl` has one JSON object per erased identity:
{"kind": "customer" | "anonymous", "digest": HMAC-SHA256(salt, "<kind>:<id>"), "erased_at": ...}.
The salt is random per home (`privacy/salt`, readable by the owner only): without it a digest
cannot be matched against a guessed id list. Losing the salt makes the list useless, so it is
created once and never rotated.

The loader asks `erased_ids` which of the ids it is about to accept were erased, and quarantines
their rows (reason `erased_customer`), so an erased customer never comes back from a re-delivered
or re-imported file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

PRIVACY_DIR = "privacy"
LIST_FILE = "suppressed.jsonl"
SALT_FILE = "salt"
KINDS = ("customer", "anonymous")


def privacy_dir(root: Path) -> Path:
    return Path(root) / PRIVACY_DIR


def list_path(root: Path) -> Path:
    return privacy_dir(root) / LIST_FILE


def _salt(root: Path, create: bool) -> bytes | None:
    path = privacy_dir(root) / SALT_FILE
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text().strip())


def digest(salt: bytes, kind: str, value: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return hmac.new(salt, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def audit_digest(root: Path, value: str) -> str:
    """The customer's digest as the audit log names them (same salt, same hash as the list)."""
    return digest(_salt(root, create=True), "customer", value)


def _entries(root: Path) -> set[tuple[str, str]]:
    path = list_path(root)
    if not path.exists():
        return set()
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            out.add((entry["kind"], entry["digest"]))
    return out


def suppress(root: Path, kind: str, values: Iterable[str], now: datetime | None = None) -> int:
    """Add identities to the list (appended, fsynced); returns how many were new."""
    salt = _salt(root, create=True)
    known = _entries(root)
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    new = []
    for value in sorted(set(values)):
        d = digest(salt, kind, value)
        if (kind, d) not in known:
            known.add((kind, d))
            new.append(json.dumps({"kind": kind, "digest": d, "erased_at": stamp}))
    if new:
        path = list_path(root)
        with path.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(new) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    return len(new)


def erased_ids(root: Path, kind: str, values: Iterable[str]) -> set[str]:
    """The subset of `values` (clear ids) that are on the list; empty at once when nothing was erased."""
    entries = _entries(root)
    if not entries:
        return set()
    salt = _salt(root, create=False)
    if salt is None:
        raise RuntimeError(f"{list_path(root)} exists but its salt {privacy_dir(root) / SALT_FILE} is missing")
    wanted = {d for k, d in entries if k == kind}
    return {v for v in set(values) if digest(salt, kind, v) in wanted}
