"""The whole real v59 sObjects spec (1,088 sObjects, 18.9 MB) through the CLI, once per session.

Checks the promises that only matter at full size: one module per sObject, every module
compiles, the package index stays lazy (importing it or one model never loads the rest), and
a spec-shaped record where any field may be null round-trips. `mypy --strict` runs on a
~30-object slice generated with `--objects`: the full package is too slow for CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]

PACKAGE = "full_sf"
SUFFIX = "SObject"
# The real spec's own numbers (see ../shared/realdata/README.md).
SPEC_SOBJECTS = 1088
SPEC_CHANGE_EVENTS = 103
# A slice for mypy: common standard objects, plus sObjects named like things generated code
# uses (`Location` like the compound type, `Name` like a field every model has).
MYPY_SLICE = (
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "OpportunityLineItem",
    "Case",
    "User",
    "Task",
    "Event",
    "Campaign",
    "CampaignMember",
    "Product2",
    "Pricebook2",
    "PricebookEntry",
    "Order",
    "OrderItem",
    "Contract",
    "Asset",
    "Location",
    "Name",
    "ContentVersion",
    "ContentDocument",
    "Attachment",
    "Note",
    "Solution",
    "Entitlement",
    "WorkOrder",
    "ServiceContract",
    "Individual",
    "UserRole",
)

LAZY = """
import json, sys
import full_sf
models = lambda: sorted(m for m in sys.modules if m.startswith("full_sf."))
after_import = models()
account = full_sf.Account
after_account = models()
try:
    full_sf.NoSuchSObject
    missing = None
except AttributeError as exc:
    missing = str(exc)
print(json.dumps({
    "after_import": after_import,
    "after_account": after_account,
    "account": [account.__module__, account.__name__, account.sobject_type()],
    "dir": dir(full_sf),
    "all": list(full_sf.__all__),
    "sobjects": list(full_sf.SOBJECTS),
    "missing": missing,
    "has_missing": hasattr(full_sf, "Acount"),
}))
"""

IMPORT_ALL = """
import json, sys
import full_sf
from salesforce_typed.core.models import SObject
from salesforce_typed.core.change_events import ChangeEvent
events, wrong = [], []
for name in full_sf.SOBJECTS:
    cls = getattr(full_sf, name)
    if not (isinstance(cls, type) and issubclass(cls, SObject) and cls.sobject_type() == name):
        wrong.append(name)
    if issubclass(cls, ChangeEvent):
        events.append(name)
loaded = sum(1 for m in sys.modules if m.startswith("full_sf."))
print(json.dumps({"events": events, "wrong": wrong, "loaded": loaded}))
"""

ROUNDTRIP = """
import json, sys
from full_sf import Account
record = json.loads(sys.stdin.read())
acc = Account.from_dict(record, strict=True)
print(json.dumps({
    "roundtrip": acc.to_dict(),
    "set": list(acc.set_fields()),
    "extra": acc.extra_fields,
    "none": sorted(f.name for f in Account.__sf_fields__ if getattr(acc, f.attr_name) is None),
    "types": {k: type(acc[k]).__name__ for k in ("CreatedDate", "LastActivityDate",
              "BillingAddress", "NumberOfEmployees", "AnnualRevenue", "IsDeleted")},
}))
"""

USER_CODE = """\
from __future__ import annotations

from sub_sf import Account, Contact


def company(contact: Contact) -> str:
    acc = Account(Name="Acme", AnnualRevenue=1.5, NumberOfEmployees=None)
    if isinstance(acc.Name, str) and isinstance(contact.LastName, str):
        return f"{contact.LastName} at {acc.Name.upper()}"
    return ""
"""


@pytest.fixture(scope="session")
def spec_schemas(spec_file: Path) -> dict[str, Any]:
    schemas: dict[str, Any] = json.loads(spec_file.read_bytes())["components"]["schemas"]
    return schemas


@pytest.fixture(scope="session")
def spec_names(spec_schemas: dict[str, Any]) -> list[str]:
    return sorted(k.removesuffix(SUFFIX) for k in spec_schemas if k.endswith(SUFFIX))


@pytest.fixture(scope="session")
def full(tmp_path_factory: pytest.TempPathFactory, run_cli: Run, spec_file: Path) -> Path:
    out = tmp_path_factory.mktemp("full_spec")
    result = run_cli("generate", "--out", out, "--package", PACKAGE, "--from-spec", spec_file)
    assert result.returncode == 0, result.stderr
    # + the index and _schema.py
    assert f"{SPEC_SOBJECTS + 2} modules" in " ".join(result.stderr.split())
    return out


def test_one_module_per_sobject(full: Path, spec_names: list[str]) -> None:
    assert len(spec_names) == SPEC_SOBJECTS
    modules = [
        p for p in (full / PACKAGE).glob("*.py") if p.name not in ("__init__.py", "_schema.py")
    ]
    assert len(modules) == SPEC_SOBJECTS
    others = (p.name for p in (full / PACKAGE).iterdir() if not p.name.endswith((".py", ".pyi")))
    assert sorted(others) == ["py.typed"]
    assert len(list((full / PACKAGE).glob("*.pyi"))) == SPEC_SOBJECTS  # one typing stub each


def test_every_module_compiles(full: Path) -> None:
    failures = []
    for path in sorted((full / PACKAGE).glob("*.py")):
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except SyntaxError as exc:
            failures.append(f"{path.name}: {exc}")
    assert failures == []


def test_every_model_imports_and_change_events_match_the_spec(
    full: Path, run_python: Run, spec_schemas: dict[str, Any], spec_names: list[str]
) -> None:
    result = run_python(IMPORT_ALL, path=[full])
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["wrong"] == []
    assert got["loaded"] == SPEC_SOBJECTS
    spec_events = sorted(
        k.removesuffix(SUFFIX) for k in spec_schemas if k.endswith("ChangeEvent" + SUFFIX)
    )
    assert len(spec_events) == SPEC_CHANGE_EVENTS
    assert sorted(got["events"]) == spec_events


def test_the_index_is_lazy(full: Path, run_python: Run, spec_names: list[str]) -> None:
    result = run_python(LAZY, path=[full])
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["after_import"] == []  # `import full_sf` loads no model
    assert got["after_account"] == [f"{PACKAGE}.account"]  # and Account loads only its own
    assert got["account"] == [f"{PACKAGE}.account", "Account", "Account"]
    assert "Account" in got["dir"] and "AccountChangeEvent" in got["dir"]
    assert got["dir"] == sorted(got["all"])
    # every spec sObject once (the order is the loader's stable key order)
    assert sorted(got["sobjects"]) == spec_names
    assert got["missing"] is not None and "NoSuchSObject" in got["missing"]
    assert got["has_missing"] is False


def spec_account_record(spec_schemas: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """An Account as REST returns it: every property the spec lists, null unless given."""
    props = spec_schemas["AccountSObject"]["properties"]
    record: dict[str, Any] = {
        "attributes": {
            "type": "Account",
            "url": "/services/data/v59.0/sobjects/Account/001xx000003DGb2AAG",
        }
    }
    record.update({name: values.get(name) for name in props if name != "attributes"})
    return record


def test_an_all_null_account_round_trips(
    full: Path, run_python: Run, spec_schemas: dict[str, Any]
) -> None:
    record = spec_account_record(spec_schemas, {})
    fields = [k for k in record if k != "attributes"]
    assert len(fields) > 60
    result = run_python(ROUNDTRIP, path=[full], stdin=json.dumps(record))
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["roundtrip"] == record
    assert got["set"] == fields  # None is "set to null", not UNSET
    assert got["none"] == sorted(fields)
    assert got["extra"] == {}


def test_a_realistic_account_with_nulls_round_trips(
    full: Path, run_python: Run, spec_schemas: dict[str, Any]
) -> None:
    values = {
        "Id": "001xx000003DGb2AAG",
        "IsDeleted": False,
        "Name": "Acme Corporation",
        "Industry": "Banking",
        "AnnualRevenue": 1250000.5,
        "NumberOfEmployees": 420,
        "BillingCity": "San Francisco",
        "BillingAddress": {
            "city": "San Francisco",
            "country": "USA",
            "geocodeAccuracy": None,
            "latitude": None,
            "longitude": None,
            "postalCode": "94105",
            "state": "CA",
            "street": "415 Mission Street",
        },
        "CreatedDate": "2024-01-15T10:30:00.000+0000",
        "LastModifiedDate": "2024-03-01T08:00:05.123+0000",
        "LastActivityDate": "2024-02-01",
        "SLA__c": "Gold",
        "NumberofLocations__c": 3.0,
    }
    record = spec_account_record(spec_schemas, values)
    result = run_python(ROUNDTRIP, path=[full], stdin=json.dumps(record))
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["roundtrip"] == record
    assert got["types"] == {
        "CreatedDate": "datetime",
        "LastActivityDate": "date",
        "BillingAddress": "Address",
        "NumberOfEmployees": "int",
        "AnnualRevenue": "float",
        "IsDeleted": "bool",
    }
    assert got["none"] == sorted(k for k in record if k != "attributes" and k not in values)


def test_mypy_strict_passes_on_a_slice(
    tmp_path: Path, run_cli: Run, spec_file: Path, spec_names: list[str]
) -> None:
    assert set(MYPY_SLICE) <= set(spec_names)
    selection = [arg for name in MYPY_SLICE for arg in ("--objects", name)]
    result = run_cli(
        "generate", "--out", tmp_path, "--package", "sub_sf", "--from-spec", spec_file, *selection
    )
    assert result.returncode == 0, result.stderr
    modules = {p.stem for p in (tmp_path / "sub_sf").glob("*.py")} - {"__init__"}
    assert {"account", "account_change_event", "user_role"} <= modules
    assert len(modules) >= len(MYPY_SLICE)
    (tmp_path / "user_code.py").write_text(USER_CODE, encoding="utf-8")
    (tmp_path / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
    env = dict(os.environ, MYPYPATH=str(tmp_path))
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "--no-color-output",
            "sub_sf",
            "user_code.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("Success: no issues found")
