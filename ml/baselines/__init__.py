"""Statistical baselines: BG/NBD, Gamma-Gamma, CLV, RFM heuristic and the RFM summary."""

from ._optimize import ConvergenceError
from .bgnbd import BGNBD
from .clv import expected_clv, expected_orders
from .gamma_gamma import GammaGamma
from .rfm import (
    RFMExpectedCount,
    RFMPropensity,
    rfm_bin_edges,
    rfm_churn,
    rfm_propensity,
    rfm_scores,
)
from .summary import rfm_summary

__all__ = [
    "BGNBD",
    "ConvergenceError",
    "GammaGamma",
    "RFMExpectedCount",
    "RFMPropensity",
    "expected_clv",
    "expected_orders",
    "rfm_bin_edges",
    "rfm_churn",
    "rfm_propensity",
    "rfm_scores",
    "rfm_summary",
]
