"""`salesforce-typed publish TOPIC`: publish platform events given as JSON, one line out each.

Events come from `--data '{"Field__c": ...}'` (repeatable), or `--file events.jsonl` (one JSON
object a line; `-` or no option at all: stdin). `--api pubsub` (the default) publishes them over
one PublishStream in batches of `--batch-size` (at most 200, the guide's recommendation);
`--api rest` POSTs each to `/sobjects/<Name>__e`.

The org is a logged-in alias (`--alias`, see `salesforce-typed login`) or, without one, the
environment `listen` reads (SF_INSTANCE_URL + SF_ACCESS_TOKEN, SF_REFRESH_TOKEN..., SF_CA_FILE);
the Pub/Sub endpoint is `--pubsub-target`, else SF_PUBSUB_URL, else Salesforce's.

Output: one JSON line per event, in input order: `{"index": 0, "replayId": 42}` (Pub/Sub: the
replay id, as an integer when it is Salesforce's 8 bytes, else hex), `{"index": 0,
"eventUuid": "..."}` (REST: the enqueued event's uuid), or `{"index": 0, "error": "..."}`.
Exit 0 when every event was published, 1 when any failed (or the call did), 2 for bad usage.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from salesforce_typed.cli.app import app
from salesforce_typed.cli.listen import PubSubTargetOption, pubsub_target_or_default

if TYPE_CHECKING:
    from salesforce_typed.auth.grants import AccessTokenAuth, TokenGrant
    from salesforce_typed.stores.base import TokenStore

MAX_BATCH: Final = 200  # "Pub/Sub API and Event Allocations": no more than 200 per request


def parse_events(data: Sequence[str], lines: Iterable[str]) -> list[dict[str, Any]]:
    """JSON objects from `--data` values, then from JSON lines (blank lines skipped);
    ValueError naming the bad one."""
    events: list[dict[str, Any]] = []
    sources = [("--data", n, text) for n, text in enumerate(data, 1)]
    sources += [("line", n, text) for n, text in enumerate(lines, 1) if text.strip()]
    for where, n, text in sources:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where} {n} is not JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise ValueError(f"{where} {n} is not a JSON object")
        events.append(value)
    return events


def event_name(topic: str) -> str:
    """`/event/Order__e` or `Order__e` -> `Order__e`; ValueError for anything else."""
    name = topic.removeprefix("/event/")
    if not name.endswith("__e") or "/" in name:
        raise ValueError(f"a platform event topic is /event/<Name>__e or <Name>__e, not {topic!r}")
    return name


def replay_text(replay_id: bytes) -> int | str:
    return int.from_bytes(replay_id, "big") if len(replay_id) == 8 else replay_id.hex()


def batches(events: Sequence[Mapping[str, Any]], size: int) -> list[Sequence[Mapping[str, Any]]]:
    return [events[n : n + size] for n in range(0, len(events), size)]


def _connection(alias: str | None) -> tuple[TokenGrant | AccessTokenAuth, str | None, TokenStore]:
    """(auth, instance URL, token store): the alias's, else the environment's."""
    if alias is not None:
        from salesforce_typed.auth.aliases import get_alias, grant_from_alias

        grant, store = grant_from_alias(alias)
        return grant, get_alias(alias).instance_url, store
    from salesforce_typed.cli.listen import _listen_auth_from_env
    from salesforce_typed.stores.file import default_token_store

    auth, instance_url = _listen_auth_from_env()
    return auth, instance_url, default_token_store()


def _line(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def _over_pubsub(
    sf: Any, target: str, topic: str, events: list[dict[str, Any]], batch_size: int
) -> bool:
    from salesforce_typed.pubsub import AsyncPubSub

    async with AsyncPubSub.from_client(sf, target=target) as pubsub:
        results = await pubsub.publish_stream(topic, batches(events, batch_size))
    for index, result in enumerate(results):
        if result.error is not None or result.replay_id is None:
            _line(index=index, error=result.error or "no replay id")
        else:
            _line(index=index, replayId=replay_text(result.replay_id))
    return all(r.error is None and r.replay_id for r in results)


async def _over_rest(sf: Any, name: str, events: list[dict[str, Any]]) -> bool:
    from salesforce_typed.core.errors import APIStatusError

    ok = True
    for index, fields in enumerate(events):
        try:
            saved = await sf.request("POST", f"/sobjects/{name}", json=fields)
        except APIStatusError as exc:
            ok = False
            _line(index=index, error=f"{type(exc).__name__}: {exc}")
            continue
        errors = saved.get("errors") or [] if isinstance(saved, dict) else []
        uuid = next((e.get("message") for e in errors if isinstance(e, dict)), None)
        _line(index=index, eventUuid=uuid)
    return ok


@app.command()
def publish(
    topic: Annotated[str, typer.Argument(help="/event/Order_Event__e (or Order_Event__e).")],
    data: Annotated[
        list[str] | None, typer.Option(help="One event as a JSON object; repeatable.")
    ] = None,
    file: Annotated[
        str | None, typer.Option(help="JSON lines, one event each; '-' for stdin.")
    ] = None,
    api: Annotated[str, typer.Option(help="pubsub (PublishStream) or rest (sObject POST).")] = (
        "pubsub"
    ),
    alias: Annotated[
        str | None, typer.Option(help="A logged-in org (salesforce-typed login --alias).")
    ] = None,
    batch_size: Annotated[
        int, typer.Option(help=f"Events per PublishRequest (1..{MAX_BATCH}).")
    ] = MAX_BATCH,
    api_version: Annotated[str, typer.Option(help="REST API version.")] = "62.0",
    pubsub_target: PubSubTargetOption = None,
) -> None:
    """Publish platform events (JSON) and print each one's replay id or error."""
    from salesforce_typed.core.errors import UsageError

    try:
        name = event_name(topic)
        if api not in ("pubsub", "rest"):
            raise ValueError(f"--api takes pubsub or rest, not {api!r}")
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"--batch-size takes 1..{MAX_BATCH}, not {batch_size}")
        if data and file is not None:
            raise ValueError("give events with --data or --file, not both")
        if data:
            lines: Iterable[str] = ()
        elif file is None or file == "-":
            lines = sys.stdin.read().splitlines()
        else:
            lines = Path(file).read_text(encoding="utf-8").splitlines()
        events = parse_events(data or (), lines)
        if not events:
            raise ValueError("no events given (--data, --file or stdin)")
        auth, instance_url, store = _connection(alias)
    except (ValueError, UsageError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    target = pubsub_target_or_default(pubsub_target)

    async def run() -> bool:
        from salesforce_typed import AsyncSalesforce

        async with AsyncSalesforce(
            auth=auth,
            instance_url=instance_url,
            api_version=api_version,
            verify=os.environ.get("SF_CA_FILE") or True,
            token_store=store,
        ) as sf:
            if api == "rest":
                return await _over_rest(sf, name, events)
            return await _over_pubsub(sf, target, f"/event/{name}", events, batch_size)

    try:
        ok = asyncio.run(run())
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Exception as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if not ok:
        raise typer.Exit(1)
