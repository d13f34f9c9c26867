"""Re-scoring an older window leaves cluster profiles as scoring every day at once wrote them."""

from datetime import date

import duckdb
import polars as pl

from ml.score import write_window

VERSION = "behavioral_clusters/2"


def _frames(day: date, size: int):
    scores = pl.DataFrame({"customer_id": ["c1"], "as_of_date": [day]})
    clusters = pl.DataFrame({"customer_id": ["c1"], "as_of_date": [day], "cluster_id": [0], "cluster_name": ["a"],
                             "distance_to_centroid": [0.5], "model_version": [VERSION]})
    profiles = pl.DataFrame({"model_version": [VERSION], "cluster_id": [0], "cluster_name": ["a"], "size": [size],
                             "share": [1.0], "top_category": [None], "profile": ["{}"]},
                            schema_overrides={"top_category": pl.String})
    return scores, clusters, profiles


def _size(path) -> list[int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [r[0] for r in con.execute("select size from marts.cluster_profiles").fetchall()]


def test_an_older_window_keeps_the_profile_of_the_versions_latest_day(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    early, late = date(2026, 1, 10), date(2026, 1, 20)
    write_window(path, late, late, *_frames(late, 200), VERSION)
    write_window(path, early, early, *_frames(early, 100), VERSION)  # re-run of an older day
    assert _size(path) == [200]
    write_window(path, late, late, *_frames(late, 300), VERSION)  # the latest day itself recomputes it
    assert _size(path) == [300]
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select count(*) from marts.customer_clusters").fetchone()[0] == 2
