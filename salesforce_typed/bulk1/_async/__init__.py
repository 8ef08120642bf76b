"""Bulk API 1.0 orchestration written async-first; `bulk1/_sync/` is generated from it."""
