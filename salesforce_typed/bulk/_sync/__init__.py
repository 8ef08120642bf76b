# DO NOT EDIT: generated from salesforce_typed/bulk/_async/__init__.py by scripts/unasync.py; edit the _async original.
"""Bulk orchestration written async-first; `bulk/_sync/` is generated from these modules."""
