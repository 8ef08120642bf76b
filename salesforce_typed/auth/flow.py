"""`SalesforceAuth`: bearer tokens, proactive refresh and one refresh-and-replay, for both clients.

The flow is written once, as a generator that yields *effects*: send a request, sleep, take or
drop the in-process lock, call the token store. Two small drivers run it: the sync one with
`threading.Lock`, `clock.sleep` and the store's sync methods; the async one with a per-loop
`asyncio.Lock`, `clock.asleep` and the store's `a*` methods. Requests (the caller's and the
token call) are yielded to httpx, so the token endpoint is reached through the same client.

What must stay true:
- A token is refreshed a margin before its estimated expiry, and on a 401 `INVALID_SESSION_ID`
  exactly once; the request is replayed once, then `AuthenticationError` is raised. No recursion.
- One refresh in flight per store key: threads/tasks queue on the local lock, processes on the
  store's leased lock; whoever gets the lock re-reads the store first and adopts a token a peer
  already refreshed instead of calling the token endpoint.
- A rotated refresh token is written to the store (fenced on the version read) before the new
  access token is used. If that write fails the new token is dropped and `TokenStoreError`
  raised: the old refresh token is already revoked, and nobody may keep a copy nobody stored.
- `invalid_grant` is terminal: the store is re-read once, then cleared, and the error raised.
  Later calls re-raise it without calling the token endpoint until a token appears in the store.
- Locks are released on every exit, including httpx closing the flow on a transport error.
- Tokens are never logged: log lines carry the store key and version.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import uuid
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import Any, Literal

import attrs
import httpx

from salesforce_typed.auth import effects as fx
from salesforce_typed.auth.grants import AccessTokenAuth, TokenGrant
from salesforce_typed.auth.token import TokenData, TokenStore
from salesforce_typed.core.clock import Clock, SystemClock
from salesforce_typed.core.errors import (
    APIStatusError,
    AuthenticationError,
    InvalidGrantError,
    RequestNotSentError,
    SalesforceError,
    TokenStoreError,
)
from salesforce_typed.core.exchange import rest_error, rest_rejected
from salesforce_typed.core.retry import describe_request
from salesforce_typed.core.transport import certificate_error
from salesforce_typed.stores.memory import MemoryTokenStore

__all__ = ["SalesforceAuth"]

logger = logging.getLogger("salesforce_typed.auth")

_INVALID_SESSION = "INVALID_SESSION_ID"


def _default_store(*, raw: bool) -> TokenStore:
    """A raw access token is never refreshed or stored: it needs no file store."""
    if raw:
        return MemoryTokenStore()
    from salesforce_typed.stores.file import default_token_store

    return default_token_store()


def _default_journal(store: TokenStore | None) -> fx.Journal | None:
    """A shared store (Redis, PostgreSQL) gets a local journal of rotated tokens: written
    (fsync) before the store, it keeps a rotation that the store did not take, or that a
    killed process never wrote. Memory and file stores are this process's or this host's
    own: a journal would repeat them."""
    from salesforce_typed.stores.file import FileTokenStore
    from salesforce_typed.stores.journal import TokenJournal

    if store is None or isinstance(store, MemoryTokenStore | FileTokenStore):
        return None
    return TokenJournal()


def _same_token(a: TokenData, b: TokenData) -> bool:
    return a.access_token == b.access_token and a.refresh_token == b.refresh_token


def _newer(a: TokenData, b: TokenData) -> bool:
    """Whether `a` was issued after `b` (versions are per store; issue times are not)."""
    return a.last_refreshed_at > b.last_refreshed_at and a.refresh_token != b.refresh_token


def _wants_body(effect: fx.Send, response: httpx.Response) -> bool:
    return effect.read_body or response.status_code == 401


class SalesforceAuth(httpx.Auth):
    """Authenticates every request of a sync or async httpx client with one grant.

    `store` defaults to a private `MemoryTokenStore`; replicas sharing a refresh token must
    share a real store (and under Refresh Token Rotation, restarts must too).
    """

    def __init__(
        self,
        credentials: TokenGrant | AccessTokenAuth,
        *,
        store: TokenStore | None = None,
        key: str | None = None,
        clock: Clock | None = None,
        refresh_margin_s: float = 300.0,
        lock_ttl_s: float = 60.0,
        lock_wait_s: float = 90.0,
        on_token_refreshed: Callable[[TokenData], None] | None = None,
        journal: fx.Journal | None | Literal["default"] = "default",
        store_write_deadline_s: float = 20.0,
        in_doubt_ttl_s: float = 3600.0,
    ) -> None:
        self.credentials = credentials
        self.journal = _default_journal(store) if journal == "default" else journal
        self.store_write_deadline_s = store_write_deadline_s
        self.in_doubt_ttl_s = in_doubt_ttl_s
        self.clock: Clock = clock or SystemClock()
        # One machine's persistent default: a script or CLI command run twice finds the token
        # its last run rotated. Pass `MemoryTokenStore()` for a process-private one, or a
        # Redis/PostgreSQL store for replicas.
        self.store: TokenStore = (
            store
            if store is not None
            else _default_store(raw=isinstance(credentials, AccessTokenAuth))
        )
        if isinstance(credentials, AccessTokenAuth):
            self.key = key or ""
        else:
            self.key = key or credentials.store_key()
        self.refresh_margin_s = refresh_margin_s
        self.lock_ttl_s = lock_ttl_s
        self.lock_wait_s = lock_wait_s
        self.on_token_refreshed = on_token_refreshed
        self.refresh_count = 0  # successful token-endpoint calls made by this object
        self.adopted_count = 0  # tokens taken from the store that a peer refreshed
        self._token: TokenData | None = None
        self._dead: InvalidGrantError | None = None
        self._thread_lock = threading.Lock()
        self._loop_locks_mutex = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"SalesforceAuth({self.credentials!r}, key={self.key!r})"

    @property
    def token(self) -> TokenData | None:
        """The token this object currently uses (None before the first request)."""
        if isinstance(self.credentials, AccessTokenAuth):
            return self.credentials.token_data(self.clock.now())
        return self._token

    def reset(self) -> None:
        """Forget the in-memory token and a latched `invalid_grant` (after re-authorizing)."""
        self._token = None
        self._dead = None

    # --- the one flow -----------------------------------------------------------------------

    def _flow(self, request: httpx.Request) -> fx.Flow:
        if isinstance(self.credentials, AccessTokenAuth):
            request.headers["Authorization"] = f"Bearer {self.credentials.access_token}"
            response = yield fx.Send(request)
            if rest_rejected(response):
                raise rest_error(response)  # nothing to refresh with
            return None
        token = self._token
        if token is None or self._expiring(token):
            token = yield from self._obtain(stale=token)
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield fx.Send(request)
        if not rest_rejected(response):
            return None
        logger.info("INVALID_SESSION_ID on %s: refreshing once (%s)", request.method, self.key)
        token = yield from self._obtain(stale=token, rejected=token.access_token)
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield fx.Send(request)
        if rest_rejected(response):
            raise rest_error(response)
        return None

    def _current(self) -> fx.Flow:
        """A usable token without sending anything else (for `get_token`)."""
        if isinstance(self.credentials, AccessTokenAuth):
            return self.credentials.token_data(self.clock.now())
        token = self._token
        if token is None or self._expiring(token):
            token = yield from self._obtain(stale=token)
        return token

    def _expiring(self, token: TokenData) -> bool:
        # Never a margin over half the lifetime, or a short session would refresh every call.
        lifetime = token.expires_at - token.last_refreshed_at
        margin = min(self.refresh_margin_s, lifetime / 2)
        return token.expires_within(margin, self.clock.now())

    def _usable(self, candidate: TokenData | None, rejected: str | None) -> bool:
        if candidate is None or self._expiring(candidate):
            return False
        # A token Salesforce just rejected is no use however fresh it looks.
        return rejected is None or candidate.access_token != rejected

    def _replace(self, rejected: str | None) -> fx.Flow:
        """A token other than `rejected` (the current one when None), refreshing if needed."""
        if isinstance(self.credentials, AccessTokenAuth):
            raise AuthenticationError(
                "the access token was rejected and AccessTokenAuth cannot refresh it",
                status_code=401,
                error_code=_INVALID_SESSION,
            )
        mine = self._token
        if rejected is None:
            rejected = mine.access_token if mine is not None else None
        elif mine is not None and self._usable(mine, rejected):
            return mine  # a peer (thread, task, or this object) already replaced it
        return (yield from self._obtain(stale=mine, rejected=rejected))

    def _obtain(self, *, stale: TokenData | None, rejected: str | None = None) -> fx.Flow:
        assert not isinstance(self.credentials, AccessTokenAuth)
        if self._dead is not None:
            reauthorized: TokenData | None = yield fx.Get(self.key)
            if not self._usable(reauthorized, rejected):
                raise InvalidGrantError(self._dead.error, self._dead.description)
            self._dead = None  # someone re-authorized and stored a new token
            return self._adopt(reauthorized)
        yield fx.LocalLock(acquire=True)
        mine = self._token
        if mine is not stale and self._usable(mine, rejected):
            yield fx.LocalLock(acquire=False)  # another thread/task refreshed while we waited
            assert mine is not None
            return mine
        owner = uuid.uuid4().hex
        yield from self._take_store_lock(owner)
        stored = yield from self._newest_stored()
        refreshed = False
        if self._usable(stored, rejected):
            token = self._adopt(stored)
        else:
            token, refreshed, kept = yield from self._refresh(stored, owner)
            if kept:  # the store could not take the rotated token: hold the lock to its end
                owner = ""
        if owner:
            yield fx.Release(self.key, owner)
        yield fx.LocalLock(acquire=False)
        if refreshed and self.on_token_refreshed is not None:
            # Outside the locks: a hook that makes a request must not deadlock on them.
            try:
                self.on_token_refreshed(token)
            except Exception:
                logger.exception("on_token_refreshed hook failed (%s)", self.key)
        return token

    def _adopt(self, stored: TokenData | None) -> TokenData:
        assert stored is not None
        logger.info("adopted token version %d from the store (%s)", stored.version, self.key)
        self.adopted_count += 1
        self._token = stored
        return stored

    def _take_store_lock(self, owner: str) -> fx.Flow:
        deadline = self.clock.monotonic() + self.lock_wait_s
        delay = 0.05
        while not (yield fx.Acquire(self.key, owner, self.lock_ttl_s)):
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                raise TokenStoreError(
                    f"timed out after {self.lock_wait_s:g}s waiting for the token refresh lock "
                    f"({self.key}); the request was not sent"
                )
            yield fx.Sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)

    def _newest_stored(self) -> fx.Flow:
        """The store's token, unless this process knows a newer one: then that one, written
        back (fenced). A store that comes back empty or older (a Redis restart without
        persistence, a failover to a stale replica, a write that failed) must never make us
        refresh with an older refresh token, least of all the grant's seed: under rotation
        that revokes the whole family."""
        stored: TokenData | None = yield fx.Get(self.key)
        journaled: TokenData | None = yield fx.JournalLatest(self.key)
        newest = max(
            (t for t in (self._token, journaled) if t is not None),
            key=lambda t: t.last_refreshed_at,
            default=None,
        )
        if newest is None or (stored is not None and not _newer(newest, stored)):
            return stored
        version = (stored.version if stored is not None else newest.version) + 1
        back = attrs.evolve(newest, version=version)
        expected = stored.version if stored is not None else None
        logger.warning(
            "the token store holds %s for %s; writing back the newer token this process "
            "holds (version %d)",
            "nothing" if stored is None else f"an older token (version {stored.version})",
            self.key,
            version,
        )
        if (yield fx.Set(self.key, back, expected)):
            yield fx.JournalForget(self.key, back)
            yield from self._drop_claim()  # a claim our earlier life left is settled now
            self._token = back
            return back
        return (yield fx.Get(self.key))  # a peer wrote meanwhile: theirs is at least as new

    def _refresh(self, stored: TokenData | None, owner: str) -> fx.Flow:
        """Call the token endpoint under both locks (heartbeating the store's) and persist
        before use: journal first (fsync), then the shared store, retried until a deadline.

        Returns (token, refreshed, kept): `kept` means the store never took the rotated
        token; it is used (it is the only valid one) and stays journaled for write-back.
        """
        assert not isinstance(self.credentials, AccessTokenAuth)
        grant = self.credentials
        yield from self._claim_refresh()
        token_request = grant.build_token_request(self.clock.now(), stored)
        beat = fx.Heartbeat(self.key, owner, self.lock_ttl_s)
        response = yield fx.Send(token_request, read_body=True, heartbeat=beat)
        try:
            fresh = grant.parse_token_response(response, self.clock.now(), stored)
        except InvalidGrantError as exc:
            return (yield from self._invalid_grant(exc, stored)), False, False
        except APIStatusError as exc:
            # The token endpoint failed (5xx, HTML error page): the caller's request never left.
            raise RequestNotSentError(
                f"token refresh failed with {exc}; the request was not sent"
            ) from exc
        # A refresh token we had not stored counts as rotated (e.g. the first one from a seed):
        # losing the write then aborts rather than risk running on an unrecorded token.
        rotated = fresh.refresh_token is not None and fresh.refresh_token != (
            stored.refresh_token if stored is not None else None
        )
        if rotated:
            yield fx.JournalRecord(self.key, fresh)
        expected = stored.version if stored is not None else None
        written = yield from self._write_with_retries(fresh, expected, owner)
        if written is None:
            yield fx.KeepLeases()  # peers must not refresh with the store's spent token
            self.refresh_count += 1
            self._token = fresh
            logger.error(
                "the token store did not take the rotated token within %gs (%s): using it, "
                "kept in the journal and this process for write-back",
                self.store_write_deadline_s,
                self.key,
            )
            return fresh, True, True
        if not written:
            if rotated:
                yield fx.JournalForget(self.key, fresh)  # a peer's write won: ours is void
                logger.error(
                    "rotated refresh token could not be stored over version %s (%s): aborting",
                    expected,
                    self.key,
                )
                raise TokenStoreError(
                    f"the token store refused the rotated refresh token (expected version "
                    f"{expected}, {self.key}); the new token was discarded"
                )
            # No rotation: our refresh token stays valid, so the new access token is safe to use.
            logger.warning("token store write lost a race (%s); using the token unshared", self.key)
        elif rotated:
            yield fx.JournalForget(self.key, fresh)
        yield from self._drop_claim()
        self.refresh_count += 1
        self._token = fresh
        logger.info(
            "refreshed token: version %d, rotated=%s (%s)", fresh.version, rotated, self.key
        )
        return fresh, True, False

    @property
    def _claim_owner(self) -> str:
        """Who claims a refresh: this host and journal, stable across restarts, so that a
        restarted replica recognises (and settles) the claim its killed predecessor left."""
        where = getattr(self.journal, "directory", None) or id(self.journal)
        return f"{socket.gethostname()}:{where}"

    def _claim_refresh(self) -> fx.Flow:
        """Claim the family's refresh in the shared store before the token call (only with
        a journal: stores without one are this process's or this host's own)."""
        if self.journal is None:
            return None
        claim_key = f"{self.key}:in-doubt"
        owner = self._claim_owner
        if (yield fx.ClaimRefresh(claim_key, owner, self.in_doubt_ttl_s)):
            return None
        if (yield fx.DropClaim(claim_key, owner)) and (
            yield fx.ClaimRefresh(claim_key, owner, self.in_doubt_ttl_s)
        ):
            return None  # our own earlier life's claim, and its journal held nothing newer
        logger.error(
            "a refresh of %s is in doubt: another replica was stopped between the token "
            "answer and the store write; not refreshing with the store's token",
            self.key,
        )
        raise TokenStoreError(
            f"a refresh of {self.key} is in doubt: the replica that made it stopped before "
            "storing the rotated token. Restart it (it recovers the token from its journal), "
            "or re-authorize; refreshing with the stored token would revoke the whole family"
        )

    def _drop_claim(self) -> fx.Flow:
        if self.journal is not None:
            yield fx.DropClaim(f"{self.key}:in-doubt", self._claim_owner)

    def _write_with_retries(self, fresh: TokenData, expected: int | None, owner: str) -> fx.Flow:
        """The fenced write; True/False as the store answered, None if it kept failing.

        A store error (connection dropped, outage) is retried with backoff, renewing the
        refresh lock before each try, until `store_write_deadline_s`; a lock we no longer
        hold ends the retries (a peer may be refreshing: the fence then refuses us anyway).
        """
        deadline = self.clock.monotonic() + self.store_write_deadline_s
        delay = 0.1
        failed = False
        while True:
            try:
                written = yield fx.Set(self.key, fresh, expected)
                if written or not failed:
                    return written
                # Refused after a failed try: that try may have been applied late (a reply
                # lost, a write delivered after an outage). Our own token there is written.
                now: TokenData | None = yield fx.Get(self.key)
                return now is not None and _same_token(now, fresh)
            except TokenStoreError as exc:
                failed = True
                remaining = deadline - self.clock.monotonic()
                logger.warning("token store write failed (%s): %s", self.key, exc)
                if remaining <= 0:
                    return None
            yield fx.Sleep(min(delay, max(remaining, 0.0)))
            delay = min(delay * 2, 2.0)
            try:
                if not (yield fx.Renew(self.key, owner, self.lock_ttl_s)):
                    logger.error("refresh lock lost while storing the token (%s)", self.key)
            except TokenStoreError:
                pass  # the store is still away; the write below says so again

    def _invalid_grant(self, exc: InvalidGrantError, stored: TokenData | None) -> fx.Flow:
        # Re-read once: a peer may have re-authorized (or refreshed) behind our back.
        again: TokenData | None = yield fx.Get(self.key)
        if again is not None and (stored is None or again.version != stored.version):
            return self._adopt(again)
        logger.error("invalid_grant (%s): clearing the stored token; re-authorize", self.key)
        yield fx.Clear(self.key)
        if stored is not None:  # the journal must not write a dead token back later
            yield fx.JournalForget(self.key, stored)
        self._token = None
        self._dead = exc
        raise exc

    # --- drivers ----------------------------------------------------------------------------

    def _drive_sync(self, flow: fx.Flow) -> Generator[httpx.Request, httpx.Response, Any]:
        held = fx.Held()
        try:
            result: Any = None
            error: Exception | None = None  # a store error, thrown into the flow to handle
            while True:
                try:
                    effect = flow.send(result) if error is None else flow.throw(error)
                except StopIteration as stop:
                    return stop.value
                error = None
                if isinstance(effect, fx.Send):
                    with self._heartbeat(effect.heartbeat):
                        response = yield effect.request
                        if _wants_body(effect, response):
                            response.read()
                    result = response
                elif isinstance(effect, fx.Sleep):
                    self.clock.sleep(effect.seconds)
                    result = None
                elif isinstance(effect, fx.LocalLock):
                    if effect.acquire:
                        self._thread_lock.acquire()
                    else:
                        self._thread_lock.release()
                    held.local = effect.acquire
                    result = None
                elif isinstance(effect, fx.KeepLeases):
                    held.claim = held.lease = None  # left to lapse, not given back
                    result = None
                elif isinstance(effect, fx.JournalOp):
                    result = None if self.journal is None else effect.run(self.journal)
                else:
                    try:
                        result = effect.run(self.store)
                    except Exception as exc:
                        error = exc
                        continue
                    held.note(effect, result)
        finally:
            flow.close()
            try:
                for give_back in (held.claim, held.lease):
                    if give_back is None:
                        continue
                    try:
                        give_back.run(self.store)
                    except Exception:  # a lease runs out by itself; keep the real error
                        logger.warning("could not release a refresh lease (%s)", self.key)
            finally:
                if held.local:
                    self._thread_lock.release()

    async def _drive_async(
        self, flow: fx.Flow, out: fx.Box
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        held = fx.Held()
        lock = self._loop_lock()
        try:
            result: Any = None
            error: Exception | None = None  # a store error, thrown into the flow to handle
            while True:
                try:
                    effect = flow.send(result) if error is None else flow.throw(error)
                except StopIteration as stop:
                    out.value = stop.value  # async generators cannot return a value
                    return
                error = None
                if isinstance(effect, fx.Send):
                    async with self._aheartbeat(effect.heartbeat):
                        response = yield effect.request
                        if _wants_body(effect, response):
                            await response.aread()
                    result = response
                elif isinstance(effect, fx.Sleep):
                    await self.clock.asleep(effect.seconds)
                    result = None
                elif isinstance(effect, fx.LocalLock):
                    if effect.acquire:
                        await lock.acquire()
                    else:
                        lock.release()
                    held.local = effect.acquire
                    result = None
                elif isinstance(effect, fx.KeepLeases):
                    held.claim = held.lease = None  # left to lapse, not given back
                    result = None
                elif isinstance(effect, fx.JournalOp):
                    result = None if self.journal is None else await effect.arun(self.journal)
                else:
                    try:
                        result = await effect.arun(self.store)
                    except Exception as exc:
                        error = exc
                        continue
                    held.note(effect, result)
        finally:
            flow.close()
            try:
                for give_back in (held.claim, held.lease):
                    if give_back is None:
                        continue
                    try:
                        await give_back.arun(self.store)
                    except Exception:  # a lease runs out by itself; keep the real error
                        logger.warning("could not release a refresh lease (%s)", self.key)
            finally:
                if held.local:
                    lock.release()

    @contextlib.contextmanager
    def _heartbeat(self, beat: fx.Heartbeat | None) -> Iterator[None]:
        """Renew the refresh lock from a thread while a token call blocks this one."""
        if beat is None:
            yield
            return
        done = threading.Event()

        def renew() -> None:
            while not done.wait(beat.ttl_s / 3):
                if not self._renew_quietly(beat):
                    return

        thread = threading.Thread(target=renew, name="salesforce-typed-lock-heartbeat")
        thread.daemon = True
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    @contextlib.asynccontextmanager
    async def _aheartbeat(self, beat: fx.Heartbeat | None) -> AsyncIterator[None]:
        """The async twin: a task renews the lock while the token call is awaited."""
        if beat is None:
            yield
            return

        async def renew() -> None:
            while True:
                await asyncio.sleep(beat.ttl_s / 3)  # real time: the lease is the store's
                try:
                    held = await self.store.arenew_lock(beat.key, beat.owner, beat.ttl_s)
                except Exception:
                    logger.warning("refresh lock heartbeat failed (%s)", beat.key)
                    continue
                if not held:
                    logger.error("refresh lock lost during a token call (%s)", beat.key)
                    return

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _renew_quietly(self, beat: fx.Heartbeat) -> bool:
        try:
            held = self.store.renew_lock(beat.key, beat.owner, beat.ttl_s)
        except Exception:  # a store blip: the next beat tries again before the lease ends
            logger.warning("refresh lock heartbeat failed (%s)", beat.key)
            return True
        if not held:
            logger.error("refresh lock lost during a token call (%s)", beat.key)
        return held

    def _loop_lock(self) -> asyncio.Lock:
        # An asyncio.Lock belongs to one event loop; clients on other loops get their own.
        loop = asyncio.get_running_loop()
        with self._loop_locks_mutex:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = asyncio.Lock()
            return lock

    # --- httpx.Auth -------------------------------------------------------------------------

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        yield from self._drive_sync(self._flow(request))

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        driver = self._drive_async(self._flow(request), fx.Box())
        try:
            outgoing = await driver.__anext__()
            while True:
                response = yield outgoing
                outgoing = await driver.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await driver.aclose()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError(
            "SalesforceAuth drives its own flows: use sync_auth_flow/async_auth_flow"
        )

    # --- a token without a request, and the public "this token was rejected" -------------

    @property
    def can_refresh(self) -> bool:
        """False for a raw access token: a rejection of it is final."""
        return not isinstance(self.credentials, AccessTokenAuth)

    def get_token(self, client: httpx.Client) -> TokenData:
        """A usable token, refreshing through `client` if needed (e.g. to learn instance_url)."""
        token: TokenData = self._run_sync(self._current(), client)
        return token

    async def aget_token(self, client: httpx.AsyncClient) -> TokenData:
        """The async twin of `get_token`."""
        token: TokenData = await self._run_async(self._current(), client)
        return token

    def refresh(self, client: httpx.Client, *, rejected: str | None = None) -> TokenData:
        """Replace a token Salesforce rejected (`rejected`, or the current one when None).

        For APIs that report a dead session their own way (Bulk 1.0 `InvalidSessionId`, a SOAP
        fault, CometD `401::`): the same single-flight, store-aware refresh as a REST 401, and
        a no-op when a peer already replaced that token. Raises `AuthenticationError` for a raw
        access token, `InvalidGrantError` when the refresh token is dead.
        """
        token: TokenData = self._run_sync(self._replace(rejected), client)
        return token

    async def arefresh(
        self, client: httpx.AsyncClient, *, rejected: str | None = None
    ) -> TokenData:
        """The async twin of `refresh`."""
        token: TokenData = await self._run_async(self._replace(rejected), client)
        return token

    def _run_sync(self, flow: fx.Flow, client: httpx.Client) -> Any:
        driver = self._drive_sync(flow)
        try:
            outgoing = next(driver)
            while True:
                outgoing = driver.send(_token_call(client.send, outgoing))
        except StopIteration as stop:
            return stop.value
        finally:
            driver.close()

    async def _run_async(self, flow: fx.Flow, client: httpx.AsyncClient) -> Any:
        box = fx.Box()
        driver = self._drive_async(flow, box)
        try:
            outgoing = await driver.__anext__()
            while True:
                outgoing = await driver.asend(await _atoken_call(client.send, outgoing))
        except StopAsyncIteration:
            return box.value
        finally:
            await driver.aclose()


def _not_sent(request: httpx.Request, exc: Exception) -> SalesforceError:
    untrusted = certificate_error(exc, request.url.host)  # terminal, never retried
    if untrusted is not None:
        return untrusted
    return RequestNotSentError(
        f"token request failed ({type(exc).__name__} on {describe_request(request)}): {exc}"
    )


def _token_call(send: Callable[..., httpx.Response], request: httpx.Request) -> httpx.Response:
    """One token-endpoint call; connection, TLS and DNS failures become `RequestNotSentError`."""
    try:
        return send(request, auth=None)
    except (httpx.TransportError, OSError) as exc:
        raise _not_sent(request, exc) from exc


async def _atoken_call(send: Callable[..., Any], request: httpx.Request) -> httpx.Response:
    try:
        response: httpx.Response = await send(request, auth=None)
    except (httpx.TransportError, OSError) as exc:
        raise _not_sent(request, exc) from exc
    return response
