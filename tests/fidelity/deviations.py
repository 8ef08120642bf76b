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
    Deviation(
        "describe",
        "Account_PersonAccountsOrg",
        "the person-account org's Account (v59) has 43 standard fields ours lacks (Person*, "
        "IsPersonAccount, FirstName/LastName/Salutation), a nillable Name, and picklists of "
        "length 255 where the v48 recording ours follows has 40",
        "org setting: person accounts are enabled per org; the catalog models the default org "
        "(and follows the v48 recording where the two API versions differ)",
    ),
    Deviation(
        "describe",
        "childRelationships.beyond-catalog",
        "real describes list child relationships to objects outside the catalog (Account: 102, "
        "ours only those to catalog objects) and ones without a relationshipName",
        "unemulated objects: a relationship to an sObject the fake org lacks cannot be queried",
    ),
    Deviation(
        "describe",
        "recordTypeInfos.org-defined",
        "recordings list the org's own record types (Household, Person Account) and then Master "
        "is not the default mapping; ours list Master only, as the default",
        "org setting: record types beyond Master are created by an admin or a package",
    ),
    Deviation(
        "describe",
        "urls.unserved-pages",
        "describe and describeGlobal urls lack uiDetailTemplate/uiEditTemplate/uiNewRecord, "
        "case*ArticleSuggestions, eventSeriesUpdates, User's namedLayouts/passwordUtilities",
        "unemulated features: the fake org serves no Classic UI pages, Knowledge, event series, "
        "named layouts or password utilities",
    ),
    Deviation(
        "describe",
        "supportedScopes.sharing",
        "ours list the everything and mine scopes only, real ones also team, queue_owned, "
        "scopingRule and the like",
        "unemulated feature: the fake org models no teams, queues or scoping rules",
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
