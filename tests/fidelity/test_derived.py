"""Values Salesforce computes on save, over HTTP: person names (and `Owner.Name`), auto-numbers,
an Opportunity's stage-driven fields and fiscal period, a Case's IsClosed, insert defaults and
the read-only error for writing any of them. REST carries most; one Bulk 2.0 ingest and one
SOAP create show that every write API gets the same values (they share `records.Writer`).

Facts: the stage table is a new org's OpportunityStage; the default picklist values are those
of the real describes in `realdata/fixtures/rest/cumulusci/describe`; the fiscal year is the
standard one (January start, "YYYY Q" in `Fiscal`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fidelity.conftest import password_token
from salesforce_typed import Record, RefreshTokenGrant, Salesforce
from salesforce_typed.bulk import Bulk2
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.soap import SoapClient
from salesforce_typed.testing.org import derived
from salesforce_typed.testing.server import FakeOrg

V = "/services/data/v62.0"
READ_ONLY = (
    "Unable to create/update fields: {}. Please check the security settings of this field "
    "and verify that it is read/write for your profile or permission set."
)
# StageName -> (Probability, ForecastCategoryName, ForecastCategory, IsClosed, IsWon)
STAGES = {
    "Prospecting": (10, "Pipeline", "Pipeline", False, False),
    "Qualification": (10, "Pipeline", "Pipeline", False, False),
    "Needs Analysis": (20, "Pipeline", "Pipeline", False, False),
    "Value Proposition": (50, "Pipeline", "Pipeline", False, False),
    "Id. Decision Makers": (60, "Pipeline", "Pipeline", False, False),
    "Perception Analysis": (70, "Pipeline", "Pipeline", False, False),
    "Proposal/Price Quote": (75, "Pipeline", "Pipeline", False, False),
    "Negotiation/Review": (90, "Pipeline", "Pipeline", False, False),
    "Closed Won": (100, "Closed", "Closed", True, True),
    "Closed Lost": (0, "Omitted", "Omitted", True, False),
}
STAGE_FIELDS = ("Probability", "ForecastCategoryName", "ForecastCategory", "IsClosed", "IsWon")


def create(api: httpx.Client, sobject: str, body: dict[str, Any]) -> str:
    response = api.post(f"{V}/sobjects/{sobject}", json=body)
    assert response.status_code == 201, response.text
    record_id: str = response.json()["id"]
    return record_id


def update(api: httpx.Client, sobject: str, record_id: str, body: dict[str, Any]) -> None:
    response = api.patch(f"{V}/sobjects/{sobject}/{record_id}", json=body)
    assert response.status_code == 204, response.text


def get(api: httpx.Client, sobject: str, record_id: str) -> dict[str, Any]:
    response = api.get(f"{V}/sobjects/{sobject}/{record_id}")
    assert response.status_code == 200, response.text
    row: dict[str, Any] = response.json()
    return row


def query(api: httpx.Client, soql: str) -> list[dict[str, Any]]:
    response = api.get(f"{V}/query", params={"q": soql})
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()["records"]
    return records


def opportunity(**extra: Any) -> dict[str, Any]:
    return {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2024-05-15", **extra}


# -- names -----------------------------------------------------------------------------------


def test_the_users_name_is_composed_and_owner_name_reads_it(
    api: httpx.Client, fake_org: FakeOrg
) -> None:
    user_id = fake_org.state.config.user_id
    [user] = query(api, f"SELECT Name, FirstName, LastName FROM User WHERE Id = '{user_id}'")
    assert user["Name"] == f"{user['FirstName']} {user['LastName']}" == "Org Admin"
    account = create(api, "Account", {"Name": "Acme"})
    [row] = query(api, f"SELECT Owner.Name, CreatedBy.Name FROM Account WHERE Id = '{account}'")
    assert row["Owner"]["Name"] == row["CreatedBy"]["Name"] == "Org Admin"
    person = {"FirstName": "Grace", "LastName": "Hopper", "Alias": "ghop"}
    person |= {"Username": "grace@example.com", "Email": "grace@example.com"}
    person |= {"TimeZoneSidKey": "America/New_York", "LocaleSidKey": "en_US"}
    person |= {"EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US"}
    grace = create(api, "User", person | {"ProfileId": "00e000000000001AAA"})
    update(api, "Account", account, {"OwnerId": grace})
    [row] = query(api, f"SELECT Owner.Name FROM Account WHERE Id = '{account}'")
    assert row["Owner"]["Name"] == "Grace Hopper"
    update(api, "User", grace, {"LastName": "Murray Hopper"})
    [row] = query(api, "SELECT Owner.Name FROM Account WHERE Owner.Name LIKE 'Grace%'")
    assert row["Owner"]["Name"] == "Grace Murray Hopper"


def test_person_names_leave_the_salutation_out_and_follow_updates(api: httpx.Client) -> None:
    contact = create(
        api, "Contact", {"Salutation": "Dr.", "FirstName": "Ada", "LastName": "Lovelace"}
    )
    assert get(api, "Contact", contact)["Name"] == "Ada Lovelace"
    update(api, "Contact", contact, {"FirstName": "Augusta Ada"})
    [row] = query(api, f"SELECT Name, Salutation FROM Contact WHERE Id = '{contact}'")
    assert (row["Name"], row["Salutation"]) == ("Augusta Ada Lovelace", "Dr.")
    lead = create(api, "Lead", {"LastName": "Hopper", "Company": "Navy"})
    assert get(api, "Lead", lead)["Name"] == "Hopper"  # no FirstName: no leading space


# -- auto-numbers ----------------------------------------------------------------------------


def test_case_numbers_count_up_from_1000_and_never_repeat_after_a_delete(
    api: httpx.Client,
) -> None:
    ids = [create(api, "Case", {"Subject": f"S{i}"}) for i in range(3)]
    numbers = [get(api, "Case", i)["CaseNumber"] for i in ids]
    assert numbers == ["00001000", "00001001", "00001002"]
    assert api.delete(f"{V}/sobjects/Case/{ids[2]}").status_code == 204
    later = create(api, "Case", {"Subject": "after the delete"})
    assert get(api, "Case", later)["CaseNumber"] == "00001003"
    rows = query(api, "SELECT CaseNumber FROM Case WHERE CaseNumber > '00001000' ORDER BY Id")
    assert [r["CaseNumber"] for r in rows] == ["00001001", "00001003"]


def test_collections_number_each_record_and_other_objects_count_on_their_own(
    api: httpx.Client,
) -> None:
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Case"}, "Subject": "a"},
            {"attributes": {"type": "Case"}, "Subject": "b" * 256},  # STRING_TOO_LONG
            {"attributes": {"type": "Case"}, "Subject": "c"},
        ],
    }
    response = api.post(f"{V}/composite/sobjects", json=body)
    assert response.status_code == 200, response.text
    assert [r["success"] for r in response.json()] == [True, False, True]
    ids = [r["id"] for r in response.json() if r["success"]]
    assert [get(api, "Case", i)["CaseNumber"] for i in ids] == ["00001000", "00001001"]
    account = create(api, "Account", {"Name": "Contracted"})
    body = {"AccountId": account, "StartDate": "2016-11-30", "ContractTerm": 1}
    contract = create(api, "Contract", body)
    row = get(api, "Contract", contract)
    assert (row["ContractNumber"], row["Status"]) == ("00000100", "Draft")
    # EndDate: StartDate plus ContractTerm months, less a day (Salesforce's own examples)
    assert row["EndDate"] == "2016-12-29"
    update(api, "Contract", contract, {"StartDate": "2016-12-01"})
    assert get(api, "Contract", contract)["EndDate"] == "2016-12-31"
    update(api, "Contract", contract, {"StartDate": "2025-03-01", "ContractTerm": 5})
    assert get(api, "Contract", contract)["EndDate"] == "2025-07-31"
    # ContractTerm has 4 digits: a term past year 9999 is refused, not a crash
    refused = api.patch(f"{V}/sobjects/Contract/{contract}", json={"ContractTerm": 99999999})
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    assert refused.json()[0]["message"] == (
        "Contract Term: value outside of valid range on numeric field: 99999999"
    )


def _ticket_field(name: str, ftype: str, **over: Any) -> dict[str, Any]:
    doc = {"name": name, "label": name, "type": ftype, "length": 80, "nillable": True}
    doc.update({"createable": True, "updateable": True, "defaultedOnCreate": False})
    doc.update({"referenceTo": [], "relationshipName": None, "picklistValues": []})
    return {**doc, **over}


def test_a_custom_autonumber_name_and_the_corporate_currency(
    api: httpx.Client, fake_org: FakeOrg
) -> None:
    """A custom object whose describe marks Name `autoNumber` (its display format is not in
    any describe: 8 digits from 1 here), carries CurrencyIsoCode (a multi-currency org) and a
    picklist whose default is the field's `defaultValue`."""
    system = {"createable": False, "updateable": False, "nillable": False}
    fields = [
        _ticket_field("Id", "id", idLookup=True, defaultedOnCreate=True, **system),
        _ticket_field("IsDeleted", "boolean", defaultedOnCreate=True, **system),
        _ticket_field("Name", "string", autoNumber=True, defaultedOnCreate=True, **system),
        _ticket_field("CurrencyIsoCode", "picklist", defaultedOnCreate=True),
        _ticket_field("Kind__c", "picklist", defaultValue="Bug", defaultedOnCreate=True),
        _ticket_field("CreatedDate", "datetime", defaultedOnCreate=True, **system),
    ]
    fake_org.state.schema.add_describe(
        {"name": "Ticket__c", "label": "Ticket", "keyPrefix": "a0T", "custom": True}
        | {"createable": True, "updateable": True, "queryable": True, "fields": fields}
    )
    first = get(api, "Ticket__c", create(api, "Ticket__c", {}))
    second = get(api, "Ticket__c", create(api, "Ticket__c", {"CurrencyIsoCode": "EUR"}))
    assert (first["Name"], first["CurrencyIsoCode"], first["Kind__c"]) == ("00000001", "USD", "Bug")
    assert (second["Name"], second["CurrencyIsoCode"]) == ("00000002", "EUR")
    refused = api.post(f"{V}/sobjects/Ticket__c", json={"Name": "T-1"})
    assert refused.json()[0]["message"] == READ_ONLY.format("Name")


def test_case_numbers_survive_a_restart_with_a_data_dir(tmp_path: Path) -> None:
    def one_case(org: FakeOrg) -> str:
        with httpx.Client(base_url=org.instance_url, timeout=60) as client:
            client.headers["Authorization"] = f"Bearer {password_token(org, client)}"
            return str(get(client, "Case", create(client, "Case", {}))["CaseNumber"])

    with FakeOrg(data_dir=tmp_path) as first:
        assert [one_case(first), one_case(first)] == ["00001000", "00001001"]
    with FakeOrg(data_dir=tmp_path) as second:
        assert one_case(second) == "00001002"


# -- Opportunity -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", list(STAGES))
def test_the_stage_sets_probability_forecast_and_closed_flags(
    module_api: httpx.Client, stage: str
) -> None:
    record = create(module_api, "Opportunity", opportunity(StageName=stage, Amount=2000))
    row = get(module_api, "Opportunity", record)
    assert tuple(row[f] for f in STAGE_FIELDS) == STAGES[stage]
    assert row["ExpectedRevenue"] == 2000 * STAGES[stage][0] / 100


def test_a_stage_change_rederives_unless_the_same_write_sets_probability(
    api: httpx.Client, fake_org: FakeOrg
) -> None:
    events: list[dict[str, Any]] = []
    fake_org.state.change_listeners.append(events.append)
    record = create(api, "Opportunity", opportunity(Amount=1000))
    update(api, "Opportunity", record, {"StageName": "Closed Won"})
    row = get(api, "Opportunity", record)
    assert tuple(row[f] for f in STAGE_FIELDS) == STAGES["Closed Won"]
    assert row["ExpectedRevenue"] == 1000 and row["LastStageChangeDate"] is not None

    update(api, "Opportunity", record, {"StageName": "Negotiation/Review", "Probability": 42})
    row = get(api, "Opportunity", record)
    assert (row["Probability"], row["ForecastCategoryName"], row["IsClosed"]) == (
        42,
        "Pipeline",
        False,
    )
    assert row["ExpectedRevenue"] == 420

    update(api, "Opportunity", record, {"ForecastCategoryName": "Commit", "Description": "x"})
    row = get(api, "Opportunity", record)  # no stage change: what was set stays
    assert (row["Probability"], row["ForecastCategoryName"], row["ForecastCategory"]) == (
        42,
        "Commit",
        "Forecast",
    )
    # change events carry the derived fields as changed, as Salesforce's do
    updates = [e for e in events if e["ChangeEventHeader"]["changeType"] == "UPDATE"]
    won = updates[0]
    assert {"StageName", "Probability", "IsClosed", "IsWon", "ForecastCategoryName"} <= set(
        won["ChangeEventHeader"]["changedFields"]
    )
    assert won["IsWon"] is True and won["Probability"] == 100


def test_fiscal_period_follows_the_close_date(api: httpx.Client) -> None:
    record = create(api, "Opportunity", opportunity(CloseDate="2024-05-15"))
    row = get(api, "Opportunity", record)
    assert (row["FiscalYear"], row["FiscalQuarter"], row["Fiscal"]) == (2024, 2, "2024 2")
    update(api, "Opportunity", record, {"CloseDate": "2025-12-31"})
    [row] = query(
        api, f"SELECT FiscalYear, FiscalQuarter, Fiscal FROM Opportunity WHERE Id = '{record}'"
    )
    assert (row["FiscalYear"], row["FiscalQuarter"], row["Fiscal"]) == (2025, 4, "2025 4")
    rows = query(api, "SELECT Id FROM Opportunity WHERE FiscalYear = 2025 AND FiscalQuarter = 4")
    assert [r["Id"] for r in rows] == [record]


@pytest.mark.parametrize(
    ("close_date", "quarter"),
    [("2024-01-01", 1), ("2024-03-31", 1), ("2024-04-01", 2), ("2024-09-30", 3), ("2024-12-31", 4)],
)
def test_quarter_boundaries(close_date: str, quarter: int) -> None:
    assert derived.fiscal_period(close_date) == {
        "FiscalYear": 2024,
        "FiscalQuarter": quarter,
        "Fiscal": f"2024 {quarter}",
    }


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        ("2024-01-31", 1, "2024-02-28"),  # clamped to February's length, less a day
        ("2024-11-15", 14, "2026-01-14"),
        ("2024-12-15", 0, "2024-12-14"),
        ("9999-06-01", 12, None),  # past year 9999: nothing to store
        ("2024-01-01", None, None),
    ],
)
def test_contract_end_dates(start: str, months: int | None, end: str | None) -> None:
    assert derived.contract_end(start, months) == end


# -- defaults and Case/Task status -----------------------------------------------------------


def test_defaults_on_create_come_from_the_describe(api: httpx.Client, fake_org: FakeOrg) -> None:
    user_id = fake_org.state.config.user_id
    case = get(api, "Case", create(api, "Case", {"Subject": "defaults"}))
    assert (case["Status"], case["Priority"], case["Origin"]) == ("New", "Medium", None)
    assert (case["IsClosed"], case["IsEscalated"], case["OwnerId"]) == (False, False, user_id)
    lead = get(api, "Lead", create(api, "Lead", {"LastName": "L", "Company": "C"}))
    assert (lead["Status"], lead["OwnerId"]) == ("Open - Not Contacted", user_id)
    opp = get(api, "Opportunity", create(api, "Opportunity", opportunity()))
    assert (opp["IsPrivate"], opp["OwnerId"]) == (False, user_id)
    task = get(api, "Task", create(api, "Task", {"Subject": "Call"}))
    assert (task["Status"], task["Priority"], task["IsClosed"], task["IsHighPriority"]) == (
        "Not Started",
        "Normal",
        False,
        False,
    )
    # the describe says so too (other helpers own describe fidelity; this is the pair)
    described = api.get(f"{V}/sobjects/Case/describe").json()
    status = next(f for f in described["fields"] if f["name"] == "Status")
    assert [p["value"] for p in status["picklistValues"] if p["defaultValue"]] == ["New"]


def test_a_read_only_checkbox_is_false_never_null(api: httpx.Client) -> None:
    """Checkboxes are never null in Salesforce, read-only ones included."""
    contact = get(api, "Contact", create(api, "Contact", {"LastName": "Box"}))
    described = api.get(f"{V}/sobjects/Contact/describe").json()
    bounced = next(f for f in described["fields"] if f["name"] == "IsEmailBounced")
    assert (bounced["createable"], bounced["type"]) == (False, "boolean")
    assert contact["IsEmailBounced"] is False
    for name, value in contact.items():
        field = next((f for f in described["fields"] if f["name"] == name), None)
        if field is not None and field["type"] == "boolean":
            assert value is not None, name


def test_closing_a_case_sets_is_closed_and_closed_date(api: httpx.Client) -> None:
    record = create(api, "Case", {"Subject": "to close", "Status": "Working"})
    assert get(api, "Case", record)["IsClosed"] is False
    update(api, "Case", record, {"Status": "Closed"})
    row = get(api, "Case", record)
    assert row["IsClosed"] is True and row["ClosedDate"] is not None
    update(api, "Case", record, {"Status": "Escalated"})
    row = get(api, "Case", record)
    assert (row["IsClosed"], row["ClosedDate"]) == (False, None)
    task = create(api, "Task", {"Subject": "t", "Status": "Completed", "Priority": "High"})
    row = get(api, "Task", task)
    assert (row["IsClosed"], row["IsHighPriority"]) == (True, True)


# -- read-only -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sobject", "body", "denied"),
    [
        ("Opportunity", opportunity(IsWon=True), "IsWon"),
        ("Opportunity", opportunity(FiscalYear=2020), "FiscalYear"),
        ("Opportunity", opportunity(ForecastCategory="Closed"), "ForecastCategory"),
        ("Opportunity", opportunity(ExpectedRevenue=1), "ExpectedRevenue"),
        ("Case", {"Subject": "x", "CaseNumber": "42"}, "CaseNumber"),
        ("Case", {"Subject": "x", "IsClosed": True}, "IsClosed"),
        ("Contact", {"LastName": "x", "Name": "Someone Else"}, "Name"),
    ],
)
def test_writing_a_derived_field_is_refused(
    module_api: httpx.Client, sobject: str, body: dict[str, Any], denied: str
) -> None:
    response = module_api.post(f"{V}/sobjects/{sobject}", json=body)
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": READ_ONLY.format(denied),
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "fields": [denied],
        }
    ]


def test_updating_a_derived_field_is_refused(api: httpx.Client) -> None:
    record = create(api, "Case", {"Subject": "numbered"})
    response = api.patch(f"{V}/sobjects/Case/{record}", json={"CaseNumber": "1"})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert response.json()[0]["message"] == READ_ONLY.format("CaseNumber")
    assert get(api, "Case", record)["CaseNumber"] == "00001000"


# -- every API -------------------------------------------------------------------------------


@pytest.fixture
def sf(fake_org: FakeOrg) -> Iterator[Salesforce]:
    c = fake_org.credentials()
    grant = RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
    )
    with Salesforce(auth=grant, clock=FakeClock()) as client:
        yield client


def test_bulk2_ingest_derives_the_same_values(sf: Salesforce, api: httpx.Client) -> None:
    cases = [{"Subject": f"bulk {i}"} for i in range(3)]
    with Bulk2(sf).ingest("Case", cases) as done:
        assert done.counts.successful == 3
        ids = [r.id for r in done.successful()]
    rows = query(api, "SELECT Id, CaseNumber, Status FROM Case ORDER BY CaseNumber")
    assert [(r["Id"], r["CaseNumber"], r["Status"]) for r in rows] == [
        (ids[0], "00001000", "New"),
        (ids[1], "00001001", "New"),
        (ids[2], "00001002", "New"),
    ]
    with Bulk2(sf).ingest("Opportunity", [opportunity(StageName="Closed Lost")]) as done:
        [made] = list(done.successful())
    row = get(api, "Opportunity", made.id)
    assert tuple(row[f] for f in STAGE_FIELDS) == STAGES["Closed Lost"]
    assert row["Fiscal"] == "2024 2"


def test_soap_create_derives_the_same_values(sf: Salesforce, api: httpx.Client) -> None:
    soap = SoapClient.from_client(sf)
    results = soap.create(
        [
            Record(
                attributes={"type": "Opportunity"}, extra_fields=opportunity(StageName="Closed Won")
            ),
            Record(attributes={"type": "Case"}, extra_fields={"Subject": "by SOAP"}),
        ]
    )
    assert all(r.success for r in results), results
    opp = get(api, "Opportunity", str(results[0].id))
    assert tuple(opp[f] for f in STAGE_FIELDS) == STAGES["Closed Won"]
    assert get(api, "Case", str(results[1].id))["CaseNumber"] == "00001000"


def test_the_realdata_describes_agree_on_which_fields_are_derived(realdata: Path) -> None:
    """The read-only derived fields above are read-only in the recorded real describes."""
    folder = realdata / "fixtures/rest/cumulusci/describe"
    wanted = {
        "Opportunity": ("IsClosed", "IsWon", "ForecastCategory", "FiscalYear", "Fiscal"),
        "Case": ("CaseNumber", "IsClosed"),
        "Contact": ("Name",),
        "Lead": ("Name",),
    }
    for sobject, names in wanted.items():
        doc = json.loads((folder / f"{sobject}_describe.json").read_text(encoding="utf-8"))
        fields = {f["name"]: f for f in doc["fields"]}
        for name in names:
            assert not fields[name]["createable"] and not fields[name]["updateable"], name
    case_fields = {
        f["name"]: f
        for f in json.loads((folder / "Case_describe.json").read_text(encoding="utf-8"))["fields"]
    }
    assert case_fields["CaseNumber"]["autoNumber"] is True
    # Name is FirstName, a space and LastName: no room for a Salutation in front
    contact = json.loads((folder / "Contact_describe.json").read_text(encoding="utf-8"))
    length = {f["name"]: f["length"] for f in contact["fields"]}
    assert length["Name"] == length["FirstName"] + 1 + length["LastName"]
