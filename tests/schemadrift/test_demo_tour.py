"""The demo's schema-drift section, run on its own against a TLS fake org."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

from rich.console import Console

from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.demo.schema_drift import schema_drift_tour
from salesforce_typed.testing.server import FakeOrg
from tests.schemadrift.conftest import OBJECTS


def test_the_demo_section_grades_three_changes(fake_org_tls: FakeOrg, tmp_path: Path) -> None:
    creds = fake_org_tls.credentials()
    grant = RefreshTokenGrant(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
        token_url=creds["token_url"],
    )
    name = f"tour_{uuid.uuid4().hex[:10]}"
    console = Console(record=True, width=200)
    with Salesforce(auth=grant, verify=creds["ca_file"]) as sf:
        sf.limits()  # a session the tour can lend to the CLI
        token = sf.connection.auth.token.access_token
        env = dict(
            os.environ,
            SF_INSTANCE_URL=creds["instance_url"],
            SF_ACCESS_TOKEN=token,
            SF_CA_FILE=creds["ca_file"],
        )
        selection = [w for o in OBJECTS for w in ("--objects", o)]
        cmd = [sys.executable, "-m", "salesforce_typed", "generate", "--from-org"]
        cmd += ["--out", str(tmp_path), "--package", name, *selection]
        made = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        assert made.returncode == 0, made.stderr
        sys.path.insert(0, str(tmp_path))
        try:
            schema_drift_tour(console, sf, importlib.import_module(name), fake_org_tls)
        finally:
            sys.path.remove(str(tmp_path))
    shown = console.export_text()
    assert "critical Account.Jigsaw: field removed" in shown
    assert "exit 1 (critical drift)" in shown
