"""pytest plugin (auto-registered): a fresh local fake org for each test that asks for one.

    def test_sync(fake_org):
        creds = fake_org.credentials()   # instance_url, token_url, client_id, refresh_token...

`fake_org_tls` serves https with its own CA (`fake_org_tls.tls_files.ca_file`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from salesforce_typed.testing.server import FakeOrg


@pytest.fixture
def fake_org() -> Iterator[FakeOrg]:
    from salesforce_typed.testing.server import FakeOrg

    with FakeOrg() as org:
        yield org


@pytest.fixture
def fake_org_tls() -> Iterator[FakeOrg]:
    from salesforce_typed.testing.server import FakeOrg

    with FakeOrg(tls=True) as org:
        yield org
