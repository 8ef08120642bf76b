"""One fake org per module, seeded with a few Accounts and Contacts, and a sync client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.testing.server import FakeOrg
from salesforce_typed_std import Account, AccountIndustryPicklist, Contact

ACCOUNTS = [
    ("Acme", AccountIndustryPicklist.BANKING, 2_000_000.0),
    ("Globex", AccountIndustryPicklist.BANKING, 500_000.0),
    ("Initech", AccountIndustryPicklist.TECHNOLOGY, 3_000_000.0),
    ("O'Hare & Sons", None, None),
]


@pytest.fixture(scope="module")
def org() -> Iterator[FakeOrg]:
    with FakeOrg() as fake:
        yield fake


def grant(org: FakeOrg) -> RefreshTokenGrant:
    c = org.credentials()
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=org.new_refresh_token(),
        token_url=c["token_url"],
    )


@pytest.fixture
def fresh_grant(org: FakeOrg) -> RefreshTokenGrant:
    """Credentials for a second (for example async) client on the module's org."""
    return grant(org)


@pytest.fixture(scope="module")
def sf(org: FakeOrg) -> Iterator[Salesforce]:
    with Salesforce(auth=grant(org), verify=False) as client:
        for name, industry, revenue in ACCOUNTS:
            acc = client.create(Account(Name=name, Industry=industry, AnnualRevenue=revenue))
            for last in ("Smith", "Jones"):
                client.create(Contact(LastName=f"{last} of {name}", AccountId=acc.id))
        yield client
