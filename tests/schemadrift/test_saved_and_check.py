"""Saved describes as the org side, `generate --check`, and what is a usage error (exit 2)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from salesforce_typed.cli import app
from salesforce_typed.testing.server import FakeOrg
from tests.schemadrift.conftest import DESCRIBE_DIR, Cli

# The real describes of a CumulusCI org (Account has a person-accounts variant: left out).
_REAL = ("Account", "Case", "Contact", "Custom__c", "Lead", "Opportunity")


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """A folder of saved describes: links to the real ones, so a test can swap one."""
    folder = tmp_path / "describes"
    folder.mkdir()
    for name in _REAL:
        (folder / f"{name}_describe.json").symlink_to(DESCRIBE_DIR / f"{name}_describe.json")
    (folder / "describeGlobal.json").symlink_to(DESCRIBE_DIR / "describeGlobal.json")
    return folder


def _generate(cli: Cli, saved: Path, out: Path) -> Path:
    name = f"saved_{uuid.uuid4().hex[:10]}"
    done = cli("generate", "--from-describe", saved, "--out", out, "--package", name)
    assert done.exit_code == 0, done.output
    return out / name


def _edit(saved: Path, name: str, edit: Any) -> None:
    path = saved / f"{name}_describe.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    edit(doc)
    path.unlink()
    path.write_text(json.dumps(doc), encoding="utf-8")


def _field(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in doc["fields"] if f["name"] == name)
    return found


def test_saved_describes_mode(cli: Cli, saved: Path, tmp_path: Path) -> None:
    package = _generate(cli, saved, tmp_path / "out")
    same = cli(
        "schema", "diff", "--package", package, "--from-describe", saved, "--fail-on", "info"
    )
    assert same.exit_code == 0, same.output
    assert "no drift" in same.stdout

    def shrink(doc: dict[str, Any]) -> None:
        _field(doc, "Description")["nillable"] = False  # not createable there: info only
        _field(doc, "LastName")["length"] = 40
        doc["fields"] = [f for f in doc["fields"] if f["name"] != "Email"]

    _edit(saved, "Contact", shrink)
    (saved / "Lead_describe.json").unlink()
    done = cli("schema", "diff", "--package", package, "--from-describe", saved, "--format", "json")
    assert done.exit_code == 1
    report = json.loads(done.stdout)
    got = {(c["severity"], c["kind"], c["object"], c["field"]) for c in report["changes"]}
    assert ("critical", "object-removed", "Lead", None) in got
    assert ("critical", "length-shrank", "Contact", "LastName") in got
    assert ("critical", "field-removed", "Contact", "Email") in got
    assert report["source"] == str(saved)


def test_generate_check_runs_the_same_engine(cli: Cli, package: Path, admin: httpx.Client) -> None:
    before = {p.name: p.read_bytes() for p in package.iterdir() if p.is_file()}
    args = ["generate", "--from-org", "--out", package.parent, "--package", package.name]
    args += ["--objects", "Account", "--objects", "Contact", "--check"]
    clean = cli(*args)
    assert clean.exit_code == 0, clean.output
    assert "no drift" in clean.stdout
    assert admin.delete("/fields/Account/Site").status_code == 200
    drift = cli(*args, "--format", "json")
    assert drift.exit_code == 1, drift.output
    kinds = [(c["kind"], c["field"]) for c in json.loads(drift.stdout)["changes"]]
    assert kinds == [("field-removed", "Site")]
    after = {p.name: p.read_bytes() for p in package.iterdir() if p.is_file()}
    assert after == before  # --check writes nothing


def test_usage_errors_exit_2(cli: Cli, package: Path, tmp_path: Path) -> None:
    missing = cli("schema", "diff", "--package", tmp_path / "nowhere")
    assert missing.exit_code == 2
    assert "nowhere" in missing.output
    both = cli("schema", "diff", "--package", package, "--from-describe", tmp_path, "--alias", "x")
    assert both.exit_code == 2
    bad = cli("schema", "diff", "--package", package, "--fail-on", "sometimes")
    assert bad.exit_code == 2
    no_pkg = cli("generate", "--from-org", "--out", tmp_path, "--package", "absent_sf", "--check")
    assert no_pkg.exit_code == 2
    assert not (tmp_path / "absent_sf").exists()


def test_a_package_without_schema_module_is_a_usage_error(cli: Cli, package: Path) -> None:
    (package / "_schema.py").unlink()
    done = cli("schema", "diff", "--package", package)
    assert done.exit_code == 2
    assert "no _schema module" in done.output


def test_a_hand_edited_package_is_flagged(cli: Cli, package: Path) -> None:
    schema = package / "_schema.py"
    text = schema.read_text(encoding="utf-8")
    start = text.index('FINGERPRINT: str = "') + len('FINGERPRINT: str = "')
    schema.write_text(text[:start] + "0" * 64 + text[start + 64 :], encoding="utf-8")
    done = cli("schema", "diff", "--package", package)
    assert done.exit_code == 0, done.output
    assert "no longer match its recorded fingerprint" in done.stdout


def test_an_alias_reaches_the_org(
    cli: Cli, package: Path, fake_org: FakeOrg, admin: httpx.Client, tmp_path: Path
) -> None:
    """`--alias` takes the grant and token store `salesforce-typed auth ...` recorded."""
    creds = fake_org.credentials()
    env = {"SALESFORCE_TYPED_HOME": str(tmp_path / "home"), "SF_ACCESS_TOKEN": ""}
    runner = CliRunner()
    login = [
        "auth", "client-credentials", "--alias", "drift", "--client-id", creds["client_id"],
        "--client-secret", creds["client_secret"], "--login-url", creds["instance_url"],
    ]  # fmt: skip
    made = runner.invoke(app, login, env=env)
    assert made.exit_code == 0, made.output
    assert admin.delete("/fields/Contact/Department").status_code == 200
    args = ["schema", "diff", "--package", str(package), "--alias", "drift", "--format", "json"]
    done = runner.invoke(app, args, env=env)
    assert done.exit_code == 1, done.output
    kinds = [(c["kind"], c["field"]) for c in json.loads(done.stdout)["changes"]]
    assert kinds == [("field-removed", "Department")]
    unknown = runner.invoke(app, [*args[:5], "nobody"], env=env)
    assert unknown.exit_code == 2
    assert "nobody" in unknown.output
