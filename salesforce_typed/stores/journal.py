"""`TokenJournal`: the local, fsynced record of rotated tokens not yet safe in the shared store.

Under Refresh Token Rotation the token endpoint's answer holds the only valid refresh token of
the family. The auth flow records it here (fsync) right after the answer and *before* writing
the shared store, and forgets it once the store holds that token or a newer one. A process
killed in between, or a store write that failed, leaves the token here; the next process on
this host recovers it (`latest`) instead of refreshing with a revoked one.

What must stay true:
- One entry per key, the newest: `record` never replaces an entry with an older token (by
  `last_refreshed_at`), so two processes of one host cannot bury the newest token.
- Entries are compared by `last_refreshed_at` and refresh token, never by `version`: versions
  are per store, and a journaled token's version is whatever it was given.
- Writes are atomic (temp file, fsync, rename, directory fsync) under a per-key flock. A
  corrupted entry is never read as a token: `latest` raises `TokenStoreError` naming the file,
  never quoting it; `record` overwrites it and `forget` removes it, with a warning (failing
  them would lose the fresh token it cannot be compared with). Files are 0600.
- The default directory is `journal/` beside the file store's `tokens/` (see `config_home`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from salesforce_typed.auth.token import TokenData
from salesforce_typed.core.errors import TokenStoreError
from salesforce_typed.stores.file import (
    config_home,
    encode_token_file,
    key_lock,
    key_stem,
    read_token_file,
    remove_durably,
    remove_orphans,
    write_atomically,
)

__all__ = ["TokenJournal"]

logger = logging.getLogger(__name__)

_FORMAT = "salesforce-typed/token-journal/1"


def _newer(candidate: TokenData, than: TokenData) -> bool:
    """True when `candidate` was issued after `than`."""
    return candidate.last_refreshed_at > than.last_refreshed_at


def _still_needed(entry: TokenData, stored: TokenData) -> bool:
    """True when the journal's `entry` holds more than the store's `stored` token: another
    refresh token, issued later. The same refresh token is safe whatever its access token."""
    return entry.refresh_token != stored.refresh_token and _newer(entry, stored)


class TokenJournal:
    """Rotated tokens of this host, one fsynced file per key, until the shared store has them."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = (
            Path(directory).expanduser() if directory is not None else config_home() / "journal"
        )

    def __repr__(self) -> str:
        return f"TokenJournal({str(self.directory)!r})"

    def _path(self, key: str) -> tuple[str, Path]:
        stem = key_stem(key)
        return stem, self.directory / f"{stem}.json"

    def _read_or_warn(self, path: Path, key: str, action: str) -> TokenData | None:
        try:
            return read_token_file(path, key, kind=_FORMAT)
        except TokenStoreError as exc:
            logger.warning("%s; %s", exc, action)
            return None

    def record(self, key: str, data: TokenData) -> None:
        """Keep `data` durably (fsync) unless the journal already holds a newer token."""
        stem, path = self._path(key)
        try:
            with key_lock(self.directory, stem):
                current = self._read_or_warn(path, key, "overwriting it")
                if current is not None and _newer(current, data):
                    return
                remove_orphans(self.directory, stem)
                write_atomically(path, encode_token_file(key, data, kind=_FORMAT))
        except OSError as exc:
            raise TokenStoreError(
                f"token journal could not record {path}: {exc.strerror or exc}"
            ) from None

    def latest(self, key: str) -> TokenData | None:
        """The newest journaled token for `key`, or None."""
        _, path = self._path(key)
        return read_token_file(path, key, kind=_FORMAT)

    def forget(self, key: str, *, upto: TokenData) -> None:
        """Drop the entry once the shared store holds `upto`: kept only if it is newer."""
        stem, path = self._path(key)
        if not self.directory.is_dir():
            return
        try:
            with key_lock(self.directory, stem):
                if not path.exists():
                    return
                current = self._read_or_warn(path, key, "removing it")
                if current is not None and _still_needed(current, upto):
                    return
                remove_durably(path)
        except OSError as exc:
            raise TokenStoreError(
                f"token journal could not forget {path}: {exc.strerror or exc}"
            ) from None

    async def arecord(self, key: str, data: TokenData) -> None:
        await asyncio.to_thread(self.record, key, data)

    async def alatest(self, key: str) -> TokenData | None:
        return await asyncio.to_thread(self.latest, key)

    async def aforget(self, key: str, *, upto: TokenData) -> None:
        await asyncio.to_thread(lambda: self.forget(key, upto=upto))
