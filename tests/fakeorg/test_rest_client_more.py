"""More of the REST client against the fake org: getUpdated/getDeleted, persistence, and
following a child subquery's own locator (mocked: the fake org returns children whole). Each
test runs on both faces, sync and async (the `face` fixture, tests/faces.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
from faces import Face

import salesforce_typed_std as std
from salesforce_typed import AccessTokenAuth, RefreshTokenGrant, Salesforce
from salesforce_typed.testing.server import FakeOrg


def _client(face: Face, org: FakeOrg) -> Salesforce:
    c = org.credentials()
    return face.salesforce(
        auth=RefreshTokenGrant(
            client_id=c["client_id"],
            client_secret=c["client_secret"],
            refresh_token=c["refresh_token"],
            token_url=c["token_url"],
        )
    )


def test_get_updated_and_get_deleted(fake_org: FakeOrg, face: Face) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with _client(face, fake_org) as sf:
        keep = sf.create(std.Account(Name="kept"))
        gone = sf.create(std.Account(Name="gone"))
        sf.delete(std.Account, gone.id)
        # Salesforce covers whole minutes up to now: let two minutes pass on the org's clock.
        later = fake_org.state.clock() + 120
        fake_org.state.clock = lambda: later
        end = dt.datetime.fromtimestamp(later, dt.UTC)
        updated = sf.get_updated(std.Account, start, end)
        assert keep.id in updated.ids
        deleted = sf.get_deleted(std.Account, start, end)
        assert [d.id for d in deleted.deleted] == [gone.id]
        assert deleted.deleted[0].deleted_date.tzinfo is not None


def test_data_dir_keeps_records_across_restarts(tmp_path: Path, face: Face) -> None:
    with FakeOrg(data_dir=tmp_path) as org, _client(face, org) as sf:
        made = sf.create(std.Account(Name="Persistent"))
    assert (tmp_path / "org.sqlite3").is_file()
    with FakeOrg(data_dir=tmp_path) as org, _client(face, org) as sf:
        again = sf.get(std.Account, made.id)
        assert again.Name == "Persistent"
        newer = sf.create(std.Account(Name="Second"))
        assert newer.id != made.id  # numbering continues past the stored rows


def test_child_subquery_pages_are_followed(face: Face) -> None:
    first = {
        "totalSize": 1,
        "done": True,
        "records": [
            {
                "attributes": {"type": "Account"},
                "Name": "Big",
                "Contacts": {
                    "totalSize": 3,
                    "done": False,
                    "nextRecordsUrl": "/services/data/v62.0/query/01gCHILD-2",
                    "records": [
                        {"attributes": {"type": "Contact"}, "LastName": "A"},
                        {"attributes": {"type": "Contact"}, "LastName": "B"},
                    ],
                },
            }
        ],
    }
    rest = {
        "totalSize": 3,
        "done": True,
        "records": [{"attributes": {"type": "Contact"}, "LastName": "C"}],
    }
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        body: Any = rest if request.url.path.endswith("01gCHILD-2") else first
        return httpx.Response(200, json=body)

    http = face.http_client(transport=httpx.MockTransport(handler))
    auth = AccessTokenAuth(access_token="t", instance_url="https://example.my.salesforce.com")
    with face.salesforce(auth=auth, http_client=http) as sf:
        acc = sf.query(std.Account, "SELECT Name, (SELECT LastName FROM Contacts) FROM Account")
        row = acc.first()
    assert row is not None and row.Contacts is not None and not isinstance(row.Contacts, str)
    contacts = row.Contacts.records  # type: ignore[union-attr]
    assert [c.LastName for c in contacts] == ["A", "B", "C"]
    assert all(isinstance(c, std.Contact) for c in contacts)
    assert row.Contacts.done is True  # type: ignore[union-attr]
    assert seen[-1].endswith("/query/01gCHILD-2")


def test_usage_mistakes_are_refused_before_anything_is_sent(fake_org: FakeOrg, face: Face) -> None:
    from salesforce_typed import QueryBindError, QueryModelMismatchError

    with _client(face, fake_org) as sf:
        sf.limits()  # the session exists: later refusals are not about auth
        before = fake_org.state.api_usage
        with pytest.raises(QueryModelMismatchError, match="Contact"):
            sf.query(std.Account, "SELECT Id FROM Contact").all()
        with pytest.raises(QueryBindError, match="nme"):
            sf.query(std.Account, "SELECT Id FROM Account WHERE Name = :name", {"nme": "x"})
        with pytest.raises(QueryBindError, match="name"):
            sf.query(std.Account, "SELECT Id FROM Account WHERE Name = :name")
        assert fake_org.state.api_usage == before
        # A resource path without its leading slash is the same resource.
        assert sf.request("GET", "limits").keys() == sf.request("GET", "/limits").keys()


def test_token_endpoint_failures_are_in_the_error_tree(face: Face, tmp_path: Path) -> None:
    from salesforce_typed import RequestNotSentError

    def grant(token_url: str) -> RefreshTokenGrant:
        return RefreshTokenGrant(
            client_id="id", client_secret="s3cret", refresh_token="r3fresh", token_url=token_url
        )

    # Connection refused (nothing listens on port 9) and an unknown host: never sent.
    for url, shown in [
        ("https://127.0.0.1:9/services/oauth2/token", "127.0.0.1:9"),
        ("https://no-such-host.invalid:8443/services/oauth2/token", "no-such-host.invalid:8443"),
    ]:
        with face.salesforce(auth=grant(url)) as sf, pytest.raises(RequestNotSentError) as err:
            sf.limits()
        assert shown in str(err.value)
        assert "s3cret" not in str(err.value) and "r3fresh" not in str(err.value)
    # A CA file that does not exist, or is not a certificate: refused naming the file.
    missing = tmp_path / "missing-ca.pem"
    with pytest.raises(RequestNotSentError, match=r"missing-ca\.pem"):
        face.salesforce(auth=grant("https://127.0.0.1:9/t"), verify=str(missing))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(RequestNotSentError, match=r"garbage\.pem"):
        face.salesforce(auth=grant("https://127.0.0.1:9/t"), verify=garbage)


def test_a_certificate_the_client_does_not_trust_is_not_sent(face: Face) -> None:
    # Nothing is sent, and it is terminal: not a RequestNotSentError any retry loop would take.
    from salesforce_typed import CertificateVerifyError

    with FakeOrg(tls=True) as org:  # its CA is not in the default trust store
        c = org.credentials()
        auth = RefreshTokenGrant(
            client_id=c["client_id"],
            client_secret=c["client_secret"],
            refresh_token=c["refresh_token"],
            token_url=c["token_url"],
        )
        with face.salesforce(auth=auth, verify=True) as sf, pytest.raises(CertificateVerifyError):
            sf.limits()


def test_two_clients_from_one_grant_share_its_rotated_token(face: Face) -> None:
    with FakeOrg() as org:  # Refresh Token Rotation on (the default)
        c = org.credentials()
        grant = RefreshTokenGrant(
            client_id=c["client_id"],
            client_secret=c["client_secret"],
            refresh_token=c["refresh_token"],
            token_url=c["token_url"],
        )
        with face.salesforce(auth=grant) as first:
            first.limits()  # spends the seed: the family's refresh token is now rotated
        org.state.expire_sessions()
        with face.salesforce(auth=grant) as second:
            assert second.limits()  # refreshed with the rotated token, not the dead seed
