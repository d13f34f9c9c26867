"""Dynamic customer segments: rules from segments.yml compiled to SQL, daily membership, history,
transitions and summary in the DuckDB warehouse. Plain Python + SQL, no Dagster.

    from segmentation import load_segments, build_daily_segments, build_membership_history
"""

from segmentation.compiler import MissingInputError, RuleError, compile_rule
from segmentation.expression import RuleSyntaxError, parse_rule
from segmentation.history import HistoryError, build_membership_history, prune_daily_segments
from segmentation.membership import SegmentBuildError, build_daily_segments
from segmentation.rules import SegmentConfig, SegmentConfigError, SegmentDefinition, Settings, load_segments, parse_segments

__all__ = [
    "HistoryError", "MissingInputError", "RuleError", "RuleSyntaxError", "SegmentBuildError", "SegmentConfig",
    "SegmentConfigError", "SegmentDefinition", "Settings", "build_daily_segments", "build_membership_history",
    "compile_rule", "load_segments", "parse_rule", "parse_segments", "prune_daily_segments",
]
