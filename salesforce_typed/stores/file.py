"""`FileTokenStore`: the persistent token store for one machine (the CLI's default).

One directory holds, per key (file names are a sha256 of the key, the key is stored inside):
- `<hash>.json`  the token, written atomically: a temp file in the same directory, flush and
  fsync, `os.replace`, then an fsync of the directory. A reader sees the old file or the new
  one, never a mix; a process killed mid-write leaves only an orphan temp file, removed by the
  next writer of that key.
- `<hash>.lock`  an empty file that `fcntl.flock` (`msvcrt.locking` on Windows) locks
  exclusively around every read-compare-write: the compare-and-set on `version` and the
  refresh lock hold across processes and threads alike. It is never deleted (deleting a lock
  file lets two processes lock two different inodes).
- `<hash>.lease` the refresh lock: owner and expiry, replaced atomically under the flock. Not
  fsynced: after a crash of the machine no holder survives anyway.

What must stay true:
- Lease expiry is *wall* time (`clock.now()`): monotonic clocks do not compare across
  processes. A wall clock stepped by an administrator shortens or lengthens a live lease by
  the step; the flow's lock TTL should leave room for that.
- A corrupted or half-written token file is never read as a token: every file carries a
  sha256 of its token and the key, and anything else raises `TokenStoreError` naming the file,
  never quoting it.
- Files are 0600 and a directory this store creates is 0700; `repr` shows the directory only.
- The directory is `directory`, else `$SALESFORCE_TYPED_HOME/tokens`, else the platform's
  config dir (`config_home()`), created on the first write.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from salesforce_typed.auth.token import TokenData, TokenStore
from salesforce_typed.core.clock import Clock, SystemClock
from salesforce_typed.core.errors import TokenStoreError, UsageError

__all__ = ["FileTokenStore", "config_home", "default_token_store"]

APP_DIR = "salesforce-typed"
HOME_ENV = "SALESFORCE_TYPED_HOME"
STORE_ENV = "SF_TOKEN_STORE"
_FORMAT = "salesforce-typed/token-file/1"


def config_home() -> Path:
    """Where salesforce-typed keeps per-user state: `$SALESFORCE_TYPED_HOME` if set, else
    `%APPDATA%\\salesforce-typed` (Windows), `~/Library/Application Support/salesforce-typed`
    (macOS), `$XDG_CONFIG_HOME/salesforce-typed` or `~/.config/salesforce-typed` (elsewhere)."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA")
        base = Path(appdata) if appdata else Path.home() / "AppData" / "Roaming"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME")
        # The XDG spec ignores a relative value.
        base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return base / APP_DIR


def default_token_store(environ: Mapping[str, str] | None = None) -> TokenStore:
    """The store the CLI uses: a `FileTokenStore()`, so a rotated refresh token outlives the
    process, unless `SF_TOKEN_STORE=memory` asks for a private in-memory one (`file` is the
    explicit default). Anything else is a `UsageError` naming the variable."""
    from salesforce_typed.stores.memory import MemoryTokenStore

    choice = (os.environ if environ is None else environ).get(STORE_ENV, "").strip().lower()
    if choice in ("", "file"):
        return FileTokenStore()
    if choice == "memory":
        return MemoryTokenStore()
    raise UsageError(f"{STORE_ENV} is 'file' (the default) or 'memory', not {choice!r}")


def key_stem(key: str) -> str:
    """The file-name stem for `key`: fixed length, no path characters, no secret in it."""
    return hashlib.sha256(key.encode()).hexdigest()


# --- files: atomic writes, checked reads, a lock per key ---------------------------------------


def ensure_directory(directory: Path) -> None:
    """Create `directory` (0700) if missing; parents get the usual mode."""
    if directory.is_dir():
        return
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=0o700)
    except FileExistsError:
        return  # a peer created it first
    os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask


def _fsync_directory(directory: Path) -> None:
    if os.name == "nt":
        return  # directories cannot be opened for fsync there; NTFS journals renames
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, payload: bytes, *, durable: bool = True) -> None:
    """Replace `path` with `payload` (mode 0600) so readers see the old or the new file.

    `durable` fsyncs the file before the rename and the directory after it, so the new file
    survives a crash of the machine, not only of the process.
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_directory(path.parent)


def remove_durably(path: Path) -> None:
    """Delete `path` if present, and make the deletion survive a crash of the machine."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    _fsync_directory(path.parent)


def remove_orphans(directory: Path, stem: str) -> None:
    """Delete temp files a killed writer of `stem` left behind (call under `stem`'s flock)."""
    for orphan in directory.glob(f".{stem}.*.tmp"):
        with contextlib.suppress(OSError):
            orphan.unlink()


@contextlib.contextmanager
def key_lock(directory: Path, stem: str) -> Iterator[None]:
    """Hold the exclusive lock of `stem` (across threads and processes on this host)."""
    ensure_directory(directory)
    path = directory / f"{stem}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    try:
        _lock_fd(fd)
        try:
            yield
        finally:
            _unlock_fd(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":
    import msvcrt
    import time

    def _lock_fd(fd: int) -> None:
        while True:  # LK_LOCK gives up after ~10 s; waiting longer is the caller's deadline
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                time.sleep(0.01)

    def _unlock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _checksum(key: str, body: dict[str, Any]) -> str:
    canonical = json.dumps([key, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def encode_token_file(key: str, data: TokenData, *, kind: str = _FORMAT) -> bytes:
    """A token file's bytes: format, key, token and a sha256 over key and token."""
    body = data.to_dict()
    record = {"format": kind, "key": key, "token": body, "sha256": _checksum(key, body)}
    return json.dumps(record, sort_keys=True, indent=1).encode()


def read_token_file(path: Path, key: str, *, kind: str = _FORMAT) -> TokenData | None:
    """The token in `path` (None when there is no file), or `TokenStoreError` naming the file
    when it is not one whole, checksummed token file for `key`. Its content is never quoted."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TokenStoreError(f"cannot read token file {path}: {exc.strerror}") from None
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TokenStoreError(f"corrupted token file {path}: not JSON ({len(raw)} bytes)") from None
    problem = _token_file_problem(record, key, kind)
    if problem:
        raise TokenStoreError(f"corrupted token file {path}: {problem}")
    try:
        return TokenData.from_dict(record["token"])
    except (KeyError, TypeError, ValueError):
        raise TokenStoreError(f"corrupted token file {path}: missing or bad fields") from None


def _token_file_problem(record: object, key: str, kind: str) -> str:
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("format") != kind:
        return f"not a {kind} file"
    body = record.get("token")
    if not isinstance(body, dict):
        return "no token object"
    if record.get("sha256") != _checksum(str(record.get("key")), body):
        return "checksum mismatch"
    if record.get("key") != key:
        return "it holds another key"
    return ""


def _os_error(action: str, exc: OSError) -> TokenStoreError:
    where = f" {exc.filename}" if exc.filename else ""
    return TokenStoreError(f"token store could not {action}{where}: {exc.strerror or exc}")


@attrs.frozen(slots=True)
class _Lease:
    owner: str
    until: float  # wall-clock seconds (see the module docstring)


class FileTokenStore:
    """A `TokenStore` in a directory: one checksummed JSON file per key, flock-guarded.

    Serves the threads and processes of one host (the CLI run twice, cron jobs, scripts).
    Replicas on several hosts need a shared store (Redis, PostgreSQL). Async methods run the
    sync ones in a worker thread: file I/O and fsync are short, but they block.
    """

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, clock: Clock | None = None
    ) -> None:
        self.directory = (
            Path(directory).expanduser() if directory is not None else config_home() / "tokens"
        )
        self._clock: Clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.directory)!r})"

    def _paths(self, key: str) -> tuple[str, Path, Path]:
        stem = key_stem(key)
        return stem, self.directory / f"{stem}.json", self.directory / f"{stem}.lease"

    # --- the refresh lock -------------------------------------------------------------------

    def _read_lease(self, path: Path) -> _Lease | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            record = json.loads(raw)
            return _Lease(str(record["owner"]), float(record["until"]))
        except (ValueError, KeyError, TypeError):
            raise TokenStoreError(f"corrupted lock lease file {path}") from None

    def _write_lease(self, path: Path, owner: str, until: float) -> None:
        payload = json.dumps({"owner": owner, "until": until}).encode()
        write_atomically(path, payload, durable=False)

    def acquire_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        if ttl_s <= 0:
            raise UsageError(f"lock TTL must be positive, got {ttl_s}")
        stem, _, lease_path = self._paths(key)
        try:
            with key_lock(self.directory, stem):
                now = self._clock.now()
                lease = self._read_lease(lease_path)
                if lease is not None and lease.until > now:
                    return False
                self._write_lease(lease_path, owner, now + ttl_s)
                return True
        except OSError as exc:
            raise _os_error("take the refresh lock", exc) from None

    def release_lock(self, key: str, owner: str) -> bool:
        stem, _, lease_path = self._paths(key)
        if not self.directory.is_dir():
            return False
        try:
            with key_lock(self.directory, stem):
                lease = self._read_lease(lease_path)
                if lease is None or lease.owner != owner:
                    return False
                lease_path.unlink(missing_ok=True)
                return lease.until > self._clock.now()
        except OSError as exc:
            raise _os_error("release the refresh lock", exc) from None

    def renew_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        if ttl_s <= 0:
            raise UsageError(f"lock TTL must be positive, got {ttl_s}")
        stem, _, lease_path = self._paths(key)
        if not self.directory.is_dir():
            return False
        try:
            with key_lock(self.directory, stem):
                now = self._clock.now()
                lease = self._read_lease(lease_path)
                if lease is None or lease.owner != owner or lease.until <= now:
                    return False
                self._write_lease(lease_path, owner, now + ttl_s)
                return True
        except OSError as exc:
            raise _os_error("renew the refresh lock", exc) from None

    # --- the token --------------------------------------------------------------------------

    def get_token_data(self, key: str) -> TokenData | None:
        # No flock: os.replace makes every read see one whole file.
        _, token_path, _ = self._paths(key)
        return read_token_file(token_path, key)

    def set_token_data(self, key: str, data: TokenData, *, expected_version: int | None) -> bool:
        stem, token_path, _ = self._paths(key)
        try:
            with key_lock(self.directory, stem):
                current = read_token_file(token_path, key)
                stored_version = None if current is None else current.version
                if stored_version != expected_version:
                    return False
                remove_orphans(self.directory, stem)
                write_atomically(token_path, encode_token_file(key, data))
                return True
        except OSError as exc:
            raise _os_error("write the token", exc) from None

    def clear_token_data(self, key: str) -> None:
        stem, token_path, _ = self._paths(key)
        if not self.directory.is_dir():
            return
        try:
            with key_lock(self.directory, stem):
                remove_durably(token_path)
        except OSError as exc:
            raise _os_error("clear the token", exc) from None

    def close(self) -> None:
        """Nothing to close (files are opened per call); here so stores are interchangeable."""

    # --- async twins: the same calls in a worker thread -------------------------------------

    async def aacquire_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        return await asyncio.to_thread(self.acquire_lock, key, owner, ttl_s)

    async def arelease_lock(self, key: str, owner: str) -> bool:
        return await asyncio.to_thread(self.release_lock, key, owner)

    async def arenew_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        return await asyncio.to_thread(self.renew_lock, key, owner, ttl_s)

    async def aget_token_data(self, key: str) -> TokenData | None:
        return await asyncio.to_thread(self.get_token_data, key)

    async def aset_token_data(
        self, key: str, data: TokenData, *, expected_version: int | None
    ) -> bool:
        return await asyncio.to_thread(
            lambda: self.set_token_data(key, data, expected_version=expected_version)
        )

    async def aclear_token_data(self, key: str) -> None:
        await asyncio.to_thread(self.clear_token_data, key)

    async def aclose(self) -> None:
        self.close()
