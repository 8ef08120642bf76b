"""Bulk orchestration written async-first; `bulk/_sync/` is generated from these modules."""
