from __future__ import annotations

import polars as pl

from shop.duplicate_ids import DuplicateIds


def chunk(ids: list[str | None], reasons: list[str | None] | None = None) -> pl.DataFrame:
    return pl.DataFrame({"event_id": ids, "_reason": reasons or [None] * len(ids)},
                        schema={"event_id": pl.String, "_reason": pl.String})


def reasons(frame: pl.DataFrame) -> list[str | None]:
    return frame.get_column("_reason").to_list()


def test_repeats_are_found_across_chunks_and_invalid_first_copies_do_not_count():
    a = chunk(["x", "y", "x", "z"], [None, "bad_event_ts", None, None])
    b = chunk(["y", "x", "w", None])
    dups = DuplicateIds(pl.concat([a, b]).get_column("event_id"))
    assert reasons(dups.mark(a)) == [None, "bad_event_ts", "duplicate_event_id", None]
    assert reasons(dups.mark(b)) == [None, "duplicate_event_id", None, None]


def test_ids_accepted_before_are_duplicates_from_a_series_or_a_lazy_frame():
    rows = chunk(["old", "new", "new"])
    for prior in (pl.Series(["old", "gone"]), pl.DataFrame({"event_id": ["old", "gone"]}).lazy()):
        marked = DuplicateIds(rows.get_column("event_id"), prior).mark(rows)
        assert reasons(marked) == ["duplicate_event_id", None, "duplicate_event_id"]


def test_a_superset_of_the_ids_gives_the_same_marks():
    rows = chunk(["a", "b", "a"])
    exact = DuplicateIds(rows.get_column("event_id")).mark(rows)
    wider = DuplicateIds(pl.Series([f"id{i}" for i in range(1000)] + ["a", "b", "a", "b"])).mark(rows)
    assert exact.equals(wider)
    assert reasons(exact) == [None, None, "duplicate_event_id"]
