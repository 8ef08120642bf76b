# DO NOT EDIT: generated from salesforce_typed/rest/_async/__init__.py by scripts/unasync.py; edit the _async original.
"""Async-first client code; `../_sync/` is generated from it by scripts/unasync.py."""
