"""What a store implements and how it is keyed, for store authors.

`TokenStore` and `token_key` are defined beside `TokenData` in `auth.token` (the auth flow
needs them without importing any store) and re-exported here.

`LeaseStore` is the CDC listener's half: one leader per subscription among replicas, and replay
checkpoints only that leader can write. It is a separate protocol so `TokenStore` stays what
the auth flow needs; the Redis and PostgreSQL stores implement both.

What must stay true for a `LeaseStore` (checked by `tests/stores/lease_contract.py`):
- A lease has one holder at a time. `epoch` goes up by one with every new holder (the first
  gets 1) and never goes back, even after the lease expires or is released.
- `try_acquire_lease` is not re-entrant: the holder extends its lease with `renew_lease`.
- `renew_lease` and `release_lease` act only for the current `(owner, epoch)`. A lease that
  lapsed and was *not* taken over can still be renewed: a takeover bumps the epoch, so nobody
  else can have led in between.
- `write_checkpoint` is fenced by epoch: it is refused unless `epoch` is the lease's current
  epoch and the lease was not released, so a paused old leader that wakes up after a takeover
  cannot move the checkpoint. Replay ids are not required to increase (Salesforce may renumber
  them when an org migrates); the fence, not the value, protects the checkpoint.
- A checkpoint is a `ReplayPosition`: an `int` (a CometD replay id) or `bytes` (a Pub/Sub
  replay id, opaque). It reads back as written, same type, byte for byte (`b""` included),
  and a channel may switch kinds: the last write wins. Anything else (`bool`, `str`,
  `bytearray`) is refused with `UsageError` before the store is touched.
- Expiry is judged by the store's clock (the server's for Redis and PostgreSQL), so replicas
  with skewed clocks still agree on who leads.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias, runtime_checkable

import attrs

from salesforce_typed.auth.token import TokenData, TokenStore, token_key
from salesforce_typed.core.errors import UsageError

__all__ = [
    "Lease",
    "LeaseStore",
    "ReplayPosition",
    "TokenData",
    "TokenStore",
    "check_replay_position",
    "token_key",
]

ReplayPosition: TypeAlias = int | bytes
"""Where a consumer resumes: a CometD replay id (`int`) or a Pub/Sub one (opaque `bytes`)."""


def check_replay_position(replay_id: object) -> ReplayPosition:
    """`replay_id` if its type is exactly `int` or `bytes`, else `UsageError`.

    Stores keep the type, so they refuse what would not read back as written: a `bool` or an
    `IntEnum` would come back as `int`, a `bytearray` or `memoryview` as `bytes`.
    """
    if type(replay_id) is int or type(replay_id) is bytes:
        return replay_id
    raise UsageError(f"a replay id is int or bytes, got {type(replay_id).__name__}")


@attrs.frozen(kw_only=True, slots=True)
class Lease:
    """A granted lease: who holds it, under which epoch, and until when.

    `expires_at` is wall-clock seconds since the epoch on the store's clock. It is for logs and
    for scheduling a renewal; a holder should renew well before it (a third of the TTL is
    usual), timing that on its own monotonic clock from the moment it asked.
    """

    owner: str
    epoch: int
    expires_at: float


@runtime_checkable
class LeaseStore(Protocol):
    """Leader leases with epochs, and replay checkpoints fenced by them.

    Async twins (`a`-prefixed) behave exactly like their sync methods and share one state.
    TTLs must be positive (`ValueError` otherwise).
    """

    def try_acquire_lease(self, name: str, owner: str, ttl_s: float) -> Lease | None: ...

    def renew_lease(self, name: str, owner: str, epoch: int, ttl_s: float) -> bool: ...

    def release_lease(self, name: str, owner: str, epoch: int) -> bool: ...

    def write_checkpoint(
        self, channel: str, replay_id: ReplayPosition, *, lease_name: str, epoch: int
    ) -> bool: ...

    def read_checkpoint(self, channel: str) -> ReplayPosition | None: ...

    async def atry_acquire_lease(self, name: str, owner: str, ttl_s: float) -> Lease | None: ...

    async def arenew_lease(self, name: str, owner: str, epoch: int, ttl_s: float) -> bool: ...

    async def arelease_lease(self, name: str, owner: str, epoch: int) -> bool: ...

    async def awrite_checkpoint(
        self, channel: str, replay_id: ReplayPosition, *, lease_name: str, epoch: int
    ) -> bool: ...

    async def aread_checkpoint(self, channel: str) -> ReplayPosition | None: ...
