"""`grant(org)`: the refresh-token grant of a fake org, as a user's connected app gives it."""

from __future__ import annotations

from salesforce_typed import RefreshTokenGrant
from salesforce_typed.testing.server import FakeOrg


def grant(org: FakeOrg) -> RefreshTokenGrant:
    c = org.credentials()
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
    )
