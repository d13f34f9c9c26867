"""Activation and BI serving: audience exports for campaign tools and the read-only serving copy of the marts.

Plain Python (no Dagster): `export_audience` (activation.exports) and `publish_serving_copy`
(activation.serving); the pure rules they apply live in activation.consent and activation.control.
"""

from activation.exports import ExportManifest, export_audience
from activation.serving import publish_serving_copy

__all__ = ["ExportManifest", "export_audience", "publish_serving_copy"]
