"""Schema drift: the org changes under the generated `demo_org` package, and
`salesforce-typed schema diff` (run as a user would, in a subprocess) grades what changed.

An admin adds a field (info), a value to a restricted picklist (warning) and removes a field
the demo never uses (critical); the diff exits 1, as a CI step would fail.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from rich.console import Console

from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.demo.output import check, say


def _diff(package: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "salesforce_typed", "schema", "diff", "--package", str(package)]
    return subprocess.run([*cmd, *extra], env=env, capture_output=True, text=True, check=False)


def schema_drift_tour(console: Console, sf: Any, m: ModuleType, org: Any) -> None:
    creds = org.credentials()
    auth = sf.connection.auth
    check(isinstance(auth, SalesforceAuth) and auth.token is not None, "no session to diff with")
    env = dict(
        os.environ,
        SF_INSTANCE_URL=creds["instance_url"],
        SF_ACCESS_TOKEN=auth.token.access_token,
        SF_CA_FILE=creds["ca_file"],
    )
    package = Path(str(m.__file__)).parent
    clean = _diff(package, env)
    check(clean.returncode == 0, f"a fresh package drifted: {clean.stdout}{clean.stderr}")
    say(console, "schema diff on the freshly generated package → exit 0, no drift")

    admin = f"{creds['instance_url']}/_admin/schema/fields"
    trust = ssl.create_default_context(cafile=creds["ca_file"])
    with httpx.Client(verify=trust) as http:
        field = {"name": "Region__c", "type": "string", "length": 40}
        http.post(admin, json={"sobject": "Account", "field": field}).raise_for_status()
        more = {"addPicklistValues": ["Merged"]}
        http.patch(f"{admin}/Account/CleanStatus", json=more).raise_for_status()
        http.delete(f"{admin}/Account/Jigsaw").raise_for_status()
    say(console, "an admin adds Account.Region__c, a CleanStatus value, and removes Jigsaw")

    drift = _diff(package, env, "--format", "json")
    check(drift.returncode == 1, f"schema diff exited {drift.returncode}: {drift.stderr}")
    report = json.loads(drift.stdout)
    graded = [(c["severity"], c["object"], c["field"]) for c in report["changes"]]
    check(
        graded
        == [
            ("critical", "Account", "Jigsaw"),
            ("warning", "Account", "CleanStatus"),
            ("info", "Account", "Region__c"),
        ],
        f"unexpected grading: {graded}",
    )
    for change in report["changes"]:
        say(
            console,
            f"{change['severity']:8} {change['object']}.{change['field']}: {change['message']}",
        )
    say(console, "schema diff → exit 1 (critical drift), as a CI step would fail")
