"""Columnar reads written async-first; `columnar/_sync/` is generated from it."""
