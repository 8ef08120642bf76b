"""The official CometD JavaScript client (npm `cometd` with the `cometd-nodejs-client` adapter,
pinned in tests/fidelity/js) against the fake org: an independent client's view of the
Bayeux server, its OAuth bearer handshake, the replay extension and the CDC wire shape.

`make js` installs the client (`npm ci --prefix tests/fidelity/js`). Without node or the
installed packages these tests fail, naming what to install: a skipped check here would let
the server drift from what Salesforce's own samples expect unnoticed.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from salesforce_typed.testing import streaming
from salesforce_typed.testing.server import FakeOrg
from tests.fidelity.conftest import password_token
from tests.fidelity.test_change_events import COMETD_HEADER

JS = Path(__file__).resolve().parent / "js"
V = "/services/data/v62.0"
BOUND_S = 60.0  # turns a hang into a failure; nothing asserts on time


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node not found: install Node.js 18+ (with npm), then run `make js`")
    if not (JS / "node_modules" / "cometd").is_dir():
        pytest.fail("the CometD JS client is not installed: run `make js`")
    return found


class NodeSubscriber:
    """`node subscribe.js` in the background; its `RESULT` lines are read on a thread."""

    def __init__(self, org: FakeOrg, token: str, channel: str, replay: int, count: int):
        env = dict(
            os.environ,
            SF_INSTANCE_URL=org.instance_url,
            SF_TOKEN=token,
            SF_CHANNEL=channel,
            SF_REPLAY=str(replay),
            SF_COUNT=str(count),
            SF_TIMEOUT_MS=str(int(BOUND_S * 1000)),
        )
        ca_file = org.credentials().get("ca_file")
        if ca_file:
            env["NODE_EXTRA_CA_CERTS"] = str(ca_file)
        self.proc = subprocess.Popen(
            [node(), str(JS / "subscribe.js")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.results: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.subscribed: str | None = None
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)
            if line.startswith("RESULT "):
                self.results.put(json.loads(line[len("RESULT ") :]))
        self.results.put(None)

    def next(self, *, end: bool = False) -> dict[str, Any] | None:
        """The next result line; None at the end of output when `end` allows it."""
        try:
            item = self.results.get(timeout=BOUND_S)
        except queue.Empty:
            item = None
            end = False
        if (item is None and not end) or (item is not None and "error" in item):
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"node client: {item}\n{''.join(self.log)}\n{err}")
        return item

    def messages(self) -> list[dict[str, Any]]:
        """Every event until the client exits (it does once it has its events and the
        subscribe reply, which a replay's retained events may overtake)."""
        out: list[dict[str, Any]] = []
        while (item := self.next(end=True)) is not None:
            if "subscribed" in item:
                self.subscribed = item["subscribed"]
            else:
                out.append(item["message"])
        assert self.proc.wait(timeout=BOUND_S) == 0, "".join(self.log)
        return out

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


@pytest.fixture
def closing() -> Iterator[ExitStack]:
    """Node processes and HTTP clients of a test, ended when it ends."""
    with ExitStack() as stack:
        yield stack


def _org(org: FakeOrg, closing: ExitStack) -> tuple[FakeOrg, httpx.Client, str]:
    streaming.enable(org.state)
    ca_file = org.credentials().get("ca_file")
    verify = ssl.create_default_context(cafile=ca_file) if ca_file else True
    client = httpx.Client(base_url=org.instance_url, timeout=BOUND_S, verify=verify)
    closing.callback(client.close)
    token = password_token(org, client)
    client.headers["Authorization"] = f"Bearer {token}"
    return org, client, token


def _payload(message: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = message["data"]
    assert isinstance(data["event"]["replayId"], int) and isinstance(data["schema"], str)
    payload: dict[str, Any] = data["payload"]
    assert set(payload["ChangeEventHeader"]) == COMETD_HEADER
    return payload


def test_js_client_receives_new_contact_events_over_tls(
    fake_org_tls: FakeOrg, closing: ExitStack
) -> None:
    org, api, token = _org(fake_org_tls, closing)
    sub = NodeSubscriber(org, token, "/data/ContactChangeEvent", replay=-1, count=2)
    closing.callback(sub.close)
    first = sub.next()
    assert first is not None and first["subscribed"] == "/data/ContactChangeEvent"
    body = {"FirstName": "Ada", "LastName": "Lovelace", "MailingCity": "London", "Title": "Dr"}
    contact = api.post(f"{V}/sobjects/Contact", json=body).json()["id"]
    patch = {"LastName": "King", "MailingCity": None, "Title": None}
    assert api.patch(f"{V}/sobjects/Contact/{contact}", json=patch).status_code == 204
    created, updated = (_payload(m) for m in sub.messages())
    assert created["ChangeEventHeader"]["changeType"] == "CREATE"
    assert created["ChangeEventHeader"]["recordIds"] == [contact]
    assert created["ChangeEventHeader"]["changedFields"] == []
    assert created["Name"] == {"FirstName": "Ada", "LastName": "Lovelace"}
    assert created["MailingAddress"] == {"City": "London"} and created["Title"] == "Dr"
    assert "FirstName" not in created and "Id" not in created
    header = updated["ChangeEventHeader"]
    assert header["changeType"] == "UPDATE"
    assert set(header["changedFields"]) == {
        "Name.LastName",
        "MailingAddress.City",
        "Title",
        "LastModifiedDate",
    }
    assert updated["Name"] == {"LastName": "King"}
    assert updated["MailingAddress"] == {"City": None} and updated["Title"] is None
    assert updated["LastModifiedDate"].endswith("Z")


def test_js_client_replays_retained_events_with_replay_minus_two(
    fake_org: FakeOrg, closing: ExitStack
) -> None:
    org, api, token = _org(fake_org, closing)
    first = api.post(f"{V}/sobjects/Contact", json={"LastName": "Before"}).json()["id"]
    assert api.delete(f"{V}/sobjects/Contact/{first}").status_code == 204
    sub = NodeSubscriber(org, token, "/data/ContactChangeEvent", replay=-2, count=2)
    closing.callback(sub.close)
    created, deleted = sub.messages()
    assert sub.subscribed == "/data/ContactChangeEvent"
    assert created["data"]["event"]["replayId"] < deleted["data"]["event"]["replayId"]
    assert _payload(created)["Name"] == {"LastName": "Before"}
    assert _payload(deleted)["ChangeEventHeader"]["changeType"] == "DELETE"
    assert set(_payload(deleted)) == {"ChangeEventHeader"}
