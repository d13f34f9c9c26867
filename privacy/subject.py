"""Who is being erased: the customer id, the anonymous ids stitched to them, their e-mail hashes.

Identity columns are recognised by name, the same way in files and warehouse tables, so a new
table or file with a `customer_id`, `anonymous_id`, `visitor_key` or e-mail column is covered
without a list to keep up to date:
- id columns: names ending in `customer_id` or `anonymous_id`, and `visitor_key` (the marts' key:
  the customer id, or 'anon:<anonymous_id>' for a visitor not yet identified, see
  dbt_project/macros/identity.sql);
- e-mail columns: names containing `email` (a clear address or its sha256);
- `row_json` (quarantine): the delivered row as a JSON object, matched on its fields the same way.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import polars as pl

# dbt_project/macros/identity.sql keys an unidentified visitor's rows 'anon:<anonymous_id>'
ANONYMOUS_KEY_PREFIX = "anon:"
ROW_JSON = "row_json"
_ID_COLUMN = re.compile(r"(customer_id|anonymous_id|visitor_key)$", re.IGNORECASE)
_EMAIL_COLUMN = re.compile(r"email", re.IGNORECASE)


def email_sha256(email: str) -> str:
    """The pseudonym staging gives an address (stg_customers: sha256 of the trimmed, lower-cased text)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def is_id_column(name: str) -> bool:
    return bool(_ID_COLUMN.search(name))


def is_email_column(name: str) -> bool:
    return bool(_EMAIL_COLUMN.search(name)) and not name.lower().endswith(("_opt_in", "_count", "_rate"))


def is_identity_column(name: str) -> bool:
    return is_id_column(name) or is_email_column(name) or name == ROW_JSON


@dataclass(frozen=True)
class Subject:
    customer_id: str
    anonymous_ids: frozenset[str] = frozenset()
    email_hashes: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()  # lower-cased, trimmed; kept in memory only, never written

    @property
    def id_keys(self) -> frozenset[str]:
        anon = {ANONYMOUS_KEY_PREFIX + a for a in self.anonymous_ids}
        return frozenset({self.customer_id, *self.anonymous_ids, *anon})

    @property
    def email_keys(self) -> frozenset[str]:
        return frozenset({*self.email_hashes, *self.emails})

    @property
    def all_keys(self) -> frozenset[str]:
        return self.id_keys | self.email_keys

    def with_links(self, anonymous_ids=(), emails=()) -> "Subject":
        emails = {e.strip().lower() for e in emails if e and e.strip()}
        return Subject(
            self.customer_id,
            self.anonymous_ids | {a for a in anonymous_ids if a},
            self.email_hashes | {email_sha256(e) for e in emails},
            self.emails | emails,
        )

    # ------------------------------------------------------------------ matching one value / row

    def matches(self, column: str, value) -> bool:
        if value is None:
            return False
        if column == ROW_JSON and isinstance(value, str):
            return self.matches_json(value)
        text = str(value).strip()
        if is_id_column(column):
            return text in self.id_keys
        if is_email_column(column):
            return text.lower() in self.email_keys
        return False

    def matches_row(self, row: dict) -> bool:
        return any(self.matches(str(k), v) for k, v in row.items() if not isinstance(v, (dict, list)))

    def matches_json(self, text: str) -> bool:
        if not any(k in text for k in self.all_keys) and not any(e in text.lower() for e in self.emails):
            return False
        try:
            row = json.loads(text)
        except ValueError:
            return False
        return isinstance(row, dict) and self.matches_row(row)

    # ---------------------------------------------------------------------- matching a whole frame

    def frame_mask(self, frame: pl.DataFrame) -> pl.Series:
        """True for the rows of `frame` that belong to the subject (by its identity columns)."""
        mask = pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)
        for name, dtype in frame.schema.items():
            if not is_identity_column(name) or dtype in (pl.Boolean,) or dtype.is_numeric() and not is_id_column(name):
                continue
            if isinstance(dtype, (pl.List, pl.Array, pl.Struct)):
                continue
            text = frame.get_column(name).cast(pl.String, strict=False).str.strip_chars()
            if name == ROW_JSON:
                hit = text.map_elements(self.matches_json, return_dtype=pl.Boolean)
            elif is_id_column(name):
                hit = text.is_in(list(self.id_keys))
            else:
                hit = text.str.to_lowercase().is_in(list(self.email_keys))
            mask = mask | hit.fill_null(False)
        return mask
