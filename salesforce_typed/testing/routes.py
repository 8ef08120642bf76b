"""The fake org's API modules, registered in order (specific paths before generic ones)."""

from __future__ import annotations

import importlib

from salesforce_typed.testing.org.http import Router
from salesforce_typed.testing.org.state import OrgState

_PACKAGE = "salesforce_typed.testing"

# Each module exposes `register(router, state)`.
MODULES = (
    "oauth.endpoints",
    "admin.faults",
    "admin.latency",
    "admin.schema",
    "rest.core",
    "rest.limits",
    "rest.recent",
    "rest.query",
    "rest.search",
    "rest.replication",  # sobjects/{T}/updated|deleted before sobjects/{T}/{id}
    "streaming.service",  # sobjects/{Name}__e (platform events) before records
    "rest.listviews",  # sobjects/{T}/listviews before sobjects/{T}/{id}
    "rest.sobjects",
    "rest.sobject_collections",
    "rest.composite",
    "rest.tree",
    "rest.graph",
    "bulk2.routes",
    "rest.apex",
    "soap.calls",
    "bulk1.routes",
    "pubsub.managed",  # Tooling API ManagedEventSubscription records
)


def register_all(router: Router, state: OrgState) -> None:
    for name in MODULES:
        importlib.import_module(f"{_PACKAGE}.{name}").register(router, state)
