"""`schema diff` against a live fake org whose schema an admin changes between runs."""

from __future__ import annotations

import json
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx

from salesforce_typed.testing.server import FakeOrg
from tests.schemadrift.conftest import Cli


def _json(cli: Cli, package: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    done = cli("schema", "diff", "--package", package, "--format", "json", *extra)
    assert done.exit_code in (0, 1), done.output
    report: dict[str, Any] = json.loads(done.stdout)
    return done.exit_code, report


def _kinds(report: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return [(c["severity"], c["kind"], c["object"], c["field"]) for c in report["changes"]]


def test_a_fresh_package_has_no_drift(cli: Cli, package: Path) -> None:
    done = cli("schema", "diff", "--package", package, "--fail-on", "info")
    assert done.exit_code == 0, done.output
    assert "0 critical, 0 warning, 0 info" in done.stdout
    assert "no drift" in done.stdout
    code, report = _json(cli, package)
    assert code == 0
    assert report["fingerprint"]["package"] == report["fingerprint"]["org"]
    assert report["api_version"] == "62.0"  # recorded by generate --from-org
    assert report["package_edited"] is False
    assert report["changes"] == []


def test_an_added_field_is_info(cli: Cli, package: Path, admin: httpx.Client) -> None:
    added = admin.post(
        "/fields", json={"sobject": "Account", "field": {"name": "Tier__c", "type": "string"}}
    )
    assert added.status_code == 200, added.text
    code, report = _json(cli, package)
    assert code == 0  # info only: below the default --fail-on critical
    assert _kinds(report) == [("info", "field-added", "Account", "Tier__c")]
    assert report["summary"] == {"critical": 0, "warning": 0, "info": 1}
    assert report["fingerprint"]["package"] != report["fingerprint"]["org"]
    assert cli("schema", "diff", "--package", package, "--fail-on", "info").exit_code == 1


def test_a_value_added_to_a_restricted_picklist_is_a_warning(
    cli: Cli, package: Path, admin: httpx.Client
) -> None:
    # Account.CleanStatus is restricted (real describes say so)
    changed = admin.patch("/fields/Account/CleanStatus", json={"addPicklistValues": ["Merged"]})
    assert changed.status_code == 200, changed.text
    code, report = _json(cli, package)
    assert code == 0
    assert _kinds(report) == [("warning", "picklist-value-added", "Account", "CleanStatus")]
    assert report["changes"][0]["new"] == "Merged"
    code, report = _json(cli, package, "--fail-on", "warning")
    assert (code, report["drift"], report["fail_on"]) == (1, True, "warning")


def test_a_removed_or_retyped_field_is_critical(
    cli: Cli, package: Path, admin: httpx.Client
) -> None:
    assert admin.delete("/fields/Contact/Department").status_code == 200
    assert admin.patch("/fields/Account/Site", json={"type": "double"}).status_code == 200
    assert admin.patch("/fields/Account/Phone", json={"length": 20}).status_code == 200
    code, report = _json(cli, package)
    assert code == 1
    assert report["drift"] is True
    assert _kinds(report) == [
        ("critical", "length-shrank", "Account", "Phone"),
        ("critical", "type-changed", "Account", "Site"),
        ("critical", "field-removed", "Contact", "Department"),
    ]
    site = report["changes"][1]
    assert (site["old"], site["new"]) == ("string", "double")
    assert set(site) == {"severity", "kind", "object", "field", "old", "new", "message"}
    text = cli("schema", "diff", "--package", package)
    assert text.exit_code == 1
    lines = text.stdout.splitlines()
    assert lines[0].endswith("3 critical, 0 warning, 0 info")
    assert lines[2:5] == [
        "Account",
        "  CRITICAL Phone: length 40 -> 20",
        "  CRITICAL Site: type string -> double",
    ]
    assert "  CRITICAL Department: field removed" in lines
    assert lines[-1] == "FAIL (fail on critical and above)"


def test_the_org_follows_its_new_schema(
    fake_org: FakeOrg, fake_org_api: httpx.Client, admin: httpx.Client
) -> None:
    """Writes and queries follow an admin change at once; describes are modified again."""
    fake_org.state.schema.modified_at = 1_000_000.0  # long ago: If-Modified-Since answers 304
    stamp = formatdate(2_000_000.0, usegmt=True)
    before = fake_org_api.get("/sobjects/Account/describe", headers={"If-Modified-Since": stamp})
    assert before.status_code == 304
    body = {
        "name": "Tier__c",
        "type": "picklist",
        "restrictedPicklist": True,
        "picklistValues": ["Gold", "Silver"],
    }
    assert admin.post("/fields", json={"sobject": "Account", "field": body}).status_code == 200
    ok = fake_org_api.post("/sobjects/Account", json={"Name": "A", "Tier__c": "Gold"})
    assert ok.status_code == 201, ok.text
    refused = fake_org_api.post("/sobjects/Account", json={"Name": "B", "Tier__c": "Bronze"})
    assert refused.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    rows = fake_org_api.get("/query", params={"q": "SELECT Tier__c FROM Account WHERE Name='A'"})
    assert [r["Tier__c"] for r in rows.json()["records"]] == ["Gold"]
    after = fake_org_api.get("/sobjects/Account/describe", headers={"If-Modified-Since": stamp})
    assert after.status_code == 200
    assert any(f["name"] == "Tier__c" for f in after.json()["fields"])
    assert admin.delete("/fields/Account/Tier__c").status_code == 200
    gone = fake_org_api.get("/query", params={"q": "SELECT Tier__c FROM Account"})
    assert gone.status_code == 400
    assert gone.json()[0]["errorCode"] == "INVALID_FIELD"
