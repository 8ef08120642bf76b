"""`salesforce-typed publish`: platform events from --data, a JSON lines file or stdin, over
Pub/Sub (PublishStream) or REST, against the fake org; exit codes 0/1/2."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from typer.testing import CliRunner

from salesforce_typed.auth.aliases import AliasRecord, save_alias
from salesforce_typed.cli import app
from salesforce_typed.testing import streaming
from salesforce_typed.testing.pubsub import limits, service
from salesforce_typed.testing.server import FakeOrg

TOPIC = "/event/Order_Event__e"


@pytest.fixture(autouse=True)
def _event_type(org: FakeOrg) -> None:
    streaming.define_platform_event(org.state, "Order_Event__e", {"Order_Number__c": "string"})


@attrs.define
class Cli:
    """`salesforce-typed publish` in-process, with the org's SF_* variables (`env`)."""

    org: FakeOrg
    env: dict[str, str]

    def run(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> tuple[int, list[dict[str, object]], str]:
        env = dict(self.env if env is None else env)
        if env.get("SF_REFRESH_TOKEN"):  # the org rotates refresh tokens: one each run
            env["SF_REFRESH_TOKEN"] = self.org.new_refresh_token()
        result = CliRunner().invoke(app, ["publish", *args], env=env, input=stdin)
        lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        return result.exit_code, lines, result.stderr


@pytest.fixture
def cli(org: FakeOrg, tmp_path: Path) -> Iterator[Cli]:
    creds = org.credentials()
    values = {
        "SF_CLIENT_ID": creds["client_id"],
        "SF_CLIENT_SECRET": creds["client_secret"],
        "SF_REFRESH_TOKEN": org.new_refresh_token(),
        "SF_TOKEN_URL": creds["token_url"],
        "SF_CA_FILE": creds["ca_file"],
        "SF_PUBSUB_URL": org.pubsub_url,
        "SF_TOKEN_STORE": "memory",
        "SALESFORCE_TYPED_HOME": str(tmp_path / "home"),
    }
    saved = {k: v for k, v in os.environ.items() if k.startswith("SF_")}
    for key in saved:
        del os.environ[key]
    yield Cli(org, values)
    os.environ.update(saved)


def _on_bus(org: FakeOrg) -> list[str]:
    records = service(org.state).bus.read(TOPIC, 0, 1000)
    return [json.loads(r.body)["data"]["payload"]["Order_Number__c"] for r in records]


def test_data_over_pubsub_prints_replay_ids(org: FakeOrg, cli: Cli) -> None:
    code, lines, err = cli.run(
        TOPIC, "--data", '{"Order_Number__c": "A"}', "--data", '{"Order_Number__c": "B"}'
    )
    assert code == 0, err
    replays = service(org.state).bus.read(TOPIC, 0, 10)
    assert lines == [{"index": n, "replayId": r.replay_id} for n, r in enumerate(replays)]
    assert _on_bus(org) == ["A", "B"]


def test_file_in_small_batches_and_stdin_over_rest(org: FakeOrg, cli: Cli, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"Order_Number__c": "1"}\n\n{"Order_Number__c": "2"}\n{"Order_Number__c": "3"}\n'
    )
    code, lines, err = cli.run("Order_Event__e", "--file", str(events), "--batch-size", "2")
    assert code == 0, err
    assert [line["index"] for line in lines] == [0, 1, 2]
    assert all(isinstance(line["replayId"], int) for line in lines)

    code, lines, err = cli.run(TOPIC, "--api", "rest", stdin='{"Order_Number__c": "4"}\n')
    assert code == 0, err
    (line,) = lines
    assert line["index"] == 0 and isinstance(line["eventUuid"], str) and line["eventUuid"]
    assert _on_bus(org) == ["1", "2", "3", "4"]


def test_a_failed_event_is_reported_and_exits_1(org: FakeOrg, cli: Cli) -> None:
    big = json.dumps({"Order_Number__c": "x" * (limits.MAX_EVENT_BYTES + 10)})
    code, lines, _ = cli.run(TOPIC, "--data", '{"Order_Number__c": "ok"}', "--data", big)
    assert code == 1
    assert "replayId" in lines[0] and "maximum" in str(lines[1]["error"])
    assert _on_bus(org) == ["ok"]

    code, lines, _ = cli.run(TOPIC, "--api", "rest", "--data", '{"Nope__c": 1}')
    assert code == 1 and "error" in lines[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--data", "{nope"], "not JSON"),
        (["--data", "[1]"], "not a JSON object"),
        (["--data", "{}", "--api", "soap"], "--api"),
        (["--data", "{}", "--batch-size", "201"], "--batch-size"),
        (["--data", "{}", "--file", "x.jsonl"], "not both"),
        (["--file", "/nonexistent/events.jsonl"], "No such file"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, args: list[str], says: str) -> None:
    code, lines, err = cli.run(TOPIC, *args)
    assert (code, lines) == (2, [])
    assert says in err


def test_bad_topic_no_events_and_no_connection_exit_2(cli: Cli) -> None:
    assert cli.run("/data/AccountChangeEvent", "--data", "{}")[0] == 2
    assert "no events" in cli.run(TOPIC, stdin="\n")[2]
    bare = {k: "" for k in cli.env if k.startswith("SF_") and k != "SF_TOKEN_STORE"}
    code, _, err = cli.run(TOPIC, "--data", "{}", env={**cli.env, **bare})
    assert code == 2 and "SF_INSTANCE_URL" in err


def test_alias_connection(org: FakeOrg, cli: Cli, tmp_path: Path) -> None:
    creds = org.credentials()
    os.environ["SALESFORCE_TYPED_HOME"] = cli.env["SALESFORCE_TYPED_HOME"]
    try:
        save_alias(
            AliasRecord(
                name="fake",
                login_url=org.instance_url,
                client_id=creds["client_id"],
                client_secret=creds["client_secret"],
                username=None,
                instance_url=org.instance_url,
                org_id=org.state.config.org_id,
                user_id=org.state.config.user_id,
                store_url=f"file://{tmp_path / 'tokens'}",
                store_key="fake",
                logged_in_at=time.time(),
                grant_type="client_credentials",
            )
        )
    finally:
        del os.environ["SALESFORCE_TYPED_HOME"]
    only = {
        k: v
        for k, v in cli.env.items()
        if k in ("SF_CA_FILE", "SF_PUBSUB_URL", "SALESFORCE_TYPED_HOME")
    }
    cleared = {k: "" for k in cli.env if k not in only}
    code, lines, err = cli.run(
        TOPIC, "--alias", "fake", "--data", '{"Order_Number__c": "Z"}', env={**cleared, **only}
    )
    assert code == 0, err
    assert "replayId" in lines[0]
    assert _on_bus(org) == ["Z"]
    assert cli.run(TOPIC, "--alias", "nobody", "--data", "{}", env={**cleared, **only})[0] == 2
