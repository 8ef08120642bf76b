"""Salesforce's Node Pub/Sub API client (npm `salesforce-pubsub-api-client`, pinned by
tests/pubsub/js/package-lock.json) against the fake org: an independent implementation of
the Avro decoding and of the header bitmaps reads what our server sends.

`make js` installs it (`npm ci --prefix tests/pubsub/js`). Without node or the installed
package the test fails naming what to install. The client trusts only its bundled CA roots,
so it runs with `rejectUnauthorizedSsl: false` (still TLS, the fake org's certificate unchecked).
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from salesforce_typed.testing.server import FakeOrg

JS = Path(__file__).resolve().parent / "js"


def _node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node not found: install Node.js 18+ (with npm), then run `make js`")
    if not (JS / "node_modules" / "salesforce-pubsub-api-client").is_dir():
        pytest.fail("the Node Pub/Sub client is not installed: run `make js`")
    return found


def _events(org: FakeOrg, token: str, topic: str, count: int) -> list[dict[str, Any]]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PUBSUB_URL": org.pubsub_url,
        "SF_ACCESS_TOKEN": token,
        "SF_INSTANCE_URL": org.instance_url,
        "SF_ORG_ID": org.state.config.org_id,
        "TOPIC": topic,
        "COUNT": str(count),
    }
    done = subprocess.run(
        [_node(), "subscribe.js"], cwd=JS, env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_node_client_decodes_a_cdc_event_the_fake_org_emits(org: FakeOrg) -> None:
    token = org.state.new_session().access_token
    ca = ssl.create_default_context(cafile=org.credentials()["ca_file"])
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=org.instance_url, verify=ca, headers=headers) as http:
        made = http.post(
            "/services/data/v62.0/sobjects/Contact",
            json={"FirstName": "Ada", "LastName": "Byron", "Phone": "555-0100"},
        )
        record_id = made.json()["id"]
        http.patch(
            f"/services/data/v62.0/sobjects/Contact/{record_id}",
            json={"LastName": "Lovelace", "Phone": None},
        )
    created, updated = _events(org, token, "/data/ContactChangeEvent", 2)

    assert created["payload"]["ChangeEventHeader"]["changeType"] == "CREATE"
    assert created["payload"]["Name"]["FirstName"] == "Ada"
    header = updated["payload"]["ChangeEventHeader"]
    assert header["recordIds"] == [record_id]
    assert header["changeType"] == "UPDATE"
    # its own bitmap decoding: the nested "<i>-0x.." form names the compound's component
    assert sorted(header["changedFields"]) == ["LastModifiedDate", "Name.LastName", "Phone"]
    assert header["nulledFields"] == ["Phone"]
    assert updated["payload"]["Name"]["LastName"] == "Lovelace"
    assert updated["payload"]["Phone"] is None  # Pub/Sub sends every field; this one nulled
    assert int(updated["replayId"]) > int(created["replayId"])
