"""Section 3: under Refresh Token Rotation, a token store that loses its data costs nothing.

A client refreshes twice on a store, so the grant's seed refresh token is long spent. Then
the store loses its data:
- with Redis answering at 127.0.0.1:6379, this demo's keys (token and data-loss marker) are
  deleted, which is what a restart without AOF persistence does to every key; the machine's
  Redis itself is not restarted. The store notices its marker is gone;
- otherwise a `MemoryTokenStore` is emptied, standing in for the same loss.
The sessions expire (`/_admin/expire-sessions`), and the next call must refresh with the
newest rotated token, which the auth flow writes back to the empty store (a warning says
so), never with the seed: presenting a spent token revokes the whole family at Salesforce.

What must stay true: the evidence printed is checked (one refresh_token call, no
`invalid_grant`, the store ends with a token newer than the one it lost).
"""

from __future__ import annotations

import logging
import ssl
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from rich.console import Console

from salesforce_typed.auth.token import TokenStore, fingerprint
from salesforce_typed.demo.output import check, say

REDIS_URL = "redis://127.0.0.1:6379/0"


class _Warnings(logging.Handler):
    """The auth flow's and the stores' warnings (they carry keys and versions, no tokens)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _store() -> Iterator[tuple[TokenStore, str, Callable[[str], None]]]:
    """(store, what it is, how it loses its data): Redis when it answers, else memory."""
    try:
        import redis

        probe = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.3, socket_timeout=0.3)
        with probe:
            probe.ping()
    except Exception:  # not installed, not running, not answering: the in-memory stand-in
        from salesforce_typed.stores.memory import MemoryTokenStore

        memory = MemoryTokenStore()
        yield memory, "MemoryTokenStore (no Redis at 127.0.0.1:6379)", memory.clear_token_data
        return
    from salesforce_typed.stores.redis import RedisTokenStore

    prefix = f"sf-demo-{uuid.uuid4().hex[:8]}"
    admin = redis.Redis.from_url(REDIS_URL, socket_timeout=2)

    def lose(key: str = "") -> None:  # every key of the prefix, as a restart would
        keys = list(admin.scan_iter(f"{prefix}:*"))
        if keys:
            admin.delete(*keys)

    store = RedisTokenStore(REDIS_URL, prefix=prefix)
    try:
        yield store, f"RedisTokenStore at 127.0.0.1:6379 (prefix {prefix})", lose
    finally:
        lose()  # leave nothing behind in the machine's Redis
        store.close()
        admin.close()


def _lost_how(what: str) -> str:
    if what.startswith("Redis"):
        return "this demo's Redis keys deleted, as a restart without AOF loses every key"
    return "the in-memory store emptied, as a restart of a store without persistence would"


def rotation_tour(console: Console, creds: dict[str, str], verify: ssl.SSLContext) -> None:
    from salesforce_typed import RefreshTokenGrant, Salesforce, SalesforceAuth

    base = creds["instance_url"]
    admin = httpx.Client(base_url=base, verify=verify, timeout=30)
    config = admin.post("/_admin/config", json={"refresh_token_rotation": True}).json()
    check(config["refresh_token_rotation"] is True, "rotation on")
    seed = creds["refresh_token"]
    grant = RefreshTokenGrant(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=seed,
        token_url=creds["token_url"],
    )
    warnings = _Warnings()
    logger = logging.getLogger("salesforce_typed")
    logger.addHandler(warnings)
    try:
        with (
            _store() as (store, what, lose),
            Salesforce(auth=grant, token_store=store, verify=verify) as sf,
        ):
            auth = sf.connection.auth
            assert isinstance(auth, SalesforceAuth)
            sf.limits()  # the first token: the seed is spent
            admin.post("/_admin/expire-sessions")
            sf.limits()  # one more rotation
            held = store.get_token_data(auth.key)
            check(held is not None, "the store holds the rotated token")
            assert held is not None
            say(
                console,
                f"Refresh Token Rotation on; store: {what}; seed {fingerprint(seed)} spent, "
                f"store holds {fingerprint(held.refresh_token)} (version {held.version})",
            )
            lose(auth.key)
            gone = store.get_token_data(auth.key)
            say(console, f"the store loses its data ({_lost_how(what)}): it now holds {gone}")
            check(gone is None, "the store lost its token")
            calls = admin.get("/_admin/token-calls").json().get("refresh_token", 0)
            admin.post("/_admin/expire-sessions")
            sf.limits()  # 401 INVALID_SESSION_ID → refresh with the newest token, not the seed
            after = store.get_token_data(auth.key)
            spent = admin.get("/_admin/token-calls").json().get("refresh_token", 0) - calls
            detected = getattr(store, "data_loss_detected", None)
    finally:
        logger.removeHandler(warnings)
    check(after is not None, "the store holds a token again")
    assert after is not None
    for message in warnings.messages:
        say(console, f"[yellow]warning:[/] {message}")
    check(any("writing back the newer token" in m for m in warnings.messages), "write-back")
    fresh = after.refresh_token not in (seed, held.refresh_token)
    say(
        console,
        f"sessions expired → next call refreshed with {fingerprint(held.refresh_token)} "
        f"(written back), never the seed: {spent} refresh_token call, no invalid_grant; "
        f"store now {fingerprint(after.refresh_token)} (version {after.version}), "
        f"rotated again: {fresh}"
        + ("" if detected is None else f"; Redis data loss detected: {detected}"),
    )
    check(spent == 1 and fresh, "one refresh with the newest token")
    # For contrast: the seed presented now is a spent token. Salesforce refuses it and
    # revokes the whole family (this section's client only; the alias's is another family).
    refused = httpx.post(
        creds["token_url"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": seed,
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
        verify=verify,
    ).json()
    admin.close()
    say(
        console,
        f"had it refreshed with the seed instead: {refused.get('error')} "
        f"({refused.get('error_description')}), and the whole token family revoked",
    )
    check(refused.get("error") == "invalid_grant", "the seed is refused")
