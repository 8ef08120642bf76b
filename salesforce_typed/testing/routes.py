"""The fake org's API modules, registered in order (specific paths before generic ones)."""

from __future__ import annotations

import importlib

from salesforce_typed.testing.http import Router
from salesforce_typed.testing.state import OrgState

# Each module exposes `register(router, state)`.
MODULES = (
    "salesforce_typed.testing.oauth",
    "salesforce_typed.testing.admin",
    "salesforce_typed.testing.core_api",
    "salesforce_typed.testing.query_api",
    "salesforce_typed.testing.search_api",
    "salesforce_typed.testing.changes",  # sobjects/{T}/updated|deleted before sobjects/{T}/{id}
    "salesforce_typed.testing.streaming",  # sobjects/{Name}__e (platform events) before records
    "salesforce_typed.testing.records",
    "salesforce_typed.testing.collections_api",
    "salesforce_typed.testing.composite",
    "salesforce_typed.testing.bulk_v2",
    "salesforce_typed.testing.apex",
    "salesforce_typed.testing.soap_api",
    "salesforce_typed.testing.bulk_v1",
)


def register_all(router: Router, state: OrgState) -> None:
    for name in MODULES:
        importlib.import_module(name).register(router, state)
