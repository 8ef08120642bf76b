"""sObject describes and describeGlobal of the fake org compared with real recordings.

Each recorded describe (`fixtures/rest/cumulusci/describe/`) is compared with what the fake
org serves over HTTP for the same object: every field both sides have, property by property
(FIELD_PROPERTIES) with its picklist values; the field set; child relationships to objects
the catalog has; record type infos; every top-level key and the object flags. `Custom__c`
is loaded into the org from its recording first, so the round trip is what is compared.
describeGlobal entries are compared with describeGlobal.json key for key. A failure names
`object.field.property`; the module prints how many behaviours it compared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fidelity.deviations import accepted
from salesforce_typed.testing.server import FakeOrg

DESCRIBES = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "realdata"
    / "fixtures"
    / "rest"
    / "cumulusci"
    / "describe"
)
V = "/services/data/v59.0"
PERSON_ORG = "Account_PersonAccountsOrg"
RECORDINGS = (
    "Account",
    PERSON_ORG,
    "Contact",
    "Case",
    "Event",
    "Lead",
    "Opportunity",
    "OpportunityContactRole",
    "Custom__c",
)
FIELD_PROPERTIES = (
    "type",
    "label",
    "soapType",
    "length",
    "byteLength",
    "precision",
    "scale",
    "digits",
    "nillable",
    "createable",
    "updateable",
    "filterable",
    "sortable",
    "groupable",
    "aggregatable",
    "permissionable",
    "defaultValue",
    "defaultedOnCreate",
    "autoNumber",
    "calculated",
    "restrictedPicklist",
    "dependentPicklist",
    "referenceTo",
    "relationshipName",
    "namePointing",
    "polymorphicForeignKey",
    "cascadeDelete",
    "restrictedDelete",
    "compoundFieldName",
    "extraTypeInfo",
    "idLookup",
    "externalId",
    "unique",
    "nameField",
    "htmlFormatted",
    "caseSensitive",
    "custom",
    "encrypted",
    "searchPrefilterable",
    "queryByDistance",
)
PICKLIST_PROPERTIES = ("value", "label", "active", "defaultValue", "validFor")
OBJECT_PROPERTIES = (
    "name",
    "label",
    "labelPlural",
    "keyPrefix",
    "custom",
    "customSetting",
    "activateable",
    "createable",
    "updateable",
    "deletable",
    "undeletable",
    "queryable",
    "searchable",
    "triggerable",
    "mergeable",
    "feedEnabled",
    "mruEnabled",
    "layoutable",
    "compactLayoutable",
    "searchLayoutable",
    "deepCloneable",
    "replicateable",
    "retrieveable",
    "deprecatedAndHidden",
    "hasSubtypes",
    "isSubtype",
    "isInterface",
    "listviewable",
    "lookupLayoutable",
    "defaultImplementation",
    "extendedBy",
    "extendsInterfaces",
    "implementedBy",
    "implementsInterfaces",
    "networkScopeFieldName",
    "actionOverrides",
    "namedLayoutInfos",
)
# Pages of the Classic UI and of features the fake org does not serve.
_UNSERVED_URLS = re.compile(
    r"^ui|ArticleSuggestions$|^(eventSeriesUpdates|namedLayouts|passwordUtilities)$"
)
_VERSION = re.compile(r"/v(\d+|xx)\.0/")

_tally = {"compared": 0, "accepted": 0}


def real(stem: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DESCRIBES / f"{stem}_describe.json").read_text("utf-8"))
    return doc


def _fields(stem: str) -> list[str]:
    """Every field of Custom__c; of the others the standard ones (the recording orgs' own
    `__c` fields are theirs, not the catalog's)."""
    names = [str(f["name"]) for f in real(stem)["fields"]]
    return names if stem == "Custom__c" else [n for n in names if not n.endswith("__c")]


@pytest.fixture(scope="module")
def ours(module_org: FakeOrg, module_api: httpx.Client) -> dict[str, dict[str, Any]]:
    """The fake org's describe of each recorded object (Custom__c loaded from its recording)."""
    module_org.state.schema.add_describe(real("Custom__c"))
    docs = {}
    for stem in RECORDINGS:
        name = real(stem)["name"]
        r = module_api.get(f"{V}/sobjects/{name}/describe")
        assert r.status_code == 200, (stem, r.text)
        docs[stem] = r.json()
    return docs


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # past capture, into the session's report
            reporter.write_line(
                f"\ndescribe fidelity: {_tally['compared']} behaviours compared, "
                f"{_tally['accepted']} differences accepted by a deviation row"
            )


def _differences(stem: str, pairs: list[tuple[str, Any, Any]]) -> list[str]:
    """`(subject, real, ours)` triples -> the unaccepted differences, tallied."""
    _tally["compared"] += len(pairs)
    out = []
    for subject, want, got in pairs:
        if want == got:
            continue
        if stem == PERSON_ORG and accepted("describe", PERSON_ORG):
            _tally["accepted"] += 1
            continue
        out.append(f"{subject}: real {want!r}, fake org {got!r}")
    return out


def _field_pairs(stem: str, want: dict[str, Any], got: dict[str, Any]) -> list[Any]:
    name = want["name"]
    pairs = [(f"{stem}.{name}.{p}", want.get(p), got.get(p)) for p in FIELD_PROPERTIES]
    values = {v["value"]: v for v in got.get("picklistValues") or ()}
    pairs.append(
        (
            f"{stem}.{name}.picklistValues",
            [v["value"] for v in want["picklistValues"]],
            [v["value"] for v in got.get("picklistValues") or ()],
        )
    )
    for v in want["picklistValues"]:
        mine = values.get(v["value"], {})
        pairs += [
            (f"{stem}.{name}.picklistValues[{v['value']}].{p}", v.get(p), mine.get(p))
            for p in PICKLIST_PROPERTIES
        ]
    return pairs


@pytest.mark.parametrize(
    ("stem", "field"),
    [pytest.param(s, f, id=f"{s}.{f}") for s in RECORDINGS for f in _fields(s)],
)
def test_field(ours: dict[str, dict[str, Any]], stem: str, field: str) -> None:
    want = next(f for f in real(stem)["fields"] if f["name"] == field)
    got = next((f for f in ours[stem]["fields"] if f["name"] == field), None)
    if got is None:  # only the person-account org has it (Person*, IsPersonAccount, ...)
        assert stem == PERSON_ORG and accepted("describe", PERSON_ORG), f"{stem}.{field}"
        _tally["accepted"] += 1
        return
    problems = _differences(stem, _field_pairs(stem, want, got))
    assert not problems, "\n".join(problems)


def _standard(names: set[str]) -> set[str]:
    return {n for n in names if not n.endswith("__c")}


@pytest.mark.parametrize("stem", RECORDINGS)
def test_field_set(ours: dict[str, dict[str, Any]], stem: str) -> None:
    """Standard fields: the same set (the recording org's own `__c` fields are not ours)."""
    want = {f["name"] for f in real(stem)["fields"]}
    got = {f["name"] for f in ours[stem]["fields"]}
    if stem != "Custom__c":
        want, got = _standard(want), _standard(got)
    pairs = [(f"{stem}.fields.{n}", n in want, n in got) for n in sorted(want | got, key=str.lower)]
    problems = _differences(stem, pairs)
    assert not problems, "\n".join(problems)


def _children(doc: dict[str, Any], catalog: set[str]) -> dict[str, dict[str, Any]]:
    return {
        f"{c['childSObject']}.{c['field']}": c
        for c in doc["childRelationships"]
        if c["childSObject"] in catalog and c["relationshipName"]
    }


@pytest.mark.parametrize("stem", RECORDINGS)
def test_child_relationships(
    ours: dict[str, dict[str, Any]], module_api: httpx.Client, stem: str
) -> None:
    """Those to objects the catalog has, key by key; the rest is one deviation row."""
    catalog = {s["name"] for s in module_api.get(f"{V}/sobjects").json()["sobjects"]}
    want = _children(real(stem), catalog)
    got = _children(ours[stem], catalog)
    pairs: list[tuple[str, Any, Any]] = [(f"{stem}.childRelationships", sorted(want), sorted(got))]
    for key in sorted(want.keys() & got.keys()):
        pairs += [
            (f"{stem}.childRelationships.{key}.{p}", want[key][p], got[key].get(p))
            for p in want[key]
        ]
    problems = _differences(stem, pairs)
    assert not problems, "\n".join(problems)
    beyond = len(real(stem)["childRelationships"]) - len(want)
    if beyond:
        assert accepted("describe", "childRelationships.beyond-catalog")
        _tally["accepted"] += 1


def _unversioned(value: Any) -> Any:
    return json.loads(_VERSION.sub("/vNN.0/", json.dumps(value)))


@pytest.mark.parametrize("stem", RECORDINGS)
def test_record_types(ours: dict[str, dict[str, Any]], stem: str) -> None:
    """The Master record type, key by key; the org's own record types are an org setting."""
    want = _unversioned(real(stem)["recordTypeInfos"])
    got = _unversioned(ours[stem]["recordTypeInfos"])
    own = [r for r in want if not r["master"]]
    pairs = [(f"{stem}.recordTypeInfos", len(want) - len(own), len(got))]
    for master in (r for r in want if r["master"]):
        mine = next((r for r in got if r["master"]), {})
        keys = [k for k in master if not (own and k == "defaultRecordTypeMapping")]
        pairs += [(f"{stem}.recordTypeInfos.Master.{k}", master[k], mine.get(k)) for k in keys]
    problems = _differences(stem, pairs)
    assert not problems, "\n".join(problems)
    if own:  # the org defined its own (Household, Person Account): Master is then no default
        assert accepted("describe", "recordTypeInfos.org-defined")
        _tally["accepted"] += 1


@pytest.mark.parametrize("stem", RECORDINGS)
def test_top_level(ours: dict[str, dict[str, Any]], stem: str) -> None:
    """Every key the recording has, the object flags' values, the describe urls."""
    want, got = real(stem), ours[stem]
    pairs: list[tuple[str, Any, Any]] = [(f"{stem}.{k}", True, k in got) for k in sorted(want)]
    pairs += [(f"{stem}.{p}", want.get(p), got.get(p)) for p in OBJECT_PROPERTIES if p in want]
    served = {k for k in want["urls"] if not _UNSERVED_URLS.search(k)}
    pairs += [(f"{stem}.urls.{k}", True, k in got["urls"]) for k in sorted(served)]
    for key in sorted(served & set(got["urls"])):
        pairs.append(
            (
                f"{stem}.urls.{key}",
                _unversioned(want["urls"][key]),
                _unversioned(got["urls"][key]),
            )
        )
    problems = _differences(stem, pairs)
    assert not problems, "\n".join(problems)
    if set(want["urls"]) - served:
        assert accepted("describe", "urls.unserved-pages")
        _tally["accepted"] += 1


def test_no_invented_top_level_keys(ours: dict[str, dict[str, Any]]) -> None:
    """Each top-level key the fake org sends is one some real recording has."""
    known = {k for stem in RECORDINGS for k in real(stem)}
    invented = sorted({k for doc in ours.values() for k in doc} - known)
    _tally["compared"] += 1
    assert not invented


@pytest.mark.parametrize("stem", RECORDINGS)
def test_supported_scopes(ours: dict[str, dict[str, Any]], stem: str) -> None:
    """Scope names the fake org lists are real ones; `everything` always."""
    want = {s["name"] for s in real(stem)["supportedScopes"]}
    got = {s["name"] for s in ours[stem]["supportedScopes"]}
    pairs = [(f"{stem}.supportedScopes.{n}", n in want, True) for n in sorted(got)]
    problems = _differences(stem, pairs)
    assert not problems, "\n".join(problems)
    if want - got:  # team, queue and scoping-rule scopes: sharing the fake org does not model
        assert accepted("describe", "supportedScopes.sharing")
        _tally["accepted"] += 1


def test_describe_global_entries(module_api: httpx.Client) -> None:
    """Every key a real describeGlobal entry has, for every object; the flags' values for the
    objects without a recorded describe (Campaign, CampaignMember, Organization, User). The
    others' flags are test_top_level's: the trimmed describeGlobal.json lists Event and Lead
    with a null keyPrefix and flags their own describes contradict."""
    recorded = json.loads((DESCRIBES / "describeGlobal.json").read_text("utf-8"))
    doc = module_api.get(f"{V}/sobjects").json()
    ours = {s["name"]: s for s in doc["sobjects"]}
    keys = set().union(*(set(s) for s in recorded["sobjects"]))
    pairs: list[tuple[str, Any, Any]] = [
        (f"describeGlobal.{k}", recorded[k], doc.get(k)) for k in recorded if k != "sobjects"
    ]
    for name, entry in sorted(ours.items()):
        pairs.append((f"describeGlobal.{name}.keys", sorted(keys), sorted(entry)))
    described = {real(stem)["name"] for stem in RECORDINGS}
    both = [s for s in recorded["sobjects"] if s["name"] in ours]
    assert {"Campaign", "CampaignMember", "Organization", "User"} <= {s["name"] for s in both}
    unserved = False
    for want in both:
        got = ours[want["name"]]
        if want["name"] not in described:
            pairs += [
                (f"describeGlobal.{want['name']}.{k}", want[k], got.get(k))
                for k in sorted(want)
                if k != "urls"
            ]
        served = {k for k in want["urls"] if not _UNSERVED_URLS.search(k)}
        unserved = unserved or served != set(want["urls"])
        pairs += [
            (f"describeGlobal.{want['name']}.urls.{k}", True, k in got["urls"])
            for k in sorted(served)
        ]
    problems = _differences("describeGlobal", pairs)
    assert not problems, "\n".join(problems)
    if unserved:
        assert accepted("describe", "urls.unserved-pages")
        _tally["accepted"] += 1
