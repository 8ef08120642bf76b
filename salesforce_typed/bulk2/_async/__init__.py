"""Bulk API 2.0 orchestration written async-first; `bulk2/_sync/` is generated from it."""
