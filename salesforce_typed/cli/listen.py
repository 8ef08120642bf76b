"""`salesforce-typed listen CHANNEL`: one JSON line per event on stdout, diagnostics on stderr.

The connection comes from the environment, checked in this order (explicit, no guessing
between half-set variables): SF_INSTANCE_URL + SF_ACCESS_TOKEN; SF_REFRESH_TOKEN (+
SF_CLIENT_ID, SF_CLIENT_SECRET, SF_TOKEN_URL); SF_USERNAME + SF_PASSWORD (+ SF_CLIENT_ID,
SF_CLIENT_SECRET, SF_SECURITY_TOKEN, SF_TOKEN_URL). SF_CA_FILE trusts a private CA. Tokens are
kept in the file store (`FileTokenStore()`; SF_TOKEN_STORE=memory opts out), so a rotated refresh
token outlives the process.

`--api pubsub` subscribes over the gRPC Pub/Sub API with the same handlers and output; its
endpoint is `--pubsub-target`, else SF_PUBSUB_URL (what `fake-org serve --env-file` writes),
else Salesforce's `api.pubsub.salesforce.com:7443`.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from salesforce_typed.cli.app import app

if TYPE_CHECKING:
    from salesforce_typed.auth.grants import AccessTokenAuth, TokenGrant


def _listen_auth_from_env() -> tuple[TokenGrant | AccessTokenAuth, str | None]:
    """(grant, instance_url) from the environment; secrets never reach a message."""
    from salesforce_typed.auth.grants import (
        LOGIN_TOKEN_URL,
        AccessTokenAuth,
        PasswordGrant,
        RefreshTokenGrant,
    )

    env = os.environ
    token_url = env.get("SF_TOKEN_URL") or LOGIN_TOKEN_URL
    instance_url = env.get("SF_INSTANCE_URL") or None
    if env.get("SF_ACCESS_TOKEN"):
        if not instance_url:
            raise ValueError("SF_ACCESS_TOKEN needs SF_INSTANCE_URL")
        return AccessTokenAuth(access_token=env["SF_ACCESS_TOKEN"], instance_url=instance_url), None
    if env.get("SF_REFRESH_TOKEN"):
        if not env.get("SF_CLIENT_ID"):
            raise ValueError("SF_REFRESH_TOKEN needs SF_CLIENT_ID (and usually SF_CLIENT_SECRET)")
        grant: TokenGrant = RefreshTokenGrant(
            client_id=env["SF_CLIENT_ID"],
            client_secret=env.get("SF_CLIENT_SECRET") or None,
            refresh_token=env["SF_REFRESH_TOKEN"],
            token_url=token_url,
        )
        return grant, instance_url
    if env.get("SF_USERNAME") and env.get("SF_PASSWORD"):
        if not env.get("SF_CLIENT_ID") or not env.get("SF_CLIENT_SECRET"):
            raise ValueError("SF_USERNAME/SF_PASSWORD need SF_CLIENT_ID and SF_CLIENT_SECRET")
        grant = PasswordGrant(
            client_id=env["SF_CLIENT_ID"],
            client_secret=env["SF_CLIENT_SECRET"],
            username=env["SF_USERNAME"],
            password=env["SF_PASSWORD"],
            security_token=env.get("SF_SECURITY_TOKEN", ""),
            token_url=token_url,
        )
        return grant, instance_url
    raise ValueError(
        "no Salesforce connection in the environment: set SF_INSTANCE_URL and SF_ACCESS_TOKEN, "
        "or SF_CLIENT_ID/SF_CLIENT_SECRET/SF_REFRESH_TOKEN/SF_TOKEN_URL, "
        "or SF_USERNAME/SF_PASSWORD with SF_CLIENT_ID/SF_CLIENT_SECRET"
    )


_DEFAULT_PUBSUB_TARGET = "api.pubsub.salesforce.com:7443"  # pubsub.DEFAULT_TARGET, no grpc import
# `--pubsub-target`, shared by `listen` and `publish`.
PubSubTargetOption = Annotated[
    str | None,
    typer.Option(help="Pub/Sub host:port [SF_PUBSUB_URL, else api.pubsub.salesforce.com:7443]."),
]


def pubsub_target_or_default(given: str | None) -> str:
    """`--pubsub-target`, else SF_PUBSUB_URL, else Salesforce's endpoint."""
    return given or os.environ.get("SF_PUBSUB_URL") or _DEFAULT_PUBSUB_TARGET


def _api(name: str) -> Literal["cometd", "pubsub"]:
    if name.lower() == "pubsub":
        return "pubsub"
    if name.lower() == "cometd":
        return "cometd"
    raise ValueError(f"--api takes cometd or pubsub, not {name!r}")


@app.command()
def listen(
    channel: Annotated[str, typer.Argument(help="/data/AccountChangeEvent, /event/X__e, ...")],
    replay: Annotated[
        int, typer.Option(help="-1: new events only, -2: all retained, N: events after N.")
    ] = -1,
    max_events: Annotated[
        int | None, typer.Option(help="Exit after this many events (for scripts and tests).")
    ] = None,
    fallback: Annotated[
        str, typer.Option(help="When the replay id is gone: earliest, tip or stop.")
    ] = "earliest",
    api_version: Annotated[str, typer.Option(help="API version of /cometd/NN.0.")] = "62.0",
    api: Annotated[
        str, typer.Option(help="cometd (Streaming API) or pubsub (gRPC Pub/Sub API).")
    ] = "cometd",
    pubsub_target: PubSubTargetOption = None,
) -> None:
    """Print the events of one channel as JSON lines (connection from SF_* variables)."""
    import json
    import logging
    import sys

    from salesforce_typed import AsyncSalesforce
    from salesforce_typed.stores.file import default_token_store
    from salesforce_typed.streaming import ReplayFallback, StreamEvent

    try:
        choice = {"earliest": ReplayFallback.EARLIEST, "tip": ReplayFallback.TIP}
        chosen = choice.get(fallback.lower(), ReplayFallback.STOP)
        if fallback.lower() not in (*choice, "stop"):
            raise ValueError(f"--fallback takes earliest, tip or stop, not {fallback!r}")
        chosen_api = _api(api)
        target = pubsub_target_or_default(pubsub_target)
        auth, instance_url = _listen_auth_from_env()
        store = default_token_store()  # a UsageError (a ValueError) for a bad SF_TOKEN_STORE
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s"
    )
    count = 0

    async def run() -> None:
        # The listener shares the client's token, pool and TLS setting (SF_CA_FILE).
        async with AsyncSalesforce(
            auth=auth,
            instance_url=instance_url,
            api_version=api_version,
            verify=os.environ.get("SF_CA_FILE") or True,
            token_store=store,
        ) as sf:
            listener = sf.listener(
                replay_fallback=chosen,
                on_error=lambda e: typer.echo(f"warning: {type(e).__name__}: {e}", err=True),
                api=chosen_api,
                pubsub_target=target,
            )

            def show(event: StreamEvent) -> None:
                nonlocal count
                print(json.dumps(event.to_json(), default=str), flush=True)
                count += 1
                if max_events is not None and count >= max_events:
                    listener.stop()

            listener.channel(channel, replay=replay, on_message=show)
            await listener.run()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Exception as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
