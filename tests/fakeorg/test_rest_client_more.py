"""More of the REST client against the fake org: getUpdated/getDeleted, persistence, and
following a child subquery's own locator (mocked: the fake org returns children whole). Each
test runs on both faces, sync and async (the `face` fixture, tests/faces.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
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
