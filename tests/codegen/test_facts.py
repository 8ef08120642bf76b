"""The standard catalog built from facts: recorded describes overlay the TOML catalog.

Checks the overlay (fields dropped and added, object flags, child relationships), what the
generated FieldInfo carries (only facts that differ from the type's rule are rendered), the
type rules themselves against every recorded field, and the pins in codegen/inputs.lock.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

import salesforce_typed_std as std
from codegen.facts import DESCRIBES as DESCRIBE_DIR
from codegen.facts import FACT_OBJECTS, Facts, load_facts, with_facts
from codegen.ir import FieldDef, SchemaDef, SObjectDef
from codegen.load_describe import sobject_from_describe
from codegen.render import _field_info
from codegen.standard import LOCK
from salesforce_typed.core.fields import FieldInfo

SPEC = DESCRIBE_DIR.parents[3] / "openapi" / "sobjects-oas3-v59.0.json"


def _describe(name: str, fields: list[dict[str, Any]], **flags: Any) -> SObjectDef:
    doc = {"name": name, "fields": fields, "childRelationships": [], **flags}
    return sobject_from_describe(doc, f"{name}.json")


def test_overlay_drops_adds_and_keeps_out_custom_fields() -> None:
    toml = SObjectDef(
        name="Thing",
        cdc=True,
        fields=(FieldDef(name="Id", type="id"), FieldDef(name="Gone", type="string")),
    )
    other = SObjectDef(name="Other", fields=(FieldDef(name="Id", type="id"),))
    real = _describe(
        "Thing",
        [
            {"name": "Id", "type": "id", "filterable": True},
            {"name": "New", "type": "textarea", "length": 255, "groupable": False},
            {"name": "Org__c", "type": "string", "custom": False},  # a scrubbed custom flag
        ],
        mergeable=True,
        recordTypeInfos=[{"master": True}],
    )
    extra = _describe("Extra", [{"name": "Id", "type": "id"}])
    facts = Facts({"Thing": real, "Extra": extra}, {"Other": {"feed_enabled": True}}, {})
    merged = with_facts(SchemaDef(sobjects=(other, toml)), facts)
    assert merged.names() == ["Extra", "Other", "Thing"]
    thing = merged.get("Thing")
    assert thing is not None
    assert [f.name for f in thing.fields] == ["Id", "New"]
    assert thing.cdc and thing.mergeable and thing.record_types
    new = thing.field("New")
    assert new is not None and new.groupable is False and new.filterable is None
    extra_obj, other_obj = merged.get("Extra"), merged.get("Other")
    assert extra_obj is not None and not extra_obj.cdc  # only the recordings know it
    assert other_obj is not None and other_obj.feed_enabled  # describeGlobal's flag


def test_field_info_renders_only_facts_the_type_rule_misses() -> None:
    long_text = FieldDef(name="Description", type="textarea", length=32000, groupable=False)
    assert "groupable" not in _field_info(long_text, "Description", None)
    flag_only = FieldDef(name="HasOpenActivity", type="boolean", filterable=False)
    assert "filterable=False" in _field_info(flag_only, "HasOpenActivity", None)
    defaulted = FieldDef(name="IsX", type="boolean", defaulted_on_create=True, default_value=False)
    assert "default_value" not in _field_info(defaulted, "IsX", None)


def _recorded_fields() -> list[dict[str, Any]]:
    out = []
    for name in FACT_OBJECTS:
        doc = json.loads((DESCRIBE_DIR / f"{name}_describe.json").read_text("utf-8"))
        out += [f for f in doc["fields"] if not f["name"].endswith("__c")]
    return out


_RULE_INPUTS = ("name", "type", "length", "nillable", "createable", "updateable", "calculated")


@pytest.mark.parametrize(
    ("flag", "share"),
    [
        ("filterable", 25),
        ("sortable", 25),
        ("groupable", 25),
        ("aggregatable", 25),
        ("permissionable", 7),
    ],
)
def test_type_rules_agree_with_most_recorded_fields(flag: str, share: int) -> None:
    """The rules objects without a recorded describe get: wrong for at most 1/share of the
    recorded fields (permissionable also hangs on per-object choices no rule sees)."""
    fields = _recorded_fields()
    wrong = [
        f["name"]
        for f in fields
        if getattr(FieldInfo(**{k: f[k] for k in _RULE_INPUTS}), flag) != f[flag]
    ]
    assert len(wrong) <= len(fields) // share, wrong


def test_generated_models_carry_the_recorded_facts() -> None:
    case = {f.name: f for f in std.Case.__sf_fields__}
    assert case["CaseNumber"].auto_number and not case["CaseNumber"].groupable
    assert case["Status"].default_value == "New" and case["Priority"].default_value == "Medium"
    lead = {f.name: f for f in std.Lead.__sf_fields__}
    assert lead["Status"].default_value == "Open - Not Contacted"
    assert not lead["EmailBouncedDate"].createable
    account = {f.name: f for f in std.Account.__sf_fields__}
    assert not account["Description"].groupable and account["BillingStreet"].filterable
    clean = account["CleanStatus"]
    assert (clean.picklist_label("Matched"), clean.picklist_label("Different")) == (
        "In Sync",
        "Different",
    )
    opp = {f.name: f for f in std.Opportunity.__sf_fields__}
    assert not opp["HasOpenActivity"].filterable and not opp["HasOverdueTask"].sortable
    assert {"MiddleName", "Suffix", "DoNotCall"}.isdisjoint(
        f.name for f in std.Contact.__sf_fields__
    )
    assert std.Case.__sf_object__ is not None and not std.Case.__sf_object__.mergeable
    assert std.Account.__sf_object__ is not None and std.Account.__sf_object__.record_types
    assert std.OpportunityContactRole.__sf_object__ is not None


def test_catalog_fields_are_in_the_v59_spec() -> None:
    """Objects without a recorded describe: every catalog field is one the real org's OAS
    schema lists (a field it lacks is a wrong guess, or an org setting the catalog omits)."""
    schemas = json.loads(SPEC.read_text("utf-8"))["components"]["schemas"]
    for name in std.SOBJECTS:
        model = getattr(std, name)
        if name.endswith("ChangeEvent") or name in FACT_OBJECTS:
            continue
        props = set(schemas[f"{name}SObject"]["properties"])
        extra = [f.name for f in model.__sf_fields__ if f.name not in props]
        assert not extra, (name, extra)


def test_lock_pins_each_recording() -> None:
    pins = json.loads(LOCK.read_text("utf-8"))["describes_sha256"]
    files = {f"{n}_describe.json" for n in FACT_OBJECTS} | {"describeGlobal.json"}
    assert set(pins) == files
    for name, sha in pins.items():
        assert hashlib.sha256((DESCRIBE_DIR / name).read_bytes()).hexdigest() == sha
    assert load_facts().sha256 == pins
