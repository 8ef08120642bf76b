"""`RedisTokenStore`: tokens, the refresh lock, leader leases and checkpoints in Redis.

Replicas that share a refresh token must refresh one at a time (Refresh Token Rotation revokes
the whole token family when a rotated-out token is presented), and CDC listeners must elect one
leader per subscription. Both need atomic server-side decisions, so every operation is one Lua
script (the lock's is a bare `SET NX PX`) and Redis serialises them.

Keys, under `prefix` (default `salesforce-typed`):

    <prefix>:lock:<key>            the refresh lock: `SET owner NX PX ttl`, gone when it expires
    <prefix>:token:<key>           hash {version, data}: data is `TokenData.to_dict()` as JSON
    <prefix>:lease:<name>          hash {owner, epoch, expires_ms}: no TTL, so the epoch survives
    <prefix>:checkpoint:<channel>  the last replay id the leader recorded: an int as its decimal
                                   digits (as ever), bytes as `x` + lowercase hex
    <prefix>:marker                a random id set by the first token write: see below

Persistence: the rotated refresh token lives only here, and a Redis that forgets it (restart
without persistence, failover to an empty replica, eviction) forces every replica back to an
older token, which Salesforce answers by revoking the whole token family. Run Redis with AOF
(`appendonly yes`, `appendfsync everysec` or better `always`) and `maxmemory-policy
noeviction`. RDB snapshots alone lose the writes since the last snapshot.

Data loss is detected, not prevented: the first token write creates `<prefix>:marker` and
every token read or write returns it. A store that has seen the marker and then finds it gone
or different knows Redis lost its data: it logs a warning, sets `data_loss_detected` and calls
`on_data_loss`, so the auth flow can write its newer token back instead of trusting the store.

Faults: every call is bounded by `operation_timeout_s`. Connects and replies each wait at most
half of it, and a call whose connection broke (`ConnectionError`: reset, closed, refused) is
tried once more on a fresh connection when the other half remains. A timeout is not retried:
a server that does not answer in half the bound will not answer in the other half. redis-py's
own retries are turned off in the clients the store builds, so they cannot stretch the bound.

What must stay true:
- Token writes compare the stored `version` field exactly (string compare in Lua, never a float).
- Lease expiry is judged on the Redis server's clock (`TIME`), never a replica's.
- `write_checkpoint` reads the lease and writes the checkpoint in one script: a takeover cannot
  slip between the fence check and the write. (Both keys in one script: not for Redis Cluster.)
- Replaying any script is harmless, because a call whose connection failed is retried,
  possibly after Redis ran it, and nothing applies twice. A replayed CAS finds its own data
  at its own version and reports success (the token is stored: saying False would make the
  caller drop a rotated token that is in fact the store's newest); a replayed renew extends
  again; a replayed lock or takeover finds its own effect and reports a refusal (the caller
  waits or re-reads).
- Redis errors surface as `TokenStoreError` naming the operation and the server, never a token
  or a password; the driver's exception is not chained because its text is not ours to vet.

Sync methods use `redis.Redis`, async ones `redis.asyncio.Redis`. Built from a URL, the store
owns both clients and `close()`/`aclose()` release them; the asyncio client is created on the
first async call and bound to that event loop (asyncio connections cannot move between loops).
Built from a sync client, async methods run it in a worker thread; built from an asyncio
client, sync methods are refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio
import redis.asyncio.retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript, Script
from redis.retry import Retry

from salesforce_typed.auth.token import TokenData
from salesforce_typed.core.errors import TokenStoreError, UsageError
from salesforce_typed.stores.base import Lease, ReplayPosition, check_replay_position

__all__ = ["RedisTokenStore"]

logger = logging.getLogger("salesforce_typed.stores")

# KEYS[1] lock key; ARGV owner, ttl ms, replay flag. The brief's `SET key owner NX PX ttl`, as
# a script so every operation shares one call path. Not re-entrant, except for the retry of
# a call whose connection broke ('1'): finding itself the owner, that attempt went through.
_ACQUIRE_LOCK = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if ARGV[3] == '1' and redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS[1] lock key; ARGV owner. Compare-and-delete: an expired owner must not free a new lock.
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS[1] lock key; ARGV owner, ttl ms. Extends only the owner's live lock: Redis has already
# dropped an expired one, so GET sees nothing and a lapsed holder learns it must stop.
_RENEW_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS[1] token key, KEYS[2] marker. Returns {data, marker}: false (nil) where absent.
_GET_TOKEN = "return {redis.call('HGET', KEYS[1], 'data'), redis.call('GET', KEYS[2])}"

# KEYS[1] token key, KEYS[2] marker; ARGV expected version ('' = only if absent), new version,
# JSON data, a fresh marker, replay flag. Returns {1 or 0, marker}. The retry of a call whose
# connection broke ('1') that finds exactly its data at its version went through: done.
_SET_TOKEN = """
local stored = redis.call('HGET', KEYS[1], 'version')
local ok = 0
if (ARGV[1] == '' and not stored) or (ARGV[1] ~= '' and stored == ARGV[1]) then
  redis.call('HSET', KEYS[1], 'version', ARGV[2], 'data', ARGV[3])
  ok = 1
elseif ARGV[5] == '1' and stored == ARGV[2] and redis.call('HGET', KEYS[1], 'data') == ARGV[3] then
  ok = 1
end
local marker = redis.call('GET', KEYS[2])
if ok == 1 and not marker then
  redis.call('SET', KEYS[2], ARGV[4])
  marker = ARGV[4]
end
return {ok, marker}
"""

_DELETE = "return redis.call('DEL', KEYS[1])"

# Lease scripts read the server clock. Redis 7 replicates script effects by default; older
# servers need replicate_commands() before a write may follow TIME.
_NOW_MS = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS[1] lease; ARGV owner, ttl ms. Returns {epoch, expires_ms} or nil while held.
_TRY_ACQUIRE_LEASE = (
    _NOW_MS
    + """
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch', 'expires_ms')
if cur[1] and tonumber(cur[3]) > now then return nil end
local epoch = (tonumber(cur[2]) or 0) + 1
local expires = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'epoch', string.format('%d', epoch),
  'expires_ms', string.format('%d', expires))
return {epoch, expires}
"""
)

# KEYS[1] lease; ARGV owner, epoch, ttl ms. Works after a lapse nobody took over (see base.py).
_RENEW_LEASE = (
    _NOW_MS
    + """
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'expires_ms', string.format('%d', now + tonumber(ARGV[3])))
return 1
"""
)

# KEYS[1] lease; ARGV owner, epoch. Keeps the epoch so the next holder gets epoch + 1.
_RELEASE_LEASE = """
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], 'owner')
redis.call('HSET', KEYS[1], 'expires_ms', '0')
return 1
"""

# KEYS[1] lease, KEYS[2] checkpoint; ARGV epoch, encoded replay id (`_encode_checkpoint`).
# The epoch fence.
_WRITE_CHECKPOINT = """
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if not cur[1] or cur[2] ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
"""

_GET = "return redis.call('GET', KEYS[1])"

_SCRIPTS = {
    "acquire_lock": _ACQUIRE_LOCK,
    "release_lock": _RELEASE_LOCK,
    "renew_lock": _RENEW_LOCK,
    "get_token_data": _GET_TOKEN,
    "set_token_data": _SET_TOKEN,
    "clear_token_data": _DELETE,
    "try_acquire_lease": _TRY_ACQUIRE_LEASE,
    "renew_lease": _RENEW_LEASE,
    "release_lease": _RELEASE_LEASE,
    "write_checkpoint": _WRITE_CHECKPOINT,
    "read_checkpoint": _GET,
}

_Args = Sequence[str]


def _ttl_ms(ttl_s: float) -> str:
    """PX/lease TTLs in whole milliseconds, rounded up so a tiny TTL never becomes 0."""
    if ttl_s <= 0:
        raise UsageError(f"TTL must be positive, got {ttl_s}")
    return str(max(1, math.ceil(ttl_s * 1000)))


def _text(value: object) -> str | None:
    """A reply as text, whether or not the client was built with `decode_responses`."""
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _parse_token(raw: object) -> TokenData | None:
    text = _text(raw)
    if text is None:
        return None
    try:
        return TokenData.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError):
        # Not chained, not quoted: the value holds the secrets.
        raise TokenStoreError("Redis token store: a stored token is unreadable") from None


# Scripts whose last argument is the replay flag ('0', or '1' on the retry of a call whose
# connection broke): they recognise their own effect instead of refusing it.
_FLAGGED = frozenset({"acquire_lock", "set_token_data"})


def _replay(op: str, args: _Args) -> _Args:
    return [*args[:-1], "1"] if op in _FLAGGED else args


def _split_marked(reply: object) -> tuple[object, str | None]:
    """A token script's `{result, marker}` reply as (result, marker or None)."""
    if not isinstance(reply, list) or len(reply) != 2:
        raise TokenStoreError("Redis token store: unexpected reply from a token script")
    return reply[0], _text(reply[1])


def _parse_lease(owner: str, reply: object) -> Lease | None:
    if not isinstance(reply, list):
        return None  # nil: someone holds an unexpired lease
    epoch, expires_ms = (int(v) for v in reply)
    return Lease(owner=owner, epoch=epoch, expires_at=expires_ms / 1000)


def _encode_checkpoint(replay_id: ReplayPosition) -> str:
    """A checkpoint as stored: an int's decimal digits (what earlier versions wrote, so their
    keys still read as ints), bytes as `x` + hex. A decimal never starts with `x`, and hex is
    ASCII, so clients built with `decode_responses` read both kinds."""
    value = check_replay_position(replay_id)
    return f"x{value.hex()}" if isinstance(value, bytes) else str(value)


def _parse_checkpoint(raw: object) -> ReplayPosition | None:
    text = _text(raw)
    if text is None:
        return None
    try:
        return bytes.fromhex(text[1:]) if text.startswith("x") else int(text)
    except ValueError:
        raise TokenStoreError("Redis token store: a stored checkpoint is unreadable") from None


def _describe_url(url: str) -> tuple[str, tuple[str, ...]]:
    """`host:port/db` for messages, and the URL's password to scrub from driver errors.

    Raises ValueError on a malformed URL (whose message may quote it: callers must not).
    """
    parts = urlsplit(url)
    secrets = (parts.password,) if parts.password else ()
    db = parts.path.lstrip("/") or "0"
    where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}/{db}"
    return (f"unix:{parts.path}" if parts.scheme == "unix" else where), secrets


def _describe_client(client: redis.Redis | redis.asyncio.Redis) -> tuple[str, tuple[str, ...]]:
    kwargs: dict[str, Any] = getattr(client.connection_pool, "connection_kwargs", {})
    secret = kwargs.get("password")
    where = f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
    if "path" in kwargs:
        where = f"unix:{kwargs['path']}"
    return where, (str(secret),) if secret else ()


class RedisTokenStore:
    """`TokenStore` and `LeaseStore` on one Redis server; thread-safe.

    Redis must keep what it is told: run it with AOF persistence (`appendonly yes` and
    `appendfsync everysec`, or `always` to lose nothing on a crash) and `maxmemory-policy
    noeviction`. Without it a restart forgets the newest refresh token; the store then
    detects the loss (`data_loss_detected`, `on_data_loss`, a warning) but cannot undo it.

    `target` is a `redis://` / `rediss://` / `unix://` URL, or a client you own (the store never
    closes it, nor changes its retry settings). No call takes longer than `operation_timeout_s`
    (plus scheduling): a dead or unresponsive server fails the call with `TokenStoreError`
    instead of hanging the refresh. `on_data_loss` is called (from the calling thread, once per
    loss) when the store finds Redis has lost the data it saw before.
    """

    def __init__(
        self,
        target: str | redis.Redis | redis.asyncio.Redis,
        *,
        prefix: str = "salesforce-typed",
        operation_timeout_s: float = 5.0,
        on_data_loss: Callable[[], None] | None = None,
    ) -> None:
        if not prefix or any(c.isspace() for c in prefix):
            raise UsageError("prefix must be a non-empty string without whitespace")
        if operation_timeout_s <= 0:
            raise UsageError(f"operation_timeout_s must be positive, got {operation_timeout_s}")
        self._prefix = prefix
        self._timeout_s = operation_timeout_s
        self._attempt_timeout_s = operation_timeout_s / 2
        self._on_data_loss = on_data_loss
        self._marker: str | None = None
        self._marker_lock = threading.Lock()
        self._data_loss_detected = False
        self._url: str | None = None
        self._sync: redis.Redis | None = None
        self._async: redis.asyncio.Redis | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._sync_scripts: dict[str, Script] = {}
        self._async_scripts: dict[str, AsyncScript] = {}
        if isinstance(target, str):
            try:
                self._where, self._secrets = _describe_url(target)
                self._sync = redis.Redis.from_url(
                    target,
                    socket_timeout=self._attempt_timeout_s,
                    socket_connect_timeout=self._attempt_timeout_s,
                    retry=Retry(NoBackoff(), 0),  # ours: one retry, within the bound
                )
            except ValueError:  # its message may quote the URL, password included
                raise TokenStoreError("invalid Redis URL for RedisTokenStore") from None
            self._url = target
        elif isinstance(target, redis.asyncio.Redis):
            self._where, self._secrets = _describe_client(target)
            self._async = target
        else:
            self._where, self._secrets = _describe_client(target)
            self._sync = target
        self._owns_clients = self._url is not None

    # --- plumbing: one sync and one async path for every operation -------------------------

    def _error(self, op: str, exc: Exception) -> TokenStoreError:
        detail = str(exc)
        for secret in self._secrets:
            detail = detail.replace(secret, "***")
        return TokenStoreError(
            f"Redis token store at {self._where}: {op} failed ({type(exc).__name__}: {detail})"
        )

    def _run(self, op: str, keys: Sequence[str], args: _Args) -> object:
        """Run one script; a broken connection is retried once, flagged as a replay."""
        if self._sync is None:
            raise TokenStoreError(
                f"RedisTokenStore({self._where}) was built on an asyncio client: "
                f"use the async method for {op}, or build the store from a URL"
            )
        script = self._sync_scripts.get(op)
        if script is None:
            script = self._sync_scripts[op] = self._sync.register_script(_SCRIPTS[op])
        deadline = time.monotonic() + self._timeout_s
        while True:
            try:
                reply: object = script(keys=keys, args=args)
                return reply
            except redis.ConnectionError as exc:
                if not self._may_retry(op, exc, deadline - time.monotonic()):
                    raise self._error(op, exc) from None
                deadline = time.monotonic()  # one retry: the next failure is final
                args = _replay(op, args)
            except redis.RedisError as exc:
                raise self._error(op, exc) from None

    def _may_retry(self, op: str, exc: redis.ConnectionError, remaining_s: float) -> bool:
        """Retry once on a fresh connection: the pool drops the broken one. Not after bad
        credentials (they stay bad), nor when the retry could outlast the bound."""
        if isinstance(exc, redis.AuthenticationError) or remaining_s < self._attempt_timeout_s:
            return False
        logger.info(
            "Redis token store at %s: %s lost its connection (%s); retrying once",
            self._where,
            op,
            type(exc).__name__,
        )
        return True

    def _async_client(self, op: str) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        if self._async is None:
            assert self._url is not None
            self._async = redis.asyncio.Redis.from_url(
                self._url,
                socket_timeout=self._attempt_timeout_s,
                socket_connect_timeout=self._attempt_timeout_s,
                retry=redis.asyncio.retry.Retry(NoBackoff(), 0),
            )
            self._async_loop = loop
            self._async_scripts.clear()
        elif self._owns_clients and self._async_loop is not loop:
            raise TokenStoreError(
                f"RedisTokenStore({self._where}): {op} called from another event loop than "
                "the one its asyncio client belongs to; await aclose() on that loop first "
                "or use one store per loop"
            )
        return self._async

    async def _arun(self, op: str, keys: Sequence[str], args: _Args) -> object:
        if self._async is None and self._url is None:
            # Built on a sync client: run it off the event loop.
            return await asyncio.to_thread(self._run, op, keys, args)
        client = self._async_client(op)
        script = self._async_scripts.get(op)
        if script is None:
            script = self._async_scripts[op] = client.register_script(_SCRIPTS[op])
        loop = asyncio.get_running_loop()
        deadline = retry_until = loop.time() + self._timeout_s
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    areply: object = await script(keys=keys, args=args)
                return areply
            except redis.ConnectionError as exc:
                if not self._may_retry(op, exc, retry_until - loop.time()):
                    raise self._error(op, exc) from None
                retry_until = loop.time()
                args = _replay(op, args)
            except redis.RedisError as exc:
                raise self._error(op, exc) from None
            except TimeoutError:
                raise TokenStoreError(
                    f"Redis token store at {self._where}: {op} failed "
                    f"(no answer within {self._timeout_s:g}s)"
                ) from None

    def _key(self, kind: str, name: str) -> str:
        return f"{self._prefix}:{kind}:{name}"

    def _token_keys(self, key: str) -> list[str]:
        return [self._key("token", key), f"{self._prefix}:marker"]

    def _set_args(
        self, key: str, data: TokenData, expected_version: int | None
    ) -> tuple[list[str], list[str]]:
        expected = "" if expected_version is None else str(expected_version)
        payload = json.dumps(data.to_dict(), separators=(",", ":"))
        args = [expected, str(data.version), payload, uuid.uuid4().hex, "0"]
        return self._token_keys(key), args

    def _observe(self, reply: object) -> object:
        """Check a token script's marker against the one seen before; return its result."""
        result, marker = _split_marked(reply)
        with self._marker_lock:
            lost = self._marker is not None and marker != self._marker
            self._marker = marker  # None after a loss: the next write's marker is adopted
            if lost:
                self._data_loss_detected = True
        if lost:
            logger.warning(
                "Redis lost its data: the token store needs persistence (AOF). "
                "Redis at %s (prefix %r) no longer holds the marker this process saw (%s); "
                "tokens stored before are gone. Run Redis with appendonly yes.",
                self._where,
                self._prefix,
                "it was replaced" if marker is not None else "it is missing",
            )
            if self._on_data_loss is not None:
                self._on_data_loss()
        return result

    @property
    def data_loss_detected(self) -> bool:
        """True once this store has seen Redis lose the token data it had before."""
        return self._data_loss_detected

    def _checkpoint_args(
        self, channel: str, replay_id: ReplayPosition, lease_name: str, epoch: int
    ) -> tuple[list[str], list[str]]:
        keys = [self._key("lease", lease_name), self._key("checkpoint", channel)]
        return keys, [str(epoch), _encode_checkpoint(replay_id)]

    # --- TokenStore ---------------------------------------------------------------------------

    def acquire_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        args = [owner, _ttl_ms(ttl_s), "0"]
        return self._run("acquire_lock", [self._key("lock", key)], args) == 1

    def release_lock(self, key: str, owner: str) -> bool:
        return self._run("release_lock", [self._key("lock", key)], [owner]) == 1

    def renew_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        return self._run("renew_lock", [self._key("lock", key)], [owner, _ttl_ms(ttl_s)]) == 1

    def get_token_data(self, key: str) -> TokenData | None:
        return _parse_token(self._observe(self._run("get_token_data", self._token_keys(key), [])))

    def set_token_data(self, key: str, data: TokenData, *, expected_version: int | None) -> bool:
        reply = self._run("set_token_data", *self._set_args(key, data, expected_version))
        return self._observe(reply) == 1

    def clear_token_data(self, key: str) -> None:
        self._run("clear_token_data", [self._key("token", key)], [])

    async def aacquire_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        args = [owner, _ttl_ms(ttl_s), "0"]
        return await self._arun("acquire_lock", [self._key("lock", key)], args) == 1

    async def arelease_lock(self, key: str, owner: str) -> bool:
        return await self._arun("release_lock", [self._key("lock", key)], [owner]) == 1

    async def arenew_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        args = [owner, _ttl_ms(ttl_s)]
        return await self._arun("renew_lock", [self._key("lock", key)], args) == 1

    async def aget_token_data(self, key: str) -> TokenData | None:
        reply = await self._arun("get_token_data", self._token_keys(key), [])
        return _parse_token(self._observe(reply))

    async def aset_token_data(
        self, key: str, data: TokenData, *, expected_version: int | None
    ) -> bool:
        keys, args = self._set_args(key, data, expected_version)
        return self._observe(await self._arun("set_token_data", keys, args)) == 1

    async def aclear_token_data(self, key: str) -> None:
        await self._arun("clear_token_data", [self._key("token", key)], [])

    # --- LeaseStore ---------------------------------------------------------------------------

    def try_acquire_lease(self, name: str, owner: str, ttl_s: float) -> Lease | None:
        args = [owner, _ttl_ms(ttl_s)]
        return _parse_lease(owner, self._run("try_acquire_lease", [self._key("lease", name)], args))

    def renew_lease(self, name: str, owner: str, epoch: int, ttl_s: float) -> bool:
        args = [owner, str(epoch), _ttl_ms(ttl_s)]
        return self._run("renew_lease", [self._key("lease", name)], args) == 1

    def release_lease(self, name: str, owner: str, epoch: int) -> bool:
        return self._run("release_lease", [self._key("lease", name)], [owner, str(epoch)]) == 1

    def write_checkpoint(
        self, channel: str, replay_id: ReplayPosition, *, lease_name: str, epoch: int
    ) -> bool:
        keys, args = self._checkpoint_args(channel, replay_id, lease_name, epoch)
        return self._run("write_checkpoint", keys, args) == 1

    def read_checkpoint(self, channel: str) -> ReplayPosition | None:
        return _parse_checkpoint(
            self._run("read_checkpoint", [self._key("checkpoint", channel)], [])
        )

    async def atry_acquire_lease(self, name: str, owner: str, ttl_s: float) -> Lease | None:
        args = [owner, _ttl_ms(ttl_s)]
        reply = await self._arun("try_acquire_lease", [self._key("lease", name)], args)
        return _parse_lease(owner, reply)

    async def arenew_lease(self, name: str, owner: str, epoch: int, ttl_s: float) -> bool:
        args = [owner, str(epoch), _ttl_ms(ttl_s)]
        return await self._arun("renew_lease", [self._key("lease", name)], args) == 1

    async def arelease_lease(self, name: str, owner: str, epoch: int) -> bool:
        args = [owner, str(epoch)]
        return await self._arun("release_lease", [self._key("lease", name)], args) == 1

    async def awrite_checkpoint(
        self, channel: str, replay_id: ReplayPosition, *, lease_name: str, epoch: int
    ) -> bool:
        keys, args = self._checkpoint_args(channel, replay_id, lease_name, epoch)
        return await self._arun("write_checkpoint", keys, args) == 1

    async def aread_checkpoint(self, channel: str) -> ReplayPosition | None:
        raw = await self._arun("read_checkpoint", [self._key("checkpoint", channel)], [])
        return _parse_checkpoint(raw)

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync client if the store built it. Use `aclose()` after async use."""
        if self._owns_clients and self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        """Close every client the store built; a later async call starts a fresh client."""
        self.close()
        if self._owns_clients and self._async is not None:
            client, self._async, self._async_loop = self._async, None, None
            self._async_scripts.clear()
            await client.aclose()

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._where}, prefix={self._prefix!r})"
