"""Async-first SOAP client; `../_sync/` is generated from here by scripts/unasync.py."""
