# DO NOT EDIT: generated from salesforce_typed/soap/_async/__init__.py by scripts/unasync.py; edit the _async original.
"""Async-first SOAP client; `../_sync/` is generated from here by scripts/unasync.py."""
