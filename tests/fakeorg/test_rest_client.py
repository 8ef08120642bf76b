"""Our REST client against the fake org over real sockets (and TLS): each test runs on both
faces, sync and async (the `face` fixture, tests/faces.py)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
from faces import Face

import salesforce_typed_std as std
from salesforce_typed import CompositeRequest, RefreshTokenGrant, Salesforce
from salesforce_typed.core.errors import (
    AuthenticationError,
    InvalidGrantError,
    NotFoundError,
    QueryError,
    RecordError,
)
from salesforce_typed.stores.memory import MemoryTokenStore
from salesforce_typed.testing.server import FakeOrg


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


def test_crud_typed(sf: Salesforce) -> None:
    created = sf.create(
        std.Account(
            Name="Acme", Industry=std.AccountIndustryPicklist.BANKING, AnnualRevenue=1_000_000.0
        )
    )
    assert created.success and created.id.startswith("001") and len(created.id) == 18
    acc = sf.get(std.Account, created.id)
    assert isinstance(acc, std.Account)
    assert acc.Name == "Acme" and acc.Industry is std.AccountIndustryPicklist.BANKING
    assert acc.AnnualRevenue == 1_000_000.0
    sf.update(std.Account(Id=created.id, Website="https://acme.example"))
    assert sf.get(std.Account, created.id, ["Website"]).Website == "https://acme.example"
    sf.delete(std.Account, created.id)
    with pytest.raises(NotFoundError) as err:
        sf.get(std.Account, created.id)
    assert err.value.status_code == 404 and err.value.error_code == "NOT_FOUND"


def test_validation_errors_are_typed(sf: Salesforce) -> None:
    with pytest.raises(RecordError) as err:
        sf.create(std.Contact(FirstName="No last name"))
    assert err.value.error_code == "REQUIRED_FIELD_MISSING" and "LastName" in err.value.fields
    with pytest.raises(RecordError) as err2:
        sf.create(std.Account(Name="x" * 300))
    assert err2.value.error_code == "STRING_TOO_LONG"


def test_dict_records_and_upsert_by_id(sf: Salesforce) -> None:
    made = sf.create("Contact", {"LastName": "Doe"})
    rec = sf.get("Contact", made.id)
    assert rec["LastName"] == "Doe"
    again = sf.upsert(std.Contact(FirstName="Jane"), "Id", made.id)
    assert again.created is False and again.id == made.id
    assert sf.get(std.Contact, made.id).FirstName == "Jane"


def test_query_pages_lazily_and_binds_safely(sf: Salesforce) -> None:
    results = sf.create_many(
        [std.Account(Name=f"Acc {i:04d}", NumberOfEmployees=i) for i in range(450)]
    )
    assert len(results) == 450 and all(r.success for r in results)
    query = sf.query(
        std.Account,
        "SELECT Id, Name, NumberOfEmployees FROM Account "
        "WHERE NumberOfEmployees >= :low ORDER BY Name",
        {"low": 50},
        page_size=200,
    )
    pages = list(query.pages())
    assert [len(p.records) for p in pages] == [200, 200]
    assert query.total_size == 400 and pages[0].locator and pages[-1].done
    names = [a.Name for p in pages for a in p.records]
    assert len(names) == 400 and names == sorted(names)
    assert all(isinstance(a, std.Account) for p in pages for a in p.records)
    hostile = "x' OR Name != null OR Name = 'y"
    assert (
        sf.query(std.Account, "SELECT Id FROM Account WHERE Name = :n", {"n": hostile}).all() == []
    )
    with pytest.raises(QueryError) as err:
        sf.query(std.Account, "SELECT Nme FROM Account").all()
    assert err.value.error_code == "INVALID_FIELD"


def test_query_all_sees_deleted_rows(sf: Salesforce) -> None:
    made = sf.create(std.Account(Name="Gone"))
    sf.delete(std.Account, made.id)
    soql = "SELECT Id, IsDeleted FROM Account WHERE Name = 'Gone'"
    assert sf.query(std.Account, soql).all() == []
    rows = sf.query_all(std.Account, soql).all()
    assert len(rows) == 1 and rows[0].IsDeleted is True


def test_parent_and_child_relationships_typed(sf: Salesforce) -> None:
    acc = sf.create(std.Account(Name="Parent Co"))
    sf.create(std.Contact(LastName="Kid", AccountId=acc.id))
    con = sf.query(std.Contact, "SELECT Id, Account.Name FROM Contact").first()
    assert con is not None and isinstance(con.Account, std.Account)
    assert con.Account.Name == "Parent Co"
    row = sf.query(
        std.Account,
        "SELECT Name, (SELECT LastName FROM Contacts) FROM Account WHERE Id = :id",
        {"id": acc.id},
    ).first()
    assert row is not None and row.Contacts is not None and not isinstance(row.Contacts, str)
    assert [c.LastName for c in row.Contacts.records] == ["Kid"]  # type: ignore[union-attr]


def test_composite_with_references(sf: Salesforce) -> None:
    req = CompositeRequest(all_or_none=True)
    acc = req.create(std.Account(Name="Composite Co"), ref="acc")
    con = req.create(std.Contact(LastName="Ref", AccountId=acc.id), ref="con")
    result = sf.composite(req)
    assert result.ok
    account_id = result.created_id(acc)
    contact = sf.get(std.Contact, result.created_id(con))
    assert contact.AccountId == account_id


def test_describe_limits_versions_and_usage(sf: Salesforce) -> None:
    d = sf.describe(std.Account)
    assert d.name == "Account" and d.field("Name").length == 255
    assert any(s.name == "Lead" for s in sf.describe_global().sobjects or ())
    assert "DailyApiRequests" in sf.limits()
    assert sf.versions()[-1]["version"] == "62.0"
    assert sf.api_usage is not None and sf.api_usage.used >= 3


def test_search_returns_typed_records(sf: Salesforce) -> None:
    sf.create(std.Account(Name="Searchable Widgets"))
    hits = sf.search("FIND {Widgets} IN NAME FIELDS RETURNING Account(Id, Name)")
    assert len(hits) == 1 and isinstance(hits[0], std.Account)


def test_apex_rest_every_verb(fake_org: FakeOrg, sf: Salesforce) -> None:
    from salesforce_typed.testing.rest.apex import register_apex

    def handler(method: str, path: str, params: dict[str, str], body: object) -> tuple[int, object]:
        return 200, {"method": method, "path": path, "body": body}

    for verb in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        register_apex(fake_org.state, verb, "/orders/*", handler)
    for verb in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        out = sf.apex(
            verb, "orders/42", json={"x": 1} if verb in ("POST", "PUT", "PATCH") else None
        )
        assert out["method"] == verb


def test_session_expiry_refreshes_and_replays_with_rotation(fake_org: FakeOrg, face: Face) -> None:
    from salesforce_typed.testing import oauth

    store = MemoryTokenStore()
    grant = _grant(fake_org)
    with face.salesforce(auth=grant, token_store=store) as sf:
        sf.limits()
        first = store.get_token_data(grant.store_key())
        assert first is not None
        fake_org.state.expire_sessions()
        sf.limits()  # 401 INVALID_SESSION_ID -> one refresh -> replay
        second = store.get_token_data(grant.store_key())
        assert second is not None and second.refresh_token != first.refresh_token
        assert second.version > first.version
    calls = oauth.token_calls(fake_org.state)
    assert calls.get("refresh_token") == 2


def test_revoked_refresh_token_is_terminal(fake_org: FakeOrg, face: Face) -> None:
    grant = _grant(fake_org)
    with face.salesforce(auth=grant) as sf:
        sf.limits()
    with httpx.Client() as c:  # the same seed token was rotated out: presenting it kills it all
        c.post(
            fake_org.token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": grant.refresh_token,
                "client_id": grant.client_id,
                "client_secret": fake_org.state.config.client_secret,
            },
        )
    fake_org.state.expire_sessions()
    with face.salesforce(auth=_grant(fake_org)) as sf2, pytest.raises(InvalidGrantError):
        sf2.limits()


def test_bad_access_token_is_authentication_error(fake_org: FakeOrg, face: Face) -> None:
    from salesforce_typed import AccessTokenAuth

    auth = AccessTokenAuth(access_token="00Dnope!bad", instance_url=fake_org.instance_url)
    with face.salesforce(auth=auth) as sf, pytest.raises(AuthenticationError):
        sf.limits()


def test_query_iterates_every_page_as_models(sf: Salesforce) -> None:
    made = sf.create(std.Lead(LastName="One", Company="Co", Status="Open - Not Contacted"))
    lead = sf.get(std.Lead, made.id)
    assert lead.Company == "Co"
    sf.create_many(
        [
            std.Lead(LastName=f"L{i}", Company="Co", Status="Open - Not Contacted")
            for i in range(250)
        ]
    )
    count = 0
    for row in sf.query(std.Lead, "SELECT Id FROM Lead", page_size=200):
        assert isinstance(row, std.Lead)
        count += 1
    assert count == 251


def test_tls_org_with_ca(fake_org_tls: FakeOrg, face: Face) -> None:
    assert fake_org_tls.tls_files is not None
    ctx = ssl.create_default_context(cafile=str(fake_org_tls.tls_files.ca_file))
    with face.salesforce(auth=_grant(fake_org_tls), verify=ctx) as sf:
        made = sf.create(std.Case(Subject="TLS", Status="New", Origin="Web"))
        assert sf.get(std.Case, made.id).Subject == "TLS"
