"""The effects `SalesforceAuth`'s one flow yields, and what a driver must undo on exit.

The refresh flow (`flow.py`) is a generator that never does I/O itself: it yields these
values and its two drivers (sync, async) perform them: send a request, sleep, take or drop
the in-process lock, or run one `TokenStore` call. Keeping them here keeps the flow readable.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Protocol

import attrs
import httpx

from salesforce_typed.auth.token import TokenData, TokenStore

__all__ = [
    "Acquire",
    "Box",
    "ClaimRefresh",
    "Clear",
    "DropClaim",
    "Effect",
    "Flow",
    "Get",
    "Heartbeat",
    "Held",
    "Journal",
    "JournalForget",
    "JournalLatest",
    "JournalOp",
    "JournalRecord",
    "KeepLeases",
    "LocalLock",
    "Release",
    "Renew",
    "Send",
    "Set",
    "Sleep",
    "StoreOp",
]


@attrs.frozen(slots=True)
class Heartbeat:
    """Renew `owner`'s refresh lock every `ttl_s / 3` (real time) while a Send is in flight,
    so a slow token endpoint cannot outlive the lock and let a peer refresh the same token."""

    key: str
    owner: str
    ttl_s: float


@attrs.frozen(slots=True)
class Send:
    request: httpx.Request
    read_body: bool = False  # token answers are always read; API answers only when 401
    heartbeat: Heartbeat | None = None


@attrs.frozen(slots=True)
class Sleep:
    seconds: float


@attrs.frozen(slots=True)
class LocalLock:
    acquire: bool


class StoreOp:
    def run(self, store: TokenStore) -> Any:
        raise NotImplementedError

    async def arun(self, store: TokenStore) -> Any:
        raise NotImplementedError


@attrs.frozen(slots=True)
class Get(StoreOp):
    key: str

    def run(self, store: TokenStore) -> TokenData | None:
        return store.get_token_data(self.key)

    async def arun(self, store: TokenStore) -> TokenData | None:
        return await store.aget_token_data(self.key)


@attrs.frozen(slots=True)
class Set(StoreOp):
    key: str
    data: TokenData
    expected_version: int | None

    def run(self, store: TokenStore) -> bool:
        return store.set_token_data(self.key, self.data, expected_version=self.expected_version)

    async def arun(self, store: TokenStore) -> bool:
        return await store.aset_token_data(
            self.key, self.data, expected_version=self.expected_version
        )


@attrs.frozen(slots=True)
class Clear(StoreOp):
    key: str

    def run(self, store: TokenStore) -> None:
        store.clear_token_data(self.key)

    async def arun(self, store: TokenStore) -> None:
        await store.aclear_token_data(self.key)


@attrs.frozen(slots=True)
class Acquire(StoreOp):
    key: str
    owner: str
    ttl_s: float

    def run(self, store: TokenStore) -> bool:
        return store.acquire_lock(self.key, self.owner, self.ttl_s)

    async def arun(self, store: TokenStore) -> bool:
        return await store.aacquire_lock(self.key, self.owner, self.ttl_s)


@attrs.frozen(slots=True)
class Release(StoreOp):
    key: str
    owner: str

    def run(self, store: TokenStore) -> bool:
        return store.release_lock(self.key, self.owner)

    async def arun(self, store: TokenStore) -> bool:
        return await store.arelease_lock(self.key, self.owner)


@attrs.frozen(slots=True)
class Renew(StoreOp):
    key: str
    owner: str
    ttl_s: float

    def run(self, store: TokenStore) -> bool:
        return store.renew_lock(self.key, self.owner, self.ttl_s)

    async def arun(self, store: TokenStore) -> bool:
        return await store.arenew_lock(self.key, self.owner, self.ttl_s)


class Journal(Protocol):
    """The local journal of rotated tokens (`stores.journal.TokenJournal`)."""

    def record(self, key: str, data: TokenData) -> None: ...

    def latest(self, key: str) -> TokenData | None: ...

    def forget(self, key: str, *, upto: TokenData) -> None: ...

    async def arecord(self, key: str, data: TokenData) -> None: ...

    async def alatest(self, key: str) -> TokenData | None: ...

    async def aforget(self, key: str, *, upto: TokenData) -> None: ...


class JournalOp:
    """A journal call; without a journal it does nothing and reads None."""

    def run(self, journal: Journal) -> Any:
        raise NotImplementedError

    async def arun(self, journal: Journal) -> Any:
        raise NotImplementedError


@attrs.frozen(slots=True)
class JournalRecord(JournalOp):
    key: str
    data: TokenData

    def run(self, journal: Journal) -> None:
        journal.record(self.key, self.data)

    async def arun(self, journal: Journal) -> None:
        await journal.arecord(self.key, self.data)


@attrs.frozen(slots=True)
class JournalLatest(JournalOp):
    key: str

    def run(self, journal: Journal) -> TokenData | None:
        return journal.latest(self.key)

    async def arun(self, journal: Journal) -> TokenData | None:
        return await journal.alatest(self.key)


@attrs.frozen(slots=True)
class JournalForget(JournalOp):
    key: str
    upto: TokenData

    def run(self, journal: Journal) -> None:
        journal.forget(self.key, upto=self.upto)

    async def arun(self, journal: Journal) -> None:
        await journal.aforget(self.key, upto=self.upto)


@attrs.frozen(slots=True)
class ClaimRefresh(StoreOp):
    """Mark "a refresh of this token family is in flight" in the shared store (a long lease
    under `<key>:in-doubt`), held from before the token call until the rotated token is in
    the store. A holder killed in between leaves it: peers then refuse to refresh with the
    store's (possibly spent) token until that holder restarts and recovers its journal."""

    key: str
    owner: str
    ttl_s: float

    def run(self, store: TokenStore) -> bool:
        return store.acquire_lock(self.key, self.owner, self.ttl_s)

    async def arun(self, store: TokenStore) -> bool:
        return await store.aacquire_lock(self.key, self.owner, self.ttl_s)


@attrs.frozen(slots=True)
class DropClaim(StoreOp):
    key: str
    owner: str

    def run(self, store: TokenStore) -> bool:
        return store.release_lock(self.key, self.owner)

    async def arun(self, store: TokenStore) -> bool:
        return await store.arelease_lock(self.key, self.owner)


@attrs.frozen(slots=True)
class KeepLeases:
    """The rotated token is not in the store: leave the refresh lock to lapse and the claim
    for the journal's recovery, instead of giving them back when the flow ends."""


Effect = Send | Sleep | LocalLock | StoreOp | JournalOp | KeepLeases
Flow = Generator[Effect, Any, Any]


@attrs.define(slots=True)
class Held:
    """What a driver must give back if the flow stops early (an exception, a close)."""

    local: bool = False
    lease: Release | None = None
    claim: DropClaim | None = None

    def note(self, effect: StoreOp, result: Any) -> None:
        if isinstance(effect, Acquire) and result is True:
            self.lease = Release(effect.key, effect.owner)
        elif isinstance(effect, Release):
            self.lease = None
        elif isinstance(effect, ClaimRefresh) and result is True:
            self.claim = DropClaim(effect.key, effect.owner)
        elif isinstance(effect, DropClaim):
            self.claim = None


@attrs.define(slots=True)
class Box:
    value: Any = None
