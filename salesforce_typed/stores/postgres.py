"""`PostgresTokenStore`: tokens, the refresh lock, leader leases and checkpoints in PostgreSQL.

For deployments that already run PostgreSQL and would rather not add Redis. Every operation is
one autocommit statement, so PostgreSQL's row locks make each decision atomic:

- the refresh lock is `INSERT ... ON CONFLICT DO UPDATE ... WHERE expired`: a live lock row is
  left alone and the statement returns nothing;
- a token write is `UPDATE ... WHERE version = expected` (or `INSERT ... DO NOTHING` when
  nothing may be stored yet): a concurrent writer re-checks the version after the winner
  commits and matches nothing;
- a lease takeover bumps `epoch` in the same upsert, and a checkpoint write locks the lease row
  `FOR SHARE` while it writes, so a takeover cannot slip between the fence check and the write.

Tables are `<table_prefix>_tokens`, `_locks`, `_leases` and `_checkpoints`, created on first use
under an advisory lock (concurrent `CREATE TABLE IF NOT EXISTS` can otherwise fail on the
catalog's unique index). Expiry is judged on the server's `clock_timestamp()`, never a replica's.
A checkpoint is an int replay id in a `bigint` column (one beyond 64 bits is refused with
`UsageError`) or a bytes one in a `bytea` column; `_checkpoints` tables made before bytes
existed are migrated on first use (see `postgres_sql.py`).

Connections: sync calls reuse a small thread-safe pool of idle connections. Async calls open a
connection per call (an asyncio connection belongs to one event loop, and a store may outlive
loops); built from a connection factory, async calls run the sync path in a worker thread.

Faults: no call takes longer than `operation_timeout_s`, whatever the network does.
- Every session gets `statement_timeout` (half the bound) and `lock_timeout` (a quarter), so
  a slow or lock-blocked server ends the statement itself; DSN connections also get a connect
  timeout and TCP keepalives, so a pooled connection to a vanished host is noticed.
- A server that stops answering altogether (a blackhole: the socket stays open, nothing
  comes back) is beyond those: a sync call arms a timer that shuts the connection's socket
  down at the deadline, an async call runs under `asyncio.timeout_at`. Either way the call
  raises `TokenStoreError` and the connection is discarded.
- A statement whose connection broke (connection lost, refused, server shutdown: no SQLSTATE,
  class 08, 57P01-57P03) is retried once on a fresh connection, after the idle pool is
  emptied (a restart or a cut broke those too). The retry is safe because it recognises its
  own effect: a CAS retry that finds exactly its data at its version reports success (the
  first attempt committed and only the answer was lost); a lock retry finding its own live
  lock takes it again. Other retries are plain replays, harmless as described above.
- libpq counts connect timeouts in whole seconds, at least 2, so a bound below 4 s can be
  overrun by a connect; a retry starts only when at least 2 s remain.

Errors surface as `TokenStoreError` naming the operation and the server, never a token or a
password: server messages can quote statement values, so only connection failures keep theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow, tuple_row

from salesforce_typed.auth.token import TokenData
from salesforce_typed.core.errors import TokenStoreError, UsageError
from salesforce_typed.stores.base import Lease, ReplayPosition, check_replay_position
from salesforce_typed.stores.postgres_sql import DDL as _DDL
from salesforce_typed.stores.postgres_sql import STATEMENTS as _STATEMENTS

__all__ = ["ConnectionFactory", "PostgresTokenStore"]

logger = logging.getLogger("salesforce_typed.stores")

ConnectionFactory = Callable[[], psycopg.Connection[Any]]

_PREFIX_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,47}")

_Rows = list[tuple[Any, ...]]

# Run on every new connection, the store's or a factory's.
_SET_SESSION = (
    "SELECT set_config('statement_timeout', %(statement_timeout)s, false),"
    " set_config('lock_timeout', %(lock_timeout)s, false)"
)

# Idle longer than this, a pooled connection is checked with `SELECT 1` before reuse.
_CHECK_IDLE_AFTER_S = 10.0

# libpq's smallest connect timeout: a retry needs at least this much of the bound left.
_MIN_CONNECT_S = 2

# Keepalives for DSN connections: a pooled connection to a host that vanished is found dead
# within about a minute of idling, not after the kernel's two hours.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10}
_KEEPALIVES_COUNT = 3

# Errors after which the connection is gone and nothing more will come from it: the call may
# be retried on a fresh one. Server errors with any other SQLSTATE are answers, not faults.
_BROKEN_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def _connection_broke(exc: psycopg.Error) -> bool:
    if exc.sqlstate is None:
        return isinstance(exc, psycopg.OperationalError)
    return exc.sqlstate.startswith("08") or exc.sqlstate in _BROKEN_SQLSTATES


class _Deadline:
    """One call's time limit. `guard(conn)` shuts `conn`'s socket down if the limit passes
    while it is in use: the blocked driver then fails at once instead of waiting forever on a
    server that keeps the connection open and answers nothing."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.fired = False

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @contextlib.contextmanager
    def guard(self, conn: psycopg.Connection[Any]) -> Iterator[None]:
        timer = threading.Timer(max(0.0, self.remaining()), self._fire, args=(conn,))
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _fire(self, conn: psycopg.Connection[Any]) -> None:
        self.fired = True
        # A duplicate of the descriptor: shutdown acts on the socket, close on our copy.
        with (
            contextlib.suppress(OSError, psycopg.Error),
            socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock,
        ):
            sock.shutdown(socket.SHUT_RDWR)


def _ttl(ttl_s: float) -> float:
    if ttl_s <= 0:
        raise UsageError(f"TTL must be positive, got {ttl_s}")
    return float(ttl_s)


def _token_params(
    key: str, data: TokenData, expected_version: int | None
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {
        "key": key,
        "version": data.version,
        "data": json.dumps(data.to_dict(), separators=(",", ":")),
        "expected": expected_version,
    }
    op = "create_token_data" if expected_version is None else "update_token_data"
    return op, params


def _parse_token(rows: _Rows) -> TokenData | None:
    if not rows:
        return None
    try:
        return TokenData.from_dict(json.loads(rows[0][0]))
    except (ValueError, KeyError, TypeError):
        # Not chained, not quoted: the row holds the secrets.
        raise TokenStoreError("PostgreSQL token store: a stored token is unreadable") from None


def _parse_lease(owner: str, rows: _Rows) -> Lease | None:
    if not rows:
        return None
    epoch, expires_at = rows[0]
    return Lease(owner=owner, epoch=int(epoch), expires_at=float(expires_at))


_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1


def _checkpoint_params(
    channel: str, replay_id: ReplayPosition, lease_name: str, epoch: int
) -> dict[str, Any]:
    """An int goes to `replay_id`, bytes to `replay_bytes`; the other column is NULL."""
    value = check_replay_position(replay_id)
    if isinstance(value, int) and not _BIGINT_MIN <= value <= _BIGINT_MAX:
        raise UsageError("PostgreSQL keeps an int replay id in a bigint (64-bit signed)")
    as_bytes = isinstance(value, bytes)
    return {
        "channel": channel,
        "replay_id": None if as_bytes else value,
        "replay_bytes": value if as_bytes else None,
        "lease": lease_name,
        "epoch": epoch,
    }


def _parse_checkpoint(rows: _Rows) -> ReplayPosition | None:
    if not rows:
        return None
    replay_id, replay_bytes = rows[0]
    return bytes(replay_bytes) if replay_bytes is not None else int(replay_id)


class _Pool:
    """Idle sync connections handed out one call at a time; thread-safe and fork-aware.

    A connection that raised is closed, not reused: after an error its state is unknown. One
    idle for a while is checked before reuse: refreshes come hours apart, and a server restart
    or a NAT timeout in between must not fail the one call that matters.
    """

    def __init__(
        self, connect: Callable[[_Deadline], psycopg.Connection[TupleRow]], max_idle: int
    ) -> None:
        self._connect = connect
        self._max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: list[tuple[psycopg.Connection[TupleRow], float]] = []
        self._pid = os.getpid()
        self._inherited: list[tuple[psycopg.Connection[TupleRow], float]] = []
        self._closed = False

    def _take(self, deadline: _Deadline) -> psycopg.Connection[TupleRow] | None:
        while True:
            with self._lock:
                if os.getpid() != self._pid:
                    # Forked: these sockets are the parent's sessions. Closing them would end
                    # the parent's sessions too, so keep them unused.
                    self._inherited.extend(self._idle)
                    self._idle.clear()
                    self._pid = os.getpid()
                if not self._idle:
                    return None
                conn, since = self._idle.pop()
            if conn.closed or conn.broken:
                conn.close()
                continue
            if time.monotonic() - since < _CHECK_IDLE_AFTER_S:
                return conn
            try:
                with deadline.guard(conn):
                    conn.execute("SELECT 1")
                return conn
            except psycopg.Error:
                conn.close()

    def _give(self, conn: psycopg.Connection[TupleRow]) -> None:
        idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self._lock:
            if idle and not self._closed and len(self._idle) < self._max_idle:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()

    @contextlib.contextmanager
    def connection(self, deadline: _Deadline) -> Iterator[psycopg.Connection[TupleRow]]:
        conn = self._take(deadline) or self._connect(deadline)
        try:
            with deadline.guard(conn):
                yield conn
        except BaseException:
            conn.close()
            raise
        if deadline.fired:
            conn.close()  # its socket may be shut: never reuse it
        self._give(conn)

    def discard_idle(self) -> None:
        """Close the idle connections: after one broke, the others likely did too."""
        with self._lock:
            if os.getpid() != self._pid:
                return  # the parent's sessions: _take sets them aside
            idle, self._idle = self._idle, []
        for conn, _since in idle:
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn, _since in idle:
            conn.close()


class PostgresTokenStore:
    """`TokenStore` and `LeaseStore` on PostgreSQL (psycopg 3); thread-safe.

    `target` is a libpq DSN (`postgresql://user@host:5432/db` or `key=value` form), or a
    factory returning new `psycopg.Connection`s, which the store then owns and closes.

    No call takes longer than `operation_timeout_s` (see the module docstring for how, and for
    the one libpq caveat): an unreachable, restarting or unresponsive server fails the call
    with `TokenStoreError`. `connect_timeout_s` caps each connect the store makes from a DSN
    (whole seconds; by default half the bound); `connect_timeout`, `keepalives*` and
    `tcp_user_timeout` given in the DSN win over the store's.
    """

    def __init__(
        self,
        target: str | ConnectionFactory,
        *,
        table_prefix: str = "salesforce_typed",
        max_idle_connections: int = 4,
        operation_timeout_s: float = 5.0,
        connect_timeout_s: int | None = None,
    ) -> None:
        if operation_timeout_s <= 0:
            raise UsageError(f"operation_timeout_s must be positive, got {operation_timeout_s}")
        if not _PREFIX_RE.fullmatch(table_prefix):
            raise UsageError(
                "table_prefix must be a plain SQL identifier of at most 48 characters "
                f"(letters, digits, underscores), got {table_prefix!r}"
            )
        self._table_prefix = table_prefix
        self._dsn: str | None = None
        self._secrets: tuple[str, ...] = ()
        self._connect_kwargs: dict[str, Any] = {}
        self._timeout_s = operation_timeout_s
        half = math.ceil(operation_timeout_s / 2)
        self._connect_timeout_s = max(_MIN_CONNECT_S, connect_timeout_s or half)
        self._session = {
            "statement_timeout": f"{max(1, int(operation_timeout_s * 500))}ms",
            "lock_timeout": f"{max(1, int(operation_timeout_s * 250))}ms",
        }
        self._factory: ConnectionFactory | None = None
        if isinstance(target, str):
            try:
                params = conninfo_to_dict(target)
            except psycopg.Error:
                raise TokenStoreError("invalid PostgreSQL DSN for PostgresTokenStore") from None
            self._dsn = target
            self._secrets = tuple(str(params[k]) for k in ("password",) if params.get(k))
            host, port = params.get("host") or "localhost", params.get("port") or 5432
            self._where = f"{host}:{port}/{params.get('dbname') or 'default'}"
            if "connect_timeout" in params:
                self._connect_timeout_s = int(str(params["connect_timeout"]))
            defaults = {
                **_KEEPALIVES,
                "keepalives_count": _KEEPALIVES_COUNT,
                "tcp_user_timeout": int(operation_timeout_s * 1000),
            }
            self._connect_kwargs = {k: v for k, v in defaults.items() if k not in params}
        else:
            self._where = "connection factory"
            self._factory = target
        self._pool = _Pool(self._open, max_idle_connections)
        names = {kind: f"{table_prefix}_{kind}" for kind in ("tokens", "locks", "leases")}
        names["checkpoints"] = f"{table_prefix}_checkpoints"
        self._table_names = tuple(names.values())
        idents = {kind: sql.Identifier(name) for kind, name in names.items()}
        self._ddl = tuple(sql.SQL(ddl).format(**idents) for ddl in _DDL)
        self._sql = {op: sql.SQL(text).format(**idents) for op, text in _STATEMENTS.items()}
        self._ddl_lock_id = int.from_bytes(
            hashlib.sha256(f"salesforce-typed:{table_prefix}".encode()).digest()[:8],
            "big",
            signed=True,
        )
        self._ready = False
        self._ready_lock = threading.Lock()

    @property
    def table_names(self) -> tuple[str, ...]:
        """The four tables this store uses (for operators and test clean-up)."""
        return self._table_names

    # --- plumbing: one sync and one async path for every operation -------------------------

    def _connect_timeout(self, deadline_remaining_s: float) -> int:
        """This connect's timeout: the configured one, cut to what is left of the bound."""
        return max(_MIN_CONNECT_S, min(self._connect_timeout_s, int(deadline_remaining_s)))

    def _open(self, deadline: _Deadline) -> psycopg.Connection[TupleRow]:
        """A new connection, autocommit (one statement, one transaction) and with the
        session's timeouts set."""
        if self._factory is not None:
            raw: psycopg.Connection[Any] = self._factory()
        else:
            assert self._dsn is not None
            timeout = self._connect_timeout(deadline.remaining())
            raw = psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=timeout, **self._connect_kwargs
            )
        try:
            raw.autocommit = True
            raw.row_factory = tuple_row
            conn: psycopg.Connection[TupleRow] = raw
            with deadline.guard(conn):
                conn.execute(_SET_SESSION, self._session)
        except BaseException:
            raw.close()
            raise
        return conn

    def _timed_out(self, stmt: str) -> TokenStoreError:
        return TokenStoreError(
            f"PostgreSQL token store at {self._where}: {stmt} failed "
            f"(no answer within {self._timeout_s:g}s)"
        )

    def _may_retry(self, stmt: str, exc: psycopg.Error, remaining_s: float) -> bool:
        if not _connection_broke(exc) or remaining_s < _MIN_CONNECT_S:
            return False
        logger.info(
            "PostgreSQL token store at %s: %s lost its connection (%s); retrying once",
            self._where,
            stmt,
            type(exc).__name__,
        )
        return True

    def _error(self, stmt: str, exc: psycopg.Error) -> TokenStoreError:
        if exc.sqlstate is None or isinstance(exc, psycopg.OperationalError):
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            for secret in self._secrets:
                detail = detail.replace(secret, "***")
        else:
            detail = f"SQLSTATE {exc.sqlstate}"
        return TokenStoreError(
            f"PostgreSQL token store at {self._where}: {stmt} failed "
            f"({type(exc).__name__}: {detail})"
        )

    def _create_tables(self, conn: psycopg.Connection[TupleRow]) -> None:
        with self._ready_lock:
            if self._ready:
                return
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [self._ddl_lock_id])
                for ddl in self._ddl:
                    conn.execute(ddl)
            self._ready = True

    async def _acreate_tables(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        # Idempotent, so two tasks racing here only repeat harmless DDL.
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", [self._ddl_lock_id])
            for ddl in self._ddl:
                await conn.execute(ddl)
        self._ready = True

    def _run(self, stmt: str, params: Mapping[str, Any]) -> _Rows:
        deadline, query, retried = _Deadline(self._timeout_s), self._sql[stmt], False
        while True:
            try:
                with self._pool.connection(deadline) as conn:
                    if not self._ready:
                        self._create_tables(conn)
                    cur = conn.execute(query, params)
                    return cur.fetchall() if cur.description is not None else []
            except psycopg.Error as exc:
                if deadline.fired:
                    raise self._timed_out(stmt) from None
                if retried or not self._may_retry(stmt, exc, deadline.remaining()):
                    raise self._error(stmt, exc) from None
                self._pool.discard_idle()
                query, retried = self._sql.get(f"{stmt}:replay", query), True

    async def _arun(self, stmt: str, params: Mapping[str, Any]) -> _Rows:
        if self._dsn is None:
            return await asyncio.to_thread(self._run, stmt, params)
        loop = asyncio.get_running_loop()
        deadline, query, retried = loop.time() + self._timeout_s, self._sql[stmt], False
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    return await self._aattempt(query, params, deadline - loop.time())
            except TimeoutError:
                raise self._timed_out(stmt) from None
            except psycopg.Error as exc:
                if retried or not self._may_retry(stmt, exc, deadline - loop.time()):
                    raise self._error(stmt, exc) from None
                query, retried = self._sql.get(f"{stmt}:replay", query), True

    async def _aattempt(
        self, query: sql.Composed, params: Mapping[str, Any], remaining_s: float
    ) -> _Rows:
        assert self._dsn is not None
        conn = await psycopg.AsyncConnection.connect(
            self._dsn,
            autocommit=True,
            connect_timeout=self._connect_timeout(remaining_s),
            **self._connect_kwargs,
        )
        try:  # not `async with`: its exit may wait on a server that stopped answering
            await conn.execute(_SET_SESSION, self._session)
            if not self._ready:
                await self._acreate_tables(conn)
            cur = await conn.execute(query, params)
            return await cur.fetchall() if cur.description is not None else []
        finally:
            await conn.close()

    # --- TokenStore ---------------------------------------------------------------------------

    def acquire_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        params = {"key": key, "owner": owner, "ttl": _ttl(ttl_s)}
        return bool(self._run("acquire_lock", params))

    def release_lock(self, key: str, owner: str) -> bool:
        rows = self._run("release_lock", {"key": key, "owner": owner})
        return bool(rows and rows[0][0])

    def renew_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        params = {"key": key, "owner": owner, "ttl": _ttl(ttl_s)}
        return bool(self._run("renew_lock", params))

    def get_token_data(self, key: str) -> TokenData | None:
        return _parse_token(self._run("get_token_data", {"key": key}))

    def set_token_data(self, key: str, data: TokenData, *, expected_version: int | None) -> bool:
        stmt, params = _token_params(key, data, expected_version)
        return bool(self._run(stmt, params))

    def clear_token_data(self, key: str) -> None:
        self._run("clear_token_data", {"key": key})

    async def aacquire_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        params = {"key": key, "owner": owner, "ttl": _ttl(ttl_s)}
        return bool(await self._arun("acquire_lock", params))

    async def arelease_lock(self, key: str, owner: str) -> bool:
        rows = await self._arun("release_lock", {"key": key, "owner": owner})
        return bool(rows and rows[0][0])

    async def arenew_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        params = {"key": key, "owner": owner, "ttl": _ttl(ttl_s)}
        return bool(await self._arun("renew_lock", params))

    async def aget_token_data(self, key: str) -> TokenData | None:
        return _parse_token(await self._arun("get_token_data", {"key": key}))

    async def aset_token_data(
        self, key: str, data: TokenData, *, expected_version: int | None
    ) -> bool:
        stmt, params = _token_params(key, data, expected_version)
        return bool(await self._arun(stmt, params))

    async def aclear_token_data(self, key: str) -> None:
        await self._arun("clear_token_data", {"key": key})

    # --- LeaseStore ---------------------------------------------------------------------------

    def try_acquire_lease(self, name: str, owner: str, ttl_s: float) -> Lease | None:
        params = {"name": name, "owner": owner, "ttl": _ttl(ttl_s)}
        return _parse_lease(owner, self._run("try_acquire_lease", params))

    def renew_lease(self, name: str, owner: str, epoch: int, ttl_s: float) -> bool:
        params = {"name": name, "owner": owner, "epoch": epoch, "ttl": _ttl(ttl_s)}
        return bool(self._run("renew_lease", params))

    def release_lease(self, name: str, owner: str, epoch: int) -> bool:
        params = {"name": name, "owner": owner, "epoch": epoch}
        return bool(self._run("release_lease", params))

    def write_checkpoint(
        self, channel: str, replay_id: ReplayPosition, *, lease_name: str, epoch: int
    ) -> bool:
        params = _checkpoint_params(channel, replay_id, lease_name, epoch)
        return bool(self._run("write_checkpoint", params))

    def read_checkpoint(self, channel: str) -> ReplayPosition | None:
        return _parse_checkpoint(self._run("read_checkpoint", {"channel": channel}))

    async def atry_acquire_lease(self, name: str, owner: str, ttl_s: float) -> Lease | None:
        params = {"name": name, "owner": owner, "ttl": _ttl(ttl_s)}
        rows = await self._arun("try_acquire_lease", params)
        return _parse_lease(owner, rows)

    async def arenew_lease(self, name: str, owner: str, epoch: int, ttl_s: float) -> bool:
        params = {"name": name, "owner": owner, "epoch": epoch, "ttl": _ttl(ttl_s)}
        return bool(await self._arun("renew_lease", params))

    async def arelease_lease(self, name: str, owner: str, epoch: int) -> bool:
        params = {"name": name, "owner": owner, "epoch": epoch}
        return bool(await self._arun("release_lease", params))

    async def awrite_checkpoint(
        self, channel: str, replay_id: ReplayPosition, *, lease_name: str, epoch: int
    ) -> bool:
        params = _checkpoint_params(channel, replay_id, lease_name, epoch)
        return bool(await self._arun("write_checkpoint", params))

    async def aread_checkpoint(self, channel: str) -> ReplayPosition | None:
        return _parse_checkpoint(await self._arun("read_checkpoint", {"channel": channel}))

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the idle pooled connections; later calls still work, on a connection each."""
        self._pool.close()

    async def aclose(self) -> None:
        """Async callers' `close()`: async calls hold no connection between calls."""
        await asyncio.to_thread(self.close)

    def __repr__(self) -> str:
        return f"PostgresTokenStore({self._where}, table_prefix={self._table_prefix!r})"
