"""The one reviewed table of differences between the fake org and real Salesforce artifacts.

Each row names where the difference is (`area`, `subject`), what differs and why it is
accepted: an org setting the recording had, a later API version than the artifact's, or a
feature the fake org does not emulate. The fidelity tests consult it through `accepted()`
and a full run of tests/fidelity fails on a row no test consulted (conftest.py), so the table cannot rot.
Keep it short: a difference without a reason here is a bug to fix, not a row to add.
"""

from __future__ import annotations

from typing import NamedTuple


class Deviation(NamedTuple):
    area: str  # "describe", "describeGlobal", "soap", "cdc", "rest", "oauth", "bulk"
    subject: str  # e.g. "Account.fields.Description.groupable" or "Account.childRelationships"
    differs: str  # what differs
    why: str  # why it is accepted


DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        "rest",
        "restforce.later-version-keys",
        "describe and describeGlobal entries carry keys the restforce recordings (API v20-v26) "
        "lack, e.g. mruEnabled, fields[].aggregatable, urls.listviews",
        "later API version: each such key is in the CumulusCI recording of the same resource "
        "(v48-v52), which test_rest_fixtures checks before accepting it",
    ),
    Deviation(
        "oauth",
        "token.token_type-scope",
        "token answers carry token_type and scope, absent from the 2010-2011 restforce recordings",
        "later platform version: Salesforce's token answers carry token_type (Bearer) and scope "
        "since; current OAuth docs and clients (jsforce TokenResponse) show them",
    ),
)

_used: set[tuple[str, str]] = set()


def accepted(area: str, subject: str) -> bool:
    """Whether the difference at `subject` is a reviewed deviation (and mark the row used)."""
    for row in DEVIATIONS:
        if row.area == area and row.subject == subject:
            _used.add((area, subject))
            return True
    return False


def used() -> set[tuple[str, str]]:
    return set(_used)
