"""The fake org's Streaming API over real sockets: Bayeux long-polling at /cometd/62.0, CDC
from REST writes, replay -1/-2/N, retention on an injected clock, every error reply of the
wire reference's §10.3 verbatim, gap/overflow events, platform events and the admin API.

No assertion is about time: idle holds are short, and a connect that only an event (or a
revoked token) may end is held longer than pytest's timeout, so a broken wake-up fails the
test instead of passing late. Waiting loops poll the server's own state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from salesforce_typed.testing import streaming
from salesforce_typed.testing.server import FakeOrg

V = "/services/data/v62.0"
COMETD = "/cometd/62.0"
INVALID_REPLAY = (
    "400::The replayId {{{}}} you provided was invalid.  Please provide a valid ID, -2 to "
    "replay all events, or -1 to replay only new events."
)
NOT_IN_MAP = "400::The replayId for channel {{{}}} wasn't found using the provided replay ID map {}"
NO_COOKIE = "400::Client {} has established a session, but no BAYEUX_BROWSER cookie present"
Msg = dict[str, Any]


def password_token(org: FakeOrg) -> str:
    creds = org.credentials()
    form = {k: creds[k] for k in ("client_id", "client_secret", "username")}
    form |= {"grant_type": "password", "password": creds["password"] + creds["security_token"]}
    r = httpx.post(creds["token_url"], data=form)
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


class Cometd:
    """A deliberately plain Bayeux client: each call is one POST, replies are checked raw."""

    def __init__(self, org: FakeOrg, token: str) -> None:
        auth = {"Authorization": f"Bearer {token}"}
        self.http = httpx.Client(base_url=org.instance_url, timeout=120, headers=auth)
        self.client_id = ""
        self._ids = 0

    def msg(self, channel: str, **fields: Any) -> Msg:
        self._ids += 1
        body: Msg = {"channel": channel, "id": str(self._ids), **fields}
        if self.client_id and channel != "/meta/handshake":
            body["clientId"] = self.client_id
        return body

    def post(self, *messages: Msg) -> httpx.Response:
        return self.http.post(COMETD, json=list(messages))

    def send(self, *messages: Msg) -> list[Msg]:
        response = self.post(*messages)
        assert response.status_code == 200, response.text
        replies: list[Msg] = response.json()
        return replies

    def handshake(self) -> Msg:
        types = ["long-polling"]
        hello = self.msg("/meta/handshake", version="1.0", supportedConnectionTypes=types)
        (reply,) = self.send(hello)
        assert reply["successful"] is True, reply
        self.client_id = reply["clientId"]
        return reply

    def connect(self, **fields: Any) -> list[Msg]:
        return self.send(self.msg("/meta/connect", connectionType="long-polling", **fields))

    def subscribe(self, channel: str, replay: int | None = None, **fields: Any) -> Msg:
        if replay is not None:
            fields["ext"] = {"replay": {channel: replay}}
        (reply,) = self.send(self.msg("/meta/subscribe", subscription=channel, **fields))
        return reply

    def start(self, *channels: str, replay: int = -1) -> Cometd:
        """Handshake, the immediate first connect, and successful subscriptions."""
        self.handshake()
        self.connect()
        for channel in channels:
            reply = self.subscribe(channel, replay)
            assert reply["successful"] is True, reply
        return self

    def events(self, count: int) -> list[Msg]:
        """Connect until `count` events came (idle holds are short)."""
        got: list[Msg] = []
        while len(got) < count:
            replies = self.connect()
            assert replies[-1]["channel"] == "/meta/connect" and replies[-1]["successful"]
            got += [m for m in replies if not m["channel"].startswith("/meta/")]
        assert len(got) == count, got
        return got

    def close(self) -> None:
        self.http.close()


Make = Callable[[], Cometd]


@pytest.fixture
def token(fake_org: FakeOrg) -> str:
    return password_token(fake_org)


@pytest.fixture
def cometd(fake_org: FakeOrg, token: str) -> Iterator[Make]:
    """New Bayeux clients on an org whose idle connects are held 200 ms."""
    streaming.configure(fake_org.state, timeout_ms=200)
    made: list[Cometd] = []

    def make() -> Cometd:
        made.append(Cometd(fake_org, token))
        return made[-1]

    yield make
    for client in made:
        client.close()


def admin(org: FakeOrg, path: str, body: Msg | None = None) -> httpx.Response:
    return httpx.post(f"{org.instance_url}/_admin/streaming{path}", json=body or {})


def payload(event: Msg) -> Any:
    """`data.payload`: an object on /data and /event channels, a string on /u channels."""
    return event["data"]["payload"]


def header(event: Msg) -> Msg:
    found: Msg = payload(event)["ChangeEventHeader"]
    return found


def replay_id(event: Msg) -> int:
    found: int = event["data"]["event"]["replayId"]
    return found


def wait_until_holding(org: FakeOrg) -> None:
    """Until the server holds a connect (bounded by pytest's timeout, not by an assertion)."""
    while not any(c["connected"] for c in streaming.stats(org.state)["clients"]):
        time.sleep(0.01)


def create_account(api: httpx.Client, name: str) -> str:
    r = api.post(f"{V}/sobjects/Account", json={"Name": name})
    assert r.status_code == 201, r.text
    record_id: str = r.json()["id"]
    return record_id


# -- transport and message shapes ---------------------------------------------------------------


def test_handshake_reply_cookies_and_first_connect(cometd: Make) -> None:
    c = cometd()
    hello = c.msg("/meta/handshake", version="1.0", supportedConnectionTypes=["long-polling"])
    response = c.post(hello)
    assert response.status_code == 200 and "BAYEUX_BROWSER" in response.cookies
    (reply,) = response.json()
    assert reply["channel"] == "/meta/handshake" and reply["id"] == "1"
    assert reply["successful"] is True and reply["version"] == "1.0"
    assert reply["supportedConnectionTypes"] == ["long-polling"]
    assert reply["ext"]["replay"] is True and len(reply["clientId"]) >= 20
    advice = {"reconnect": "retry", "interval": 0, "timeout": 200}
    assert reply["advice"] == advice
    c.client_id = reply["clientId"]
    (first,) = c.connect()  # the first connect answers at once, advice included
    expected = {"channel": "/meta/connect", "id": "2", "clientId": c.client_id}
    assert first == expected | {"successful": True, "advice": advice}
    (second,) = c.connect()  # held until the timeout; unchanged advice is not repeated
    assert second == expected | {"id": "3", "successful": True}


def test_advice_defaults_to_salesforce_values(fake_org: FakeOrg, token: str) -> None:
    c = Cometd(fake_org, token)
    try:
        assert c.handshake()["advice"] == {"reconnect": "retry", "interval": 0, "timeout": 110000}
    finally:
        c.close()


def test_subscribe_unsubscribe_disconnect_replies(cometd: Make) -> None:
    c = cometd().start()
    sub = c.subscribe("/data/AccountChangeEvent", -1)
    ids = {"id": "3", "clientId": c.client_id}
    assert sub == ids | {
        "channel": "/meta/subscribe",
        "subscription": "/data/AccountChangeEvent",
        "successful": True,
    }
    (unsub,) = c.send(c.msg("/meta/unsubscribe", subscription="/data/AccountChangeEvent"))
    assert unsub["successful"] is True and unsub["subscription"] == "/data/AccountChangeEvent"
    (bye,) = c.send(c.msg("/meta/disconnect"))
    assert bye == ids | {"channel": "/meta/disconnect", "id": "5", "successful": True}
    assert c.connect()[0]["error"] == "403::Unknown client"


def test_batch_post_answers_every_message_in_order(cometd: Make, api: httpx.Client) -> None:
    c = cometd().start()
    replies = c.send(
        c.msg("/meta/subscribe", subscription="/data/ChangeEvents"),
        c.msg("/meta/subscribe", subscription="/data/AccountChangeEvent"),
        c.msg("/meta/unsubscribe", subscription="/data/ChangeEvents"),
        c.msg("/meta/subscribe", subscription="/data/NoSuchChangeEvent"),
    )
    channels = [r["channel"].removeprefix("/meta/") for r in replies]
    assert channels == ["subscribe", "subscribe", "unsubscribe", "subscribe"]
    assert [r["successful"] for r in replies] == [True, True, True, False]
    create_account(api, "Batch")
    replies = c.send(
        c.msg("/meta/subscribe", subscription="/data/ChangeEvents"),
        c.msg("/meta/connect", connectionType="long-polling"),
    )
    channels = [r["channel"] for r in replies]
    assert channels == ["/meta/subscribe", "/data/AccountChangeEvent", "/meta/connect"]


def test_malformed_posts_are_refused(cometd: Make) -> None:
    c = cometd()
    for body in (b"{not json", b'{"channel": "/meta/handshake"}', b"[]"):
        r = c.http.post(COMETD, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()[0]["successful"] is False
    c.start()
    (reply,) = c.send(c.msg("/data/ChangeEvents", data={"no": "publishing"}))
    assert reply["successful"] is False and reply["error"] == "403::Publish denied"


def test_version_is_mandatory(fake_org: FakeOrg, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    r = httpx.post(f"{fake_org.instance_url}/cometd", json=[{"channel": "/x"}], headers=auth)
    assert r.status_code == 400
    assert r.json()[0]["error"] == "400::API version in the URI is mandatory"


# -- CDC from REST writes -----------------------------------------------------------------------


def test_rest_writes_arrive_as_cdc_on_both_channels(
    cometd: Make, api: httpx.Client, fake_org: FakeOrg
) -> None:
    c = cometd().start("/data/ChangeEvents", "/data/AccountChangeEvent")
    calls = {"Sforce-Call-Options": "client=billing-sync"}
    body = {"Name": "Acme", "Rating": "Hot"}
    record_id = api.post(f"{V}/sobjects/Account", json=body, headers=calls).json()["id"]
    url = f"{V}/sobjects/Account/{record_id}"
    assert api.patch(url, json={"Rating": "Cold", "Site": None}).status_code == 204
    assert api.delete(url).status_code == 204
    events = c.events(6)
    every = [e for e in events if e["channel"] == "/data/ChangeEvents"]
    accounts = [e for e in events if e["channel"] == "/data/AccountChangeEvent"]
    assert len(every) == len(accounts) == 3
    ids = [replay_id(e) for e in accounts]
    assert ids == sorted(set(ids)) == [replay_id(e) for e in every]  # one id on both channels
    assert [header(e)["changeType"] for e in accounts] == ["CREATE", "UPDATE", "DELETE"]
    for e in accounts:
        h = header(e)
        assert h["entityName"] == "Account" and h["recordIds"] == [record_id]
        assert h["commitUser"] == fake_org.state.config.user_id
        assert isinstance(h["commitTimestamp"], int) and h["sequenceNumber"] == 1
        assert isinstance(e["data"]["schema"], str) and len(e["data"]["schema"]) == 22
    create, update, delete = accounts
    assert header(create)["changeOrigin"] == "com/salesforce/api/rest/62.0;client=billing-sync"
    assert payload(create)["Name"] == "Acme" and payload(create)["Rating"] == "Hot"
    assert payload(update)["Rating"] == "Cold" and "Name" not in payload(update)
    assert payload(update)["LastModifiedDate"].endswith("Z")
    # CometD: the nulled field in the body and changedFields; no nulledFields (cdc.md)
    assert payload(update)["Site"] is None and "Site" in header(update)["changedFields"]
    assert "nulledFields" not in header(update) and "diffFields" not in header(update)
    assert set(payload(delete)) == {"ChangeEventHeader"}


def test_entity_channel_only_carries_its_entity(cometd: Make, api: httpx.Client) -> None:
    c = cometd().start("/data/ContactChangeEvent")
    create_account(api, "Not a contact")
    assert api.post(f"{V}/sobjects/Contact", json={"LastName": "Lovelace"}).status_code == 201
    (event,) = c.events(1)
    assert event["channel"] == "/data/ContactChangeEvent"
    assert header(event)["entityName"] == "Contact" and payload(event)["Name"] == {
        "LastName": "Lovelace"
    }


def test_only_entities_selected_for_cdc_publish(
    fake_org: FakeOrg, cometd: Make, api: httpx.Client
) -> None:
    assert admin(fake_org, "/config", {"cdc_entities": ["Contact"]}).status_code == 200
    c = cometd().start("/data/ChangeEvents")
    create_account(api, "Not selected")
    assert api.post(f"{V}/sobjects/Contact", json={"LastName": "Selected"}).status_code == 201
    (event,) = c.events(1)
    assert header(event)["entityName"] == "Contact"


def test_capture_starts_when_streaming_is_first_used(
    fake_org: FakeOrg, token: str, api: httpx.Client
) -> None:
    create_account(api, "Before streaming")  # no listener yet: no CDC event is even built
    streaming.enable(fake_org.state)
    create_account(api, "Captured")
    streaming.configure(fake_org.state, timeout_ms=200)
    c = Cometd(fake_org, token)
    try:
        (event,) = c.start("/data/ChangeEvents", replay=-2).events(1)
    finally:
        c.close()
    assert payload(event)["Name"] == "Captured"


# -- replay -------------------------------------------------------------------------------------


def test_replay_new_only_all_retained_and_after_an_id(cometd: Make, api: httpx.Client) -> None:
    for n in range(3):
        create_account(api, f"Before {n}")
    newest = cometd().start("/data/AccountChangeEvent", replay=-1)
    assert [m["channel"] for m in newest.connect()] == ["/meta/connect"]  # nothing old
    create_account(api, "After")
    assert [payload(e)["Name"] for e in newest.events(1)] == ["After"]

    retained = cometd().start("/data/AccountChangeEvent", replay=-2).events(4)
    names = [payload(e)["Name"] for e in retained]
    assert names == ["Before 0", "Before 1", "Before 2", "After"]

    after_second = cometd().start("/data/AccountChangeEvent", replay=replay_id(retained[1]))
    assert [payload(e)["Name"] for e in after_second.events(2)] == ["Before 2", "After"]


def test_replay_errors_use_salesforce_text(cometd: Make, api: httpx.Client) -> None:
    create_account(api, "One")
    c = cometd().start()
    (latest,) = cometd().start("/data/ChangeEvents", replay=-2).events(1)
    for bad in (5, replay_id(latest) + 1000, -3):
        reply = c.subscribe("/data/ChangeEvents", bad)
        assert reply["successful"] is False and reply["subscription"] == "/data/ChangeEvents"
        assert reply["error"] == INVALID_REPLAY.format(bad)
    reply = c.subscribe("/data/ChangeEvents", ext={"replay": {}})
    assert reply["error"] == NOT_IN_MAP.format("/data/ChangeEvents", "{{}}")
    other = {"replay": {"/topic/Y": -1}}
    reply = c.subscribe("/data/AccountChangeEvent", ext=other)
    assert reply["error"] == NOT_IN_MAP.format("/data/AccountChangeEvent", "{{/topic/Y=-1}}")
    reply = c.subscribe("/topic/X", ext=other)
    assert (
        reply["error"] == "400::The channel you requested to subscribe to doesn't exist {/topic/X}"
    )
    assert c.subscribe("/data/AccountChangeEvent", replay_id(latest))["successful"] is True


def test_retention_expiry_on_an_injected_clock(fake_org: FakeOrg, api: httpx.Client) -> None:
    now = [time.time()]
    fake_org.state.clock = lambda: now[0]
    fake_org.state.config.session_timeout = 30 * 86400.0  # tokens outlive the 73 h we skip
    streaming.configure(fake_org.state, timeout_ms=200)
    token = password_token(fake_org)
    api.headers["Authorization"] = f"Bearer {token}"
    clients: list[Cometd] = []

    def client() -> Cometd:
        clients.append(Cometd(fake_org, token))
        return clients[-1]

    try:
        create_account(api, "Old")
        now[0] += 71 * 3600
        create_account(api, "Recent")
        old, recent = client().start("/data/ChangeEvents", replay=-2).events(2)
        now[0] += 2 * 3600  # "Old" is now 73 h old: past the 72 h window
        c = client().start()
        before_old = replay_id(old) - 1
        assert c.subscribe("/data/ChangeEvents", before_old)["error"] == INVALID_REPLAY.format(
            before_old
        )
        # after "Old" itself nothing was lost
        assert c.subscribe("/data/ChangeEvents", replay_id(old))["successful"] is True
        (only,) = client().start("/data/ChangeEvents", replay=-2).events(1)
        assert payload(only)["Name"] == "Recent" and replay_id(only) == replay_id(recent)
    finally:
        for each in clients:
            each.close()


def test_retention_by_count_and_purge(fake_org: FakeOrg, cometd: Make) -> None:
    streaming.configure(fake_org.state, max_retained=2)
    streaming.define_channel(fake_org.state, "/u/Notices")
    ids = [streaming.publish_raw(fake_org.state, "/u/Notices", f"notice {n}") for n in range(3)]
    c = cometd().start()
    assert c.subscribe("/u/Notices", ids[0] - 1)["error"] == INVALID_REPLAY.format(ids[0] - 1)
    assert c.subscribe("/u/Notices", ids[0])["successful"] is True
    events = c.events(2)
    assert [payload(e) for e in events] == ["notice 1", "notice 2"]  # generic: a string
    assert set(events[0]["data"]["event"]) == {"createdDate", "replayId"}
    assert admin(fake_org, "/purge", {"channel": "/u/Notices"}).json() == {"purged": 2}
    assert c.subscribe("/u/Notices", ids[1])["error"] == INVALID_REPLAY.format(ids[1])


# -- errors: clients and auth -------------------------------------------------------------------


def test_dropped_and_idle_clients_are_unknown(fake_org: FakeOrg, cometd: Make) -> None:
    c = cometd().start("/data/ChangeEvents")
    assert streaming.drop_all_clients(fake_org.state) == 1
    (reply,) = c.connect()
    assert reply == {
        "channel": "/meta/connect",
        "id": "4",
        "error": "403::Unknown client",
        "advice": {"reconnect": "handshake", "interval": 0},
        "successful": False,
    }
    c.start("/data/ChangeEvents")  # a re-handshake starts without subscriptions
    assert streaming.stats(fake_org.state)["clients"][0]["subscriptions"] == ["/data/ChangeEvents"]
    assert admin(fake_org, "/drop-clients").json() == {"dropped": 1}
    assert c.subscribe("/data/ChangeEvents")["error"] == "403::Unknown client"

    now = [time.time()]
    fake_org.state.clock = lambda: now[0]
    c.start()
    now[0] += 39
    assert c.connect()[-1]["successful"] is True  # back within 40 s of the last reply
    now[0] += 41
    assert c.connect()[-1]["error"] == "403::Unknown client"


def test_auth_errors_are_bayeux_shaped_401s(fake_org: FakeOrg, cometd: Make) -> None:
    url = f"{fake_org.instance_url}{COMETD}"
    hello = {"channel": "/meta/handshake", "id": "1", "version": "1.0"}
    r = httpx.post(url, json=[hello])
    assert r.status_code == 401
    (reply,) = r.json()
    assert reply == {
        "channel": "/meta/handshake",
        "id": "1",
        "error": "401::Request requires authentication",
        "successful": False,
        "advice": {"reconnect": "none"},
    }
    r = httpx.post(url, json=[hello], headers={"Authorization": "Bearer 00Dbogus!token"})
    assert r.status_code == 401 and "00Dbogus" not in r.text
    (reply,) = r.json()
    assert reply["error"] == "403::Handshake denied" and reply["successful"] is False
    assert reply["ext"] == {"sfdc": {"failureReason": "401::Authentication invalid"}}

    c = cometd().start("/data/ChangeEvents")
    assert httpx.post(f"{fake_org.instance_url}/_admin/expire-sessions").status_code == 200
    response = c.post(c.msg("/meta/connect", connectionType="long-polling"))
    assert response.status_code == 401
    (reply,) = response.json()
    assert reply["error"] == "401::Authentication invalid"
    assert reply["advice"] == {"reconnect": "none"}


def test_token_revoked_during_a_held_connect_ends_it_with_401(
    fake_org: FakeOrg, token: str
) -> None:
    # A hold longer than pytest's timeout: only the token re-check can end this connect.
    streaming.configure(fake_org.state, timeout_ms=600_000, session_check_ms=20)
    c = Cometd(fake_org, token).start("/data/ChangeEvents")
    held = c.msg("/meta/connect", connectionType="long-polling")
    result: list[httpx.Response] = []
    poller = threading.Thread(target=lambda: result.append(c.post(held)))
    poller.start()
    wait_until_holding(fake_org)
    fake_org.state.expire_sessions()
    poller.join()
    c.close()
    (response,) = result
    assert response.status_code == 401
    (reply,) = response.json()
    assert reply["error"] == "401::Authentication invalid"
    assert reply["advice"] == {"reconnect": "none"}
    assert streaming.stats(fake_org.state)["clientCount"] == 0


def test_missing_bayeux_browser_cookie(cometd: Make) -> None:
    c = cometd()
    c.handshake()
    c.http.cookies.clear()
    (reply,) = c.connect()
    assert reply["error"] == NO_COOKIE.format(c.client_id)


def test_client_cap_and_daily_event_limit(fake_org: FakeOrg, cometd: Make) -> None:
    streaming.configure(fake_org.state, max_clients=1)
    first = cometd().start()
    second = cometd()
    (reply,) = second.send(second.msg("/meta/handshake", version="1.0"))
    assert reply["error"] == "403::Handshake denied"
    reason = reply["ext"]["sfdc"]["failureReason"]
    assert reason == "403::Organization concurrent user limit exceeded"
    r = admin(fake_org, "/config", {"events_limit_exceeded": True})
    assert r.status_code == 200 and r.json()["events_limit_exceeded"] is True
    error = first.subscribe("/data/ChangeEvents")["error"]
    assert error == "403::Organization total events daily limit exceeded"


# -- gap, overflow, channels, platform events ---------------------------------------------------


def test_injected_gap_events_are_header_only(
    fake_org: FakeOrg, cometd: Make, api: httpx.Client
) -> None:
    c = cometd().start("/data/AccountChangeEvent")
    record_id = create_account(api, "Gappy")
    gap_request = {"entity": "Account", "changeType": "GAP_UPDATE", "recordIds": [record_id]}
    r = admin(fake_org, "/gap", gap_request)
    assert r.status_code == 200
    create, gap = c.events(2)
    assert replay_id(gap) == r.json()["replayId"] > replay_id(create)
    assert set(payload(gap)) == {"ChangeEventHeader"}
    h = header(gap)
    assert h["changeType"] == "GAP_UPDATE" and h["recordIds"] == [record_id]
    assert h["changedFields"] == [] and h["transactionKey"]


def test_overflow_past_the_transaction_threshold(
    fake_org: FakeOrg, cometd: Make, api: httpx.Client
) -> None:
    streaming.configure(fake_org.state, overflow_threshold=2)
    c = cometd().start("/data/ChangeEvents")
    records = [{"attributes": {"type": "Account"}, "Name": f"Bulk {n}"} for n in range(3)]
    records += [{"attributes": {"type": "Contact"}, "LastName": f"Bulk {n}"} for n in range(2)]
    r = api.post(f"{V}/composite/sobjects", json={"allOrNone": True, "records": records})
    assert r.status_code == 200 and all(x["success"] for x in r.json()), r.text
    events = c.events(4)
    kinds = [(header(e)["entityName"], header(e)["changeType"]) for e in events]
    assert kinds == [
        ("Account", "CREATE"),
        ("Account", "CREATE"),
        ("Account", "GAP_OVERFLOW"),
        ("Contact", "GAP_OVERFLOW"),
    ]
    assert len({header(e)["transactionKey"] for e in events}) == 1
    for overflow in events[2:]:
        assert header(overflow)["recordIds"] == []
        assert set(payload(overflow)) == {"ChangeEventHeader"}
    assert streaming.inject_gap(fake_org.state, "Lead", "GAP_OVERFLOW", ["00Qxx"]) > 0
    (lead,) = c.events(1)
    assert header(lead)["changeType"] == "GAP_OVERFLOW" and header(lead)["recordIds"] == []


def test_custom_channel_and_push_topic(fake_org: FakeOrg, cometd: Make, api: httpx.Client) -> None:
    chn = {"name": "/data/Sales__chn", "entities": ["Contact"]}
    assert admin(fake_org, "/channels", chn).status_code == 201
    topic = {"name": "/topic/AccountNames", "entities": ["Account"], "fields": ["Name"]}
    assert admin(fake_org, "/channels", topic).status_code == 201
    c = cometd().start("/data/Sales__chn", "/topic/AccountNames")
    account_id = create_account(api, "Topical")
    assert api.post(f"{V}/sobjects/Contact", json={"LastName": "Chan"}).status_code == 201
    pushed, contact = c.events(2)
    assert pushed["channel"] == "/topic/AccountNames"
    assert pushed["data"]["sobject"] == {"Id": account_id, "Name": "Topical"}
    assert pushed["data"]["event"]["type"] == "created"
    assert pushed["data"]["event"]["createdDate"].endswith("Z")
    assert contact["channel"] == "/data/Sales__chn" and header(contact)["entityName"] == "Contact"


def test_platform_event_published_over_rest(
    fake_org: FakeOrg, cometd: Make, api: httpx.Client
) -> None:
    url = f"{V}/sobjects/Order_Event__e"
    assert api.post(url, json={}).status_code == 404
    fields = {"Order_Number__c": "string", "Amount__c": "double", "Note__c": "string"}
    r = admin(fake_org, "/platform-events", {"name": "Order_Event__e", "fields": fields})
    assert r.json() == {"name": "Order_Event__e", "channel": "/event/Order_Event__e"}
    describe = api.get(f"{url}/describe")
    assert describe.status_code == 200 and describe.json()["keyPrefix"].startswith("e")
    c = cometd().start("/event/Order_Event__e")
    r = api.post(url, json={"Order_Number__c": "SO-1", "Amount__c": "12.5"})
    assert r.status_code == 201, r.text
    result = r.json()
    assert result["success"] is True and result["errors"][0]["statusCode"] == "OPERATION_ENQUEUED"
    (event,) = c.events(1)
    assert event["channel"] == "/event/Order_Event__e"
    body = payload(event)
    assert body["Order_Number__c"] == "SO-1" and body["Amount__c"] == 12.5
    assert body["Note__c"] is None and body["CreatedDate"].endswith("Z")
    assert body["CreatedById"] == fake_org.state.config.user_id
    assert event["data"]["event"]["EventUuid"] == result["errors"][0]["message"]
    bad = api.post(url, json={"Nope__c": 1})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
    read_only = api.post(url, json={"ReplayId": "1"})
    assert read_only.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


# -- long polling -------------------------------------------------------------------------------


def test_held_connect_returns_when_an_event_arrives(
    fake_org: FakeOrg, token: str, api: httpx.Client
) -> None:
    # A hold longer than pytest's timeout: only the event can end this connect.
    streaming.configure(fake_org.state, timeout_ms=600_000)
    c = Cometd(fake_org, token).start("/data/AccountChangeEvent")
    result: list[list[Msg]] = []
    poller = threading.Thread(target=lambda: result.append(c.connect()))
    poller.start()
    wait_until_holding(fake_org)
    create_account(api, "Wake up")
    poller.join()
    c.close()
    (replies,) = result
    assert [m["channel"] for m in replies] == ["/data/AccountChangeEvent", "/meta/connect"]
    assert payload(replies[0])["Name"] == "Wake up"


def test_many_events_drain_in_order_in_bounded_replies(fake_org: FakeOrg, cometd: Make) -> None:
    streaming.configure(fake_org.state, max_events_per_reply=1000)
    streaming.define_channel(fake_org.state, "/u/Load")
    c = cometd().start("/u/Load")
    total = 20_000

    def publish() -> None:  # off the server loop: wakes go through call_soon_threadsafe
        for n in range(total):
            streaming.publish_raw(fake_org.state, "/u/Load", str(n))

    publisher = threading.Thread(target=publish)
    publisher.start()
    got: list[str] = []
    largest = 0
    while len(got) < total:
        batch = [payload(m) for m in c.connect() if m["channel"] == "/u/Load"]
        if not batch and not publisher.is_alive():
            break  # the publisher died: fail below rather than poll forever
        largest = max(largest, len(batch))
        got += batch
    publisher.join()
    assert got == [str(n) for n in range(total)]
    assert largest <= 1000
    assert streaming.stats(fake_org.state)["channels"]["/u/Load"]["published"] == total


def test_admin_stats_and_config(fake_org: FakeOrg, cometd: Make, api: httpx.Client) -> None:
    c = cometd().start("/data/ChangeEvents")
    create_account(api, "Counted")
    stats = httpx.get(f"{fake_org.instance_url}/_admin/streaming").json()
    assert stats["clientCount"] == 1 and stats["clients"][0]["clientId"] == c.client_id
    assert stats["channels"]["/data/ChangeEvents"]["retained"] == 1
    assert stats["channels"]["/data/AccountChangeEvent"]["published"] == 1
    assert stats["config"]["timeout_ms"] == 200
    event = {"ChangeEventHeader": {"entityName": "Account", "changeType": "GAP_DELETE"}}
    published = admin(fake_org, "/publish", {"channel": "/data/ChangeEvents", "payload": event})
    (raw,) = c.events(2)[1:]
    assert replay_id(raw) == published.json()["replayId"] and payload(raw) == event
    r = admin(fake_org, "/config", {"no_such": 1})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_FIELD"
