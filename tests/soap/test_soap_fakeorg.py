"""The SOAP client against the fake org over real sockets. Each client test runs on both
faces, sync and async (the `face` fixture, tests/faces.py).

Both APIs share one org: records written through SOAP are read through REST and the other
way round, and the SOAP session is the REST client's token (refreshed by the same flow).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from faces import Face

import salesforce_typed_std as std
from salesforce_typed import (
    AccessTokenAuth,
    Address,
    Record,
    RefreshTokenGrant,
    RelatedList,
    Salesforce,
)
from salesforce_typed.core.errors import AuthenticationError, ServerError
from salesforce_typed.core.retry import RetryPolicy
from salesforce_typed.soap import (
    InvalidFieldError,
    InvalidIdFieldError,
    InvalidLoginError,
    InvalidOperationError,
    InvalidQueryLocatorError,
    InvalidSessionIdError,
    InvalidTypeError,
    LeadConvert,
    MalformedQueryError,
    MergeRequest,
    SoapClient,
    SoapFaultError,
    UnsupportedApiVersionError,
)
from salesforce_typed.testing import oauth
from salesforce_typed.testing.server import FakeOrg

CONVERTED = "Closed - Converted"


def _grant(org: FakeOrg) -> RefreshTokenGrant:
    c = org.credentials()
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
    )


@pytest.fixture
def sf(fake_org: FakeOrg, face: Face) -> Iterator[Salesforce]:
    with face.salesforce(auth=_grant(fake_org)) as client:
        yield client


@pytest.fixture
def soap(sf: Salesforce, face: Face) -> SoapClient:
    return face.soap(sf)


def _login(
    face: Face, org: FakeOrg, version: str = "64.0", password: str | None = None
) -> SoapClient:
    c = org.credentials()
    return face.soap_login(
        c["username"],
        c["password"] if password is None else password,
        security_token=c["security_token"],
        login_url=org.instance_url,
        api_version=version,
    )


# -- login -------------------------------------------------------------------------------------


def test_login_at_64_gives_a_real_session(fake_org: FakeOrg, face: Face) -> None:
    with _login(face, fake_org) as soap:
        result = soap.login_result
        assert result is not None and result.user_id == fake_org.state.config.user_id
        assert result.server_url.startswith(f"{fake_org.instance_url}/services/Soap/u/64.0/00D")
        assert result.session_id not in repr(result) and result.session_id not in repr(soap)
        assert soap.api_version == "64.0"
        stamp = soap.get_server_timestamp()
        assert stamp.tzinfo is not None
        assert abs(stamp - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
        info = soap.get_user_info()
        assert info.user_name == fake_org.state.config.username
        assert info.organization_id == fake_org.state.config.org_id
        assert soap.api_usage is not None and soap.api_usage.used >= 2
        # The session is a bearer token for REST too.
        auth = AccessTokenAuth(access_token=result.session_id, instance_url=fake_org.instance_url)
        with face.salesforce(auth=auth) as sf:
            assert "DailyApiRequests" in sf.limits()
        soap.logout()
        with pytest.raises(InvalidSessionIdError):
            soap.get_user_info()


@pytest.mark.parametrize("version", ["65.0", "66.0"])
def test_login_is_refused_from_65(fake_org: FakeOrg, face: Face, version: str) -> None:
    with pytest.raises(InvalidOperationError) as err:
        _login(face, fake_org, version)
    assert err.value.status_code == 500 and err.value.error_code == "INVALID_OPERATION"
    assert f"({version})" in err.value.message


def test_bad_login_and_retired_versions_are_typed(fake_org: FakeOrg, face: Face) -> None:
    with pytest.raises(InvalidLoginError) as bad:
        _login(face, fake_org, password="wrong")
    assert isinstance(bad.value, AuthenticationError) and bad.value.fault_type == "LoginFault"
    assert "wrong" not in str(bad.value)
    with pytest.raises(UnsupportedApiVersionError):
        _login(face, fake_org, "30.0")


# -- the REST session, shared ------------------------------------------------------------------


def test_rest_token_as_session_header(sf: Salesforce, soap: SoapClient) -> None:
    assert soap.get_user_info().user_name == "admin@fake-org.example.com"
    assert soap.url().endswith(f"/services/Soap/u/{sf.api_version}")
    stamp = soap.get_server_timestamp()
    assert stamp.microsecond % 1000 == 0


def test_expired_session_refreshes_once_and_replays(fake_org: FakeOrg, soap: SoapClient) -> None:
    soap.get_user_info()
    assert oauth.token_calls(fake_org.state).get("refresh_token") == 1
    fake_org.state.expire_sessions()
    assert soap.get_user_info().user_id == fake_org.state.config.user_id
    assert oauth.token_calls(fake_org.state).get("refresh_token") == 2
    fake_org.state.expire_sessions()  # a write replays too
    created = soap.create([std.Account(Name="After refresh")])
    assert created[0].success
    assert oauth.token_calls(fake_org.state).get("refresh_token") == 3


def test_a_session_that_cannot_refresh_raises_the_fault(fake_org: FakeOrg, face: Face) -> None:
    with _login(face, fake_org) as soap:
        fake_org.state.expire_sessions()
        with pytest.raises(InvalidSessionIdError) as err:
            soap.get_user_info()
        assert isinstance(err.value, AuthenticationError) and err.value.status_code == 500


# -- DML ---------------------------------------------------------------------------------------


def test_create_update_with_fields_to_null_and_rest_reads_it(
    sf: Salesforce, soap: SoapClient
) -> None:
    results = soap.create(
        [
            std.Account(Name="Acme", Website="https://acme.example", AnnualRevenue=1.5e6),
            std.Contact(LastName="Ng", Email="ng@example.com", Birthdate=dt.date(1990, 5, 1)),
            std.Contact(FirstName="No last name"),
        ]
    )
    account, contact, bad = results
    assert account.success and contact.success and not bad.success
    assert (
        bad.errors[0].status_code == "REQUIRED_FIELD_MISSING" and "LastName" in bad.errors[0].fields
    )
    read = sf.get(std.Account, account.id)
    assert (read.Name, read.AnnualRevenue, read.Website) == ("Acme", 1.5e6, "https://acme.example")
    assert sf.get(std.Contact, contact.id).Birthdate == dt.date(1990, 5, 1)
    (updated,) = soap.update([std.Account(Id=account.id, Website=None, Phone="555-0100")])
    assert updated.success and updated.id == account.id
    read = sf.get(std.Account, account.id)
    assert read.Website is None and read.Phone == "555-0100" and read.Name == "Acme"


def test_all_or_none_rolls_back_every_type(sf: Salesforce, soap: SoapClient) -> None:
    results = soap.create([std.Account(Name="Kept?"), std.Contact(FirstName="x")], all_or_none=True)
    assert [r.success for r in results] == [False, False]
    assert results[0].errors[0].status_code == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf.query(std.Account, "SELECT Id FROM Account WHERE Name = 'Kept?'").all() == []


def test_upsert_by_idlookup_field(soap: SoapClient) -> None:
    first = soap.upsert("Email", [std.Contact(LastName="Up", Email="up@example.com")])
    again = soap.upsert("Email", [std.Contact(LastName="Upper", Email="up@example.com")])
    assert first[0].created and not again[0].created and first[0].id == again[0].id
    (row,) = soap.retrieve(std.Contact, [first[0].id], ["LastName"])
    assert row is not None and row.LastName == "Upper"
    with pytest.raises(InvalidFieldError):
        soap.upsert("LastName", [std.Contact(LastName="x")])


def test_delete_undelete_empty_recycle_bin_and_query_all(soap: SoapClient) -> None:
    ids = [r.id for r in soap.create([std.Account(Name=f"Bin {i}") for i in range(3)])]
    deleted = soap.delete([*ids, "001000000000000"])
    assert [d.success for d in deleted] == [True, True, True, False]
    assert soap.query(std.Account, "SELECT Id FROM Account WHERE Name LIKE 'Bin%'").all() == []
    in_bin = soap.query_all(
        std.Account, "SELECT Id, IsDeleted FROM Account WHERE Name LIKE 'Bin%'"
    ).all()
    assert {a.Id for a in in_bin} == set(ids) and all(a.IsDeleted for a in in_bin)
    (back,) = soap.undelete([ids[0]])
    assert back.success
    emptied = soap.empty_recycle_bin(ids)
    assert [e.success for e in emptied] == [False, True, True]  # ids[0] is live again
    assert soap.undelete([ids[1]])[0].success is False
    remaining = soap.query_all(std.Account, "SELECT Id FROM Account WHERE Name LIKE 'Bin%'").all()
    assert [a.Id for a in remaining] == [ids[0]]


def test_retrieve_keeps_order_and_misses(sf: Salesforce, soap: SoapClient) -> None:
    account = sf.create(std.Account(Name="Parent Co"))
    contact = sf.create(std.Contact(LastName="Kid", AccountId=account.id))
    other = sf.create(std.Contact(LastName="Gone"))
    sf.delete(std.Contact, other.id)
    rows = soap.retrieve(std.Contact, [other.id, contact.id], ["LastName", "Account.Name"])
    assert rows[0] is None
    kid = rows[1]
    assert isinstance(kid, std.Contact) and kid.LastName == "Kid" and kid.Id == contact.id
    assert isinstance(kid.Account, std.Account) and kid.Account.Name == "Parent Co"
    every = soap.retrieve(std.Contact, [contact.id])
    assert every[0] is not None and every[0].AccountId == account.id
    with pytest.raises(InvalidIdFieldError):
        soap.retrieve(std.Contact, [account.id], ["LastName"])
    with pytest.raises(InvalidFieldError):
        soap.retrieve(std.Contact, [contact.id], ["NoSuchField__c"])


# -- queries -----------------------------------------------------------------------------------


def test_query_more_pages_through_a_large_result(sf: Salesforce, soap: SoapClient) -> None:
    made = sf.create_many([std.Contact(LastName=f"Page {i:03d}") for i in range(450)])
    assert all(r.success for r in made)
    query = soap.query(
        std.Contact, "SELECT Id, LastName FROM Contact ORDER BY LastName", page_size=200
    )
    pages = list(query.pages())
    assert [len(p.records) for p in pages] == [200, 200, 50]
    assert [p.done for p in pages] == [False, False, True]
    assert pages[0].locator and pages[-1].locator is None
    assert query.total_size == 450
    names = [c.LastName for p in pages for c in p.records]
    assert names == [f"Page {i:03d}" for i in range(450)]
    first = soap.query(std.Contact, "SELECT Id FROM Contact", page_size=200)
    page = next(iter(first.pages()))
    assert page.locator is not None
    second = soap.query_more(page.locator, std.Contact)
    assert len(second.records) == 250 and second.done  # QueryOptions default: 500


def test_query_binds_parents_children_and_aggregates(sf: Salesforce, soap: SoapClient) -> None:
    account = sf.create(std.Account(Name="O'Brien & Sons", BillingCity="Paris"))
    sf.create(std.Contact(LastName="Kid", AccountId=account.id))
    query = soap.query(
        std.Account,
        "SELECT Id, Name, BillingAddress, CreatedDate, (SELECT LastName FROM Contacts) "
        "FROM Account WHERE Name = :name",
        {"name": "O'Brien & Sons"},
    )
    (acc,) = query.all()
    assert acc.Name == "O'Brien & Sons" and isinstance(acc.BillingAddress, Address)
    assert acc.BillingAddress.city == "Paris"
    assert isinstance(acc.CreatedDate, dt.datetime) and acc.CreatedDate.tzinfo is not None
    assert isinstance(acc.Contacts, RelatedList)
    assert [c.LastName for c in acc.Contacts.records] == ["Kid"]
    (count,) = soap.query("SELECT COUNT(Id) total FROM Contact").all()
    assert count["total"] == "1"
    rows = soap.query("SELECT Id, Account.Name FROM Contact").all()
    assert isinstance(rows[0], std.Contact) and rows[0].Account is not None


def test_query_faults_are_typed(soap: SoapClient) -> None:
    with pytest.raises(MalformedQueryError) as bad:
        soap.query("SELECT FROM Account").all()
    assert bad.value.row is not None and bad.value.column is not None
    with pytest.raises(InvalidFieldError):
        soap.query("SELECT Nope__c FROM Account").all()
    with pytest.raises(InvalidTypeError):
        soap.query("SELECT Id FROM Nope__c").all()
    with pytest.raises(InvalidQueryLocatorError):
        soap.query_more("01g5g0000000099AAA-200")
    with pytest.raises(InvalidTypeError):
        soap.create([Record(attributes={"type": "Nope__c"}, extra_fields={"Name": "x"})])


# -- convertLead and merge ---------------------------------------------------------------------


def test_convert_several_leads_with_and_without_opportunity(
    sf: Salesforce, soap: SoapClient
) -> None:
    leads = [
        sf.create(
            std.Lead(
                LastName="Lee",
                FirstName="Ann",
                Company="LeeCo",
                Email="ann@lee.example",
                LeadSource="Web",
                City="Lyon",
            )
        ).id,
        sf.create(std.Lead(LastName="Solo", Company="SoloCo")).id,
        sf.create(std.Lead(LastName="Bad", Company="BadCo")).id,
    ]
    existing = sf.create(std.Account(Name="Existing Inc")).id
    results = soap.convert_lead(
        [
            LeadConvert(lead_id=leads[0], converted_status=CONVERTED, opportunity_name="Lee deal"),
            LeadConvert(
                lead_id=leads[1],
                converted_status=CONVERTED,
                account_id=existing,
                do_not_create_opportunity=True,
            ),
            LeadConvert(lead_id=leads[2], converted_status="Open - Not Contacted"),
        ]
    )
    first, second, bad = results
    assert first.success and first.lead_id == leads[0] and first.opportunity_id
    account = sf.get(std.Account, first.account_id)
    assert account.Name == "LeeCo" and account.BillingCity == "Lyon"
    contact = sf.get(std.Contact, first.contact_id)
    assert (contact.FirstName, contact.LastName, contact.AccountId) == (
        "Ann",
        "Lee",
        first.account_id,
    )
    assert contact.Email == "ann@lee.example"
    opp = sf.get(std.Opportunity, first.opportunity_id)
    assert (
        opp.Name == "Lee deal" and opp.AccountId == first.account_id and opp.CloseDate is not None
    )
    lead = sf.get(std.Lead, leads[0])
    assert lead.IsConverted is True and lead.Status == CONVERTED
    assert (lead.ConvertedAccountId, lead.ConvertedContactId, lead.ConvertedOpportunityId) == (
        first.account_id,
        first.contact_id,
        first.opportunity_id,
    )
    assert lead.ConvertedDate == dt.datetime.now(dt.UTC).date()
    assert second.success and second.account_id == existing and second.opportunity_id is None
    assert sf.get(std.Lead, leads[1]).ConvertedOpportunityId is None
    assert not bad.success and bad.errors[0].status_code == "INVALID_STATUS"
    assert sf.get(std.Lead, leads[2]).IsConverted is False
    (again,) = soap.convert_lead([LeadConvert(lead_id=leads[0], converted_status=CONVERTED)])
    assert not again.success and again.errors[0].status_code == "CANNOT_UPDATE_CONVERTED_LEAD"
    accounts = sf.query(std.Account, "SELECT Id FROM Account WHERE Name = 'BadCo'").all()
    assert accounts == []  # the failed conversion left nothing behind


def test_merge_reparents_children_and_deletes_losers(sf: Salesforce, soap: SoapClient) -> None:
    master, loser1, loser2 = (
        sf.create(std.Account(Name=n)).id for n in ("Master", "Dup 1", "Dup 2")
    )
    kids = [
        sf.create(std.Contact(LastName=f"Kid {i}", AccountId=a)).id
        for i, a in enumerate([loser1, loser2, master])
    ]
    opp = sf.create(
        std.Opportunity(
            Name="Deal", StageName="Prospecting", CloseDate=dt.date(2030, 1, 1), AccountId=loser2
        )
    ).id
    (result,) = soap.merge(
        [
            MergeRequest(
                master=std.Account(Id=master, Website="https://master.example"),
                merge_ids=[loser1, loser2],
            )
        ]
    )
    assert result.success and result.id == master
    assert result.merged_record_ids == [loser1, loser2]
    assert set(result.updated_related_ids) == {kids[0], kids[1], opp}
    assert all(sf.get(std.Contact, k).AccountId == master for k in kids)
    assert sf.get(std.Opportunity, opp).AccountId == master
    assert sf.get(std.Account, master).Website == "https://master.example"
    gone = soap.query_all(
        std.Account,
        "SELECT Id, IsDeleted, MasterRecordId FROM Account WHERE Id IN :ids",
        {"ids": [loser1, loser2]},
    ).all()
    assert {(a.Id, a.IsDeleted, a.MasterRecordId) for a in gone} == {
        (loser1, True, master),
        (loser2, True, master),
    }


def test_merge_contacts_moves_cases_and_reports_bad_ids(sf: Salesforce, soap: SoapClient) -> None:
    keep, dup = (
        sf.create(std.Contact(LastName="Keep")).id,
        sf.create(std.Contact(LastName="Dup")).id,
    )
    case = sf.create(std.Case(Subject="Help", ContactId=dup)).id
    ok, bad = soap.merge(
        [
            MergeRequest(master=std.Contact(Id=keep), merge_ids=[dup]),
            MergeRequest(master=std.Contact(Id=keep), merge_ids=["0035g00000000"]),
        ]
    )
    assert ok.success and ok.updated_related_ids == [case]
    assert sf.get(std.Case, case).ContactId == keep
    assert not bad.success and bad.errors[0].status_code == "MALFORMED_ID"


# -- the wire, raw -----------------------------------------------------------------------------


def _envelope(body: str, session: str = "") -> bytes:
    head = (
        f"<soapenv:Header><p:SessionHeader><p:sessionId>{session}</p:sessionId></p:SessionHeader></soapenv:Header>"
        if session
        else ""
    )
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:p="urn:partner.soap.sforce.com">{head}<soapenv:Body>{body}</soapenv:Body>'
        "</soapenv:Envelope>"
    ).encode()


def test_raw_faults_are_http_500_in_salesforce_shape(fake_org: FakeOrg) -> None:
    url = f"{fake_org.instance_url}/services/Soap/u/62.0"
    with httpx.Client() as client:
        dead = client.post(
            url,
            content=_envelope("<p:getUserInfo/>", "00Dx!nope"),
            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "anything"},
        )
        assert dead.status_code == 500
        assert b"<faultcode>sf:INVALID_SESSION_ID</faultcode>" in dead.content
        assert b"<sf:exceptionCode>INVALID_SESSION_ID</sf:exceptionCode>" in dead.content
        assert b"Invalid Session ID found in SessionHeader: Illegal Session" in dead.content
        xxe = (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            + _envelope("<p:logout/>")
        )
        refused = client.post(url, content=xxe, headers={"Content-Type": "text/xml"})
        assert refused.status_code == 500 and b"soapenv:Client" in refused.content
        assert b"root:" not in refused.content
        unknown = client.post(
            url, content=_envelope("<p:describeLayout/>"), headers={"SOAPAction": '""'}
        )
        assert unknown.status_code == 500 and b"describeLayout" in unknown.content


def test_soap_writes_publish_change_events_with_soap_origin(
    fake_org: FakeOrg, soap: SoapClient
) -> None:
    events: list[dict[str, object]] = []
    fake_org.state.change_listeners.append(events.append)
    soap.create([std.Account(Name="Evented")])
    (event,) = events
    header = event["ChangeEventHeader"]
    assert isinstance(header, dict) and header["changeType"] == "CREATE"
    assert str(header["changeOrigin"]).startswith("com/salesforce/api/soap/")


def test_transport_level_errors_go_through_the_retry_policy(
    fake_org: FakeOrg, face: Face, soap: SoapClient
) -> None:
    sleeps: list[float] = []

    class Clock:
        def now(self) -> float:
            return dt.datetime.now(dt.UTC).timestamp()

        def monotonic(self) -> float:
            return 0.0

        def sleep(self, seconds: float) -> None:
            sleeps.append(seconds)

        async def asleep(self, seconds: float) -> None:
            sleeps.append(seconds)

    soap.clock = Clock()
    soap.retry = RetryPolicy(max_attempts=3, jitter=lambda ceiling: ceiling)
    soap.get_user_info()  # a valid session before the faults start
    fake_org.state.faults.server_error_rate = 1.0
    try:
        with pytest.raises(ServerError) as err:
            soap.get_user_info()
    finally:
        fake_org.state.faults.server_error_rate = 0.0
    assert err.value.status_code == 503 and sleeps == [0.5, 1.0]
    assert soap.get_user_info().user_id == fake_org.state.config.user_id
    assert not isinstance(err.value, SoapFaultError)


def test_describes_match_the_rest_client(sf: Salesforce, soap: SoapClient) -> None:
    """Through SOAP, describes come back as the REST client's models, with the same facts."""
    rest_global = sf.describe_global()
    soap_global = soap.describe_global()
    assert soap_global.maxBatchSize == 200 and soap_global.encoding == "UTF-8"
    assert [s.name for s in soap_global.sobjects or ()] == [
        s.name for s in rest_global.sobjects or ()
    ]
    rest = sf.describe(std.Account)
    got = soap.describe_sobject(std.Account)
    flags = ("type", "length", "nillable", "createable", "updateable", "filterable", "sortable")
    assert [(f.name, *(getattr(f, k) for k in flags)) for f in got.fields or ()] == [
        (f.name, *(getattr(f, k) for k in flags)) for f in rest.fields or ()
    ]
    billing = next(f for f in got.fields or () if f.name == "BillingAddress")
    assert billing.soapType == "urn:address"  # the REST spelling, as sf.describe gives it
    many = soap.describe_sobjects(["Contact", std.Lead, "account"])
    assert [d.name for d in many] == ["Contact", "Lead", "Account"]
    with pytest.raises(InvalidTypeError):
        soap.describe_sobject("Nope__c")


def test_search_decodes_hits_as_models(soap: SoapClient) -> None:
    soap.create([std.Account(Name="Findable Gadgets"), std.Contact(LastName="Gadgets")])
    hits = soap.search(
        "FIND {Gadgets} IN NAME FIELDS "
        "RETURNING Account(Id, Name WHERE Name = :name), Contact(Id, LastName)",
        {"name": "Findable Gadgets"},
    )
    assert sorted(type(h).__name__ for h in hits) == ["Account", "Contact"]
    account = next(h for h in hits if isinstance(h, std.Account))
    assert account.Name == "Findable Gadgets" and account.Id
    with pytest.raises(SoapFaultError) as caught:
        soap.search("FIND Gadgets")
    assert caught.value.error_code == "MALFORMED_SEARCH"
