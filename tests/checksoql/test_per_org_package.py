"""A per-org package generated from saved describes (with a custom object) is checked against.

The real CumulusCI describes (../shared/realdata, read in place) go through `generate`, and
`check-soql --package FOLDER` reads the package from that folder, as a user's CI would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import RunCli

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
DESCRIBE_DIR = REALDATA / "fixtures" / "rest" / "cumulusci" / "describe"

QUERIES = """\
def reads(sf):
    sf.query("SELECT Id, customfield__c, NAME FROM custom__c WHERE CustomField__c = 'x'")
    sf.query("SELECT Id, (SELECT LastName FROM Contacts) FROM Account")
    sf.query("SELECT Id, CustomFeld__c FROM Custom__c")
    sf.query("SELECT Id FROM Lead")
"""


@pytest.fixture(scope="module")
def org_package(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> Path:
    # Symlinks to the real files, without the person-account variant of Account.
    describes = tmp_path_factory.mktemp("describe")
    for path in sorted(DESCRIBE_DIR.iterdir()):
        if "PersonAccountsOrg" not in path.name:
            (describes / path.name).symlink_to(path)
    out = tmp_path_factory.mktemp("org")
    result = run_cli(
        "generate",
        "--out",
        out,
        "--package",
        "checksoql_org",
        "--from-describe",
        describes,
        "--objects",
        "Custom__c",
        "--objects",
        "Account",
        "--objects",
        "Contact",
    )
    assert result.returncode == 0, result.stderr
    return next(out.rglob("checksoql_org/__init__.py")).parent


def test_custom_object_and_field_are_checked(
    run_cli: RunCli, org_package: Path, tmp_path: Path
) -> None:
    source = tmp_path / "reads.py"
    source.write_text(QUERIES, encoding="utf-8")
    result = run_cli("check-soql", "--package", org_package, source)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"{source}:4:26: SOQL002 unknown field 'CustomFeld__c' on Custom__c "
        "(did you mean 'CustomField__c'?)",
        f"{source}:5:30: SOQL001 unknown object 'Lead'",
        "2 problems in 4 queries (1 files checked)",
    ]
