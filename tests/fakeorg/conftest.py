"""Fake-org tests: the `fake_org` / `fake_org_tls` fixtures come from our pytest plugin.

`token` gives a valid access token for the org (password grant), `api` an httpx client
with it, for tests of the server itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from salesforce_typed.testing.server import FakeOrg


def password_token(org: FakeOrg, client: httpx.Client) -> str:
    creds = org.credentials()
    response = client.post(
        creds["token_url"],
        data={
            "grant_type": "password",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "username": creds["username"],
            "password": creds["password"] + creds["security_token"],
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def api(fake_org: FakeOrg) -> Iterator[httpx.Client]:
    """An httpx client on the org's instance URL, authenticated, API path prefix v62.0."""
    with httpx.Client(base_url=fake_org.instance_url, timeout=30) as client:
        token = password_token(fake_org, client)
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
