"""`salesforce-typed listen --api pubsub`, run as a user would (a subprocess, TLS fake org)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import salesforce_typed_std as std
from salesforce_typed import AsyncSalesforce
from salesforce_typed.testing.server import FakeOrg

CLI = str(Path(sys.executable).with_name("salesforce-typed"))
TIMEOUT_S = 120  # bounds a hung child; nothing asserts on time


def _env(org: FakeOrg) -> dict[str, str]:
    creds = org.credentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    return env | {
        # A password grant: each run logs in anew (the org rotates refresh tokens).
        "SF_CLIENT_ID": creds["client_id"],
        "SF_CLIENT_SECRET": creds["client_secret"],
        "SF_USERNAME": creds["username"],
        "SF_PASSWORD": creds["password"],
        "SF_SECURITY_TOKEN": creds["security_token"],
        "SF_TOKEN_URL": creds["token_url"],
        "SF_CA_FILE": creds["ca_file"],
        "SF_PUBSUB_URL": creds["pubsub_url"],  # as `fake-org serve --env-file` writes it
        "SF_TOKEN_STORE": "memory",
    }


def _listen(org: FakeOrg, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "listen", "/data/AccountChangeEvent", *args],
        env=_env(org),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


async def test_listen_over_pubsub_prints_what_cometd_prints(
    org: FakeOrg, sf: AsyncSalesforce
) -> None:
    ids = [(await sf.create(std.Account(Name=f"cli-{i}"))).id for i in range(3)]
    args = ("--replay", "-2", "--max-events", "2")
    pubsub = _listen(org, "--api", "pubsub", *args)
    assert pubsub.returncode == 0, pubsub.stderr
    cometd = _listen(org, *args)
    assert cometd.returncode == 0, cometd.stderr
    lines = [json.loads(line) for line in pubsub.stdout.splitlines()]
    assert [line["recordIds"] for line in lines] == [[ids[0]], [ids[1]]]
    assert all(line["changeType"] == "CREATE" for line in lines)
    # One event bus: the same replay ids, the same typed record, whichever API carried it.
    again = [json.loads(line) for line in cometd.stdout.splitlines()]
    assert [line["replayId"] for line in lines] == [line["replayId"] for line in again]
    assert [line["data"]["payload"]["Name"] for line in lines] == ["cli-0", "cli-1"]
    assert [line["data"]["payload"]["Name"] for line in again] == ["cli-0", "cli-1"]
    creds = org.credentials()
    assert creds["client_secret"] not in pubsub.stderr + pubsub.stdout
    assert creds["password"] not in pubsub.stderr + pubsub.stdout

    # Resuming after the first event's replay id (8 big-endian bytes on the wire).
    resumed = _listen(
        org, "--api", "pubsub", "--replay", str(lines[0]["replayId"]), "--max-events", "1"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["recordIds"] == [ids[1]]


def test_listen_over_pubsub_reports_a_missing_topic(org: FakeOrg) -> None:
    proc = subprocess.run(
        [CLI, "listen", "/event/Nope__e", "--api", "pubsub", "--replay", "-2"],
        env=_env(org),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 1
    assert "StreamingStoppedError" in proc.stderr and "NOT_FOUND" in proc.stderr


def test_listen_refuses_an_unknown_api(org: FakeOrg) -> None:
    proc = _listen(org, "--api", "grpc")
    assert proc.returncode == 2 and "--api takes cometd or pubsub" in proc.stderr
