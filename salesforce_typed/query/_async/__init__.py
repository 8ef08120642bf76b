"""Async-first orchestration of the query builder; `_sync` is generated from it."""
