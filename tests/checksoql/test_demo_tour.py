"""The demo section: the checker's verdicts on a per-org package are the org's own.

The org gets the demo's custom object, `generate --from-org` writes its package (as the demo
does), and `check_soql_tour` checks its queries and runs each against the org; the tour
itself stops (DemoFailedError) if the checker and the org disagree on any of them.
"""

from __future__ import annotations

import importlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from rich.console import Console

from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.demo.check_soql import QUERIES, check_soql_tour
from salesforce_typed.demo.invoice import INVOICE

from .conftest import RunCli

if TYPE_CHECKING:
    from salesforce_typed.testing.server import FakeOrg


@pytest.fixture
def org_package(fake_org: FakeOrg, run_cli: RunCli, tmp_path: Path) -> Iterator[str]:
    fake_org.state.schema.add_describe(INVOICE)
    creds = fake_org.credentials()
    env = {
        "SF_REFRESH_TOKEN": creds["refresh_token"],
        "SF_CLIENT_ID": creds["client_id"],
        "SF_CLIENT_SECRET": creds["client_secret"],
        "SF_TOKEN_URL": creds["token_url"],
        "SF_INSTANCE_URL": creds["instance_url"],
    }
    result = run_cli(
        "generate",
        "--from-org",
        "--out",
        tmp_path,
        "--package",
        "checksoql_demo_org",
        *("--objects", "Account", "--objects", "Contact", "--objects", "Invoice__c"),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield "checksoql_demo_org"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("checksoql_demo_org")]:
            del sys.modules[name]


def test_the_checker_and_the_org_agree(fake_org: FakeOrg, org_package: str) -> None:
    creds = fake_org.credentials()
    grant = RefreshTokenGrant(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
        token_url=creds["token_url"],
    )
    out = io.StringIO()
    with Salesforce(auth=grant) as sf:
        check_soql_tour(Console(file=out, width=200), sf, importlib.import_module(org_package))
    text = out.getvalue()
    assert "SOQL002 unknown field 'Amount__cc' on Invoice__c (did you mean 'Amount__c'?)" in text
    assert "SOQL003 unknown relationship 'Ownr' on Account (did you mean 'Owner'?)" in text
    assert "SOQL006 field 'Account.Description' can not be sorted" in text
    assert f"3 problems in {len(QUERIES)} queries, nothing sent" in text
    assert text.count("the org agrees, INVALID_FIELD") == 3
    assert text.count("clean, and the org runs it") == 2
