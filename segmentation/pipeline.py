"""One call for a window: load segments.yml against the warehouse's columns, build daily membership,
then fold it into history, transitions and summary. The orchestrator's only entry point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from shop import duckdb_connection
from segmentation.campaign_results import build_campaign_results_by_segment
from segmentation.columns import KNOWN_COLUMNS, warehouse_catalogue
from segmentation.history import HistoryResult, build_membership_history
from segmentation.membership import DailyBuildResult, build_daily_segments
from segmentation.rules import load_segments


@dataclass
class WindowResult:
    daily: DailyBuildResult
    history: HistoryResult
    table_rows: dict[str, int]

    def metadata_for(self, table: str) -> dict:
        meta: dict = {"dagster/row_count": self.table_rows.get(table, 0)}
        if table == "customer_segments":
            meta.update(
                days_built=len(self.daily.days_built),
                days_without_features=[d.isoformat() for d in self.daily.days_without_features],
                segments_evaluated=len(self.daily.evaluated),
                segments_skipped={name: reason for name, reason in self.daily.skipped.items()},
                membership_rows_written=self.daily.membership_rows,
            )
            if self.daily.clusters_note:
                meta["clusters"] = self.daily.clusters_note
        if table == "segment_membership_history":
            meta.update(stretches_replaced=self.history.stretches_replaced, stretches_written=self.history.stretches_written)
        return meta


def build_segments_window(warehouse: Path, segments_file: Path, start: date, end: date) -> WindowResult:
    with duckdb_connection.connect(warehouse) as con:
        config = load_segments(segments_file, warehouse_catalogue(con) | KNOWN_COLUMNS)
        daily = build_daily_segments(con, config, start, end)
        history = build_membership_history(con, start, end, config.settings)
        build_campaign_results_by_segment(con)
        rows = {
            table: con.execute(f"select count(*) from marts.{table}").fetchall()[0][0]
            for table in ("customer_segments", "segment_membership_history", "segment_transitions", "segment_summary",
                          "campaign_results_by_segment")
            if con.execute("select count(*) from information_schema.tables where table_schema = 'marts' and table_name = ?",
                           [table]).fetchall()[0][0]
        }
    return WindowResult(daily, history, rows)
