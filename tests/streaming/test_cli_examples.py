"""`salesforce-typed listen` and the two CDC examples, run as a user would (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

import salesforce_typed_std as std
from salesforce_typed import MemoryTokenStore, RefreshTokenGrant, Salesforce
from salesforce_typed.testing import streaming
from salesforce_typed.testing.server import FakeOrg

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("salesforce-typed"))
TIMEOUT_S = 180  # bounds a hung child; nothing asserts on time


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    return env | values


def _writer(org: FakeOrg) -> Salesforce:
    creds = org.credentials()
    grant = RefreshTokenGrant(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=org.new_refresh_token(),  # the CLI gets the org's own authorization
        token_url=creds["token_url"],
    )
    return Salesforce(auth=grant, token_store=MemoryTokenStore())


def test_listen_prints_json_lines_and_exits_after_max_events(fake_org: FakeOrg) -> None:
    streaming.configure(fake_org.state, timeout_ms=500)
    with _writer(fake_org) as sf:
        ids = [sf.create(std.Account(Name=f"cli-{i}")).id for i in range(3)]
    creds = fake_org.credentials()
    env = _env(
        SF_CLIENT_ID=creds["client_id"],
        SF_CLIENT_SECRET=creds["client_secret"],
        SF_REFRESH_TOKEN=creds["refresh_token"],
        SF_TOKEN_URL=creds["token_url"],
    )
    proc = subprocess.run(
        [CLI, "listen", "/data/AccountChangeEvent", "--replay", "-2", "--max-events", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["recordIds"] for line in lines] == [[ids[0]], [ids[1]]]
    assert all(line["changeType"] == "CREATE" for line in lines)
    assert lines[0]["channel"] == "/data/AccountChangeEvent" and lines[0]["replayId"] > 0
    assert creds["client_secret"] not in proc.stderr + proc.stdout


def test_listen_with_an_access_token_and_a_replay_id(fake_org: FakeOrg) -> None:
    streaming.configure(fake_org.state, timeout_ms=500)
    with _writer(fake_org) as sf:
        first = sf.create(std.Account(Name="one")).id
        second = sf.create(std.Account(Name="two")).id
    creds = fake_org.credentials()
    token = httpx.post(
        creds["token_url"],
        data={
            "grant_type": "password",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "username": creds["username"],
            "password": creds["password"] + creds["security_token"],
        },
    ).json()["access_token"]
    env = _env(SF_INSTANCE_URL=fake_org.instance_url, SF_ACCESS_TOKEN=token)
    everything = subprocess.run(
        [CLI, "listen", "/data/AccountChangeEvent", "--replay", "-2", "--max-events", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert everything.returncode == 0, everything.stderr
    after = json.loads(everything.stdout)["replayId"]
    resumed = subprocess.run(
        [CLI, "listen", "/data/AccountChangeEvent", "--replay", str(after), "--max-events", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(everything.stdout)["recordIds"] == [first]
    assert json.loads(resumed.stdout)["recordIds"] == [second]


def test_listen_without_a_connection_says_what_to_set() -> None:
    proc = subprocess.run(
        [CLI, "listen", "/data/AccountChangeEvent"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 2
    assert "SF_INSTANCE_URL" in proc.stderr and "SF_REFRESH_TOKEN" in proc.stderr


def test_example_cdc_listener_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "cdc_listener.py")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "CREATE" in proc.stdout and "UPDATE" in proc.stdout and "DELETE" in proc.stdout
    assert "AccountChangeEvent(" in proc.stdout


def test_example_cdc_listener_redis_fails_over() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "cdc_listener_redis.py")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=ROOT,
        env=os.environ
        | {
            "REDIS_URL": os.environ.get(
                "SALESFORCE_TYPED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"
            )
        },
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "took over" in proc.stdout and "every record handled" in proc.stdout
