# DO NOT EDIT: generated from salesforce_typed/query/_async/__init__.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/query/_async/__init__.py`: its docstring there says what must stay true."""
