"""The checker's verdicts are the fake org's: what it flags the org refuses, the rest runs.

Every site of the fixture codebase the org can judge by itself (no bind placeholders, which
the client checks before sending; no TYPEOF, which the fake org does not run; no model
mismatch, which the client refuses) is sent as is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from salesforce_typed import QueryError, RefreshTokenGrant, Salesforce
from salesforce_typed.soqlcheck import PackageSchema, QueryCheck
from salesforce_typed.soqlcheck.finder import find_sites

from .codebase import BAD, GOOD

if TYPE_CHECKING:
    from salesforce_typed.testing.server import FakeOrg


def test_flagged_queries_are_refused_and_clean_ones_run(fake_org: FakeOrg) -> None:
    creds = fake_org.credentials()
    grant = RefreshTokenGrant(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
        token_url=creds["token_url"],
    )
    schema = PackageSchema("salesforce_typed_std")
    verdicts: list[tuple[str, bool, bool]] = []
    with Salesforce(auth=grant) as sf:
        for source in (GOOD, BAD):
            for site in find_sites(source):
                check = QueryCheck(schema, site.soql)
                if check.bound.names or "TYPEOF" in site.soql.upper():
                    continue
                try:
                    sf.query(site.soql).all()
                except QueryError:
                    refused = True
                else:
                    refused = False
                verdicts.append((site.soql, bool(check.findings), refused))
    assert [v for v in verdicts if v[1] != v[2]] == []
    assert sum(1 for v in verdicts if v[1]) >= 10  # the mistakes were sent too
    assert sum(1 for v in verdicts if not v[1]) >= 12
