"""Data-quality checks as plain functions over the warehouse and the model registry's rows, one module
per check. Dagster asset checks (orchestration/defs/checks) are thin wrappers; blocking ones stop
segments, exports and the serving copy from building on bad data."""
