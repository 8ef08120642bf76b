"""`FileTokenStore`: the contract on a fake clock, the multi-process contract on one directory
with real processes, SIGKILLed writers, corrupted files, permissions, the default directory."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from contract import ASYNC_CHECKS, SYNC_CHECKS, AsyncCheck, StoreHarness, SyncCheck, check_id
from contract import token as make_token
from process_contract import (
    check_cas_never_loses_an_update_across_processes,
    check_crashed_holder_lock_expires,
    check_lock_excludes_across_processes,
    check_stale_writer_is_refused_across_stores,
)

import salesforce_typed
from salesforce_typed.auth.token import TokenData, TokenStore
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.core.errors import TokenStoreError, UsageError
from salesforce_typed.stores import FileTokenStore, MemoryTokenStore
from salesforce_typed.stores.file import config_home, default_token_store, key_stem

KILL_ROUNDS = 12


def _harness(directory: Path) -> StoreHarness:
    clock = FakeClock()
    return StoreHarness(store=FileTokenStore(directory, clock=clock), advance=clock.advance)


@pytest.mark.parametrize("check", SYNC_CHECKS, ids=check_id)
def test_contract(check: SyncCheck, tmp_path: Path) -> None:
    check(lambda: _harness(tmp_path / "tokens"))


@pytest.mark.parametrize("check", ASYNC_CHECKS, ids=check_id)
async def test_async_contract(check: AsyncCheck, tmp_path: Path) -> None:
    await check(lambda: _harness(tmp_path / "tokens"))


def test_implements_the_protocol(tmp_path: Path) -> None:
    assert isinstance(FileTokenStore(tmp_path), TokenStore)
    assert salesforce_typed.FileTokenStore is FileTokenStore


# --- several real processes on one directory -------------------------------------------------


@attrs.frozen
class FileSpec:
    """What a spawned child needs to open its own store on the shared directory."""

    directory: str

    def open(self) -> FileTokenStore:
        return FileTokenStore(self.directory)


PROCESS_CHECKS = (
    check_lock_excludes_across_processes,
    check_cas_never_loses_an_update_across_processes,
    check_stale_writer_is_refused_across_stores,
    check_crashed_holder_lock_expires,
)


@pytest.mark.parametrize("check", PROCESS_CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_across_processes(check: Callable[..., None], tmp_path: Path) -> None:
    # The contract's checks take the Redis/PostgreSQL spec type; they only call `.open()`.
    check(FileSpec(str(tmp_path / "shared")))


# --- a writer SIGKILLed in the middle of writes ------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import sys
    from salesforce_typed.auth.token import TokenData
    from salesforce_typed.stores import FileTokenStore

    store = FileTokenStore(sys.argv[1])
    key = sys.argv[2]
    pad = "x" * 20000  # a large file, so a kill lands mid-write often
    print("ready", flush=True)
    while True:
        current = store.get_token_data(key)
        v = 1 if current is None else current.version + 1
        data = TokenData(
            access_token=f"at-{v}-{pad}", refresh_token=f"rt-{v}",
            instance_url="https://acme.my.salesforce.com",
            issued_at=float(v), expires_at=float(v) + 7200, last_refreshed_at=float(v), version=v,
        )
        store.set_token_data(key, data, expected_version=None if current is None else v - 1)
    """
)


def _consistent(data: TokenData) -> bool:
    v = data.version
    return (
        data.access_token == f"at-{v}-{'x' * 20000}"
        and data.refresh_token == f"rt-{v}"
        and data.last_refreshed_at == float(v)
    )


def test_sigkilled_writer_never_leaves_a_broken_or_foreign_token(tmp_path: Path) -> None:
    directory, key = tmp_path / "tokens", f"kill:{uuid.uuid4().hex}"
    store = FileTokenStore(directory)
    last = 0
    for n in range(KILL_ROUNDS):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(directory), key],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.02 + 0.013 * n)  # kills land at different points of a write
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stdout.close()
        data = store.get_token_data(key)  # never raises: no half-written file is visible
        if data is None:
            assert last == 0
            continue
        assert _consistent(data), f"round {n}: version {data.version} is not what was written"
        assert data.version >= last  # never an older token
        last = data.version
    assert last > 0, "the writer never wrote (raise the sleeps)"
    # The next write goes on from there and removes the temp files the kills left behind.
    final = make_token(last + 1)
    assert store.set_token_data(key, final, expected_version=last)
    assert store.get_token_data(key) == final
    assert not list(directory.glob(".*.tmp"))


# --- corrupted files, permissions, repr, location -----------------------------------------------


def test_corrupted_file_raises_naming_the_file_not_its_content(tmp_path: Path) -> None:
    store, key = FileTokenStore(tmp_path), "corrupt:key"
    assert store.set_token_data(key, make_token(1, access="SECRET-AT"), expected_version=None)
    path = tmp_path / f"{key_stem(key)}.json"
    whole = path.read_bytes()
    record = json.loads(whole)
    record["token"]["access_token"] = "SECRET-OTHER"  # a valid JSON file, tampered
    damaged = {
        "truncated": whole[: len(whole) // 2],
        "empty": b"",
        "binary": b"\x00\xff SECRET-AT",
        "tampered": json.dumps(record).encode(),
        "not an object": b'["SECRET-AT"]',
    }
    for name, payload in damaged.items():
        path.write_bytes(payload)
        with pytest.raises(TokenStoreError) as caught:
            store.get_token_data(key)
        message = str(caught.value)
        assert str(path) in message, name
        assert "SECRET" not in message, name
        with pytest.raises(TokenStoreError):  # a write never builds on a broken file either
            store.set_token_data(key, make_token(2), expected_version=1)
    store.clear_token_data(key)  # clearing is the way out
    assert store.get_token_data(key) is None


def test_a_file_moved_to_another_key_is_refused(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    assert store.set_token_data("a", make_token(1), expected_version=None)
    (tmp_path / f"{key_stem('a')}.json").rename(tmp_path / f"{key_stem('b')}.json")
    with pytest.raises(TokenStoreError, match="another key"):
        store.get_token_data("b")


def test_files_are_0600_and_a_created_directory_0700(tmp_path: Path) -> None:
    directory = tmp_path / "deep" / "tokens"
    store = FileTokenStore(directory)
    assert not directory.exists()  # nothing is created before the first write
    assert store.get_token_data("k") is None
    assert not directory.exists()
    assert store.set_token_data("k", make_token(1), expected_version=None)
    assert store.acquire_lock("k", "me", 30.0)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = list(directory.iterdir())
    assert {p.suffix for p in files} == {".json", ".lock", ".lease"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        assert path.stem == key_stem("k")  # a hash: the key never shows in a name


def test_repr_shows_the_directory_and_no_secret(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    assert store.set_token_data("k", make_token(1, access="SECRET-AT"), expected_version=None)
    assert repr(store) == f"FileTokenStore({str(tmp_path)!r})"
    assert "SECRET" not in repr(store)


def test_default_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SALESFORCE_TYPED_HOME", str(tmp_path / "home"))
    assert FileTokenStore().directory == tmp_path / "home" / "tokens"
    monkeypatch.delenv("SALESFORCE_TYPED_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert config_home() == tmp_path / "xdg" / "salesforce-typed"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert config_home() == tmp_path / "user" / ".config" / "salesforce-typed"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert config_home() == tmp_path / "user" / "Library" / "Application Support" / (
        "salesforce-typed"
    )
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "appdata"))
    assert config_home() == tmp_path / "appdata" / "salesforce-typed"


def test_lease_is_wall_time_shared_by_stores_on_one_directory(tmp_path: Path) -> None:
    clock = FakeClock()
    first = FileTokenStore(tmp_path, clock=clock)
    second = FileTokenStore(tmp_path, clock=clock)
    assert first.acquire_lock("k", "a", 10.0)
    assert not second.acquire_lock("k", "b", 10.0)
    lease = json.loads((tmp_path / f"{key_stem('k')}.lease").read_text())
    assert lease == {"owner": "a", "until": clock.now() + 10.0}
    clock.advance(11.0)
    assert second.acquire_lock("k", "b", 10.0)
    assert not first.renew_lock("k", "a", 10.0)


def test_calls_on_a_missing_directory_create_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "none"
    store = FileTokenStore(directory)
    assert not store.release_lock("k", "a")
    assert not store.renew_lock("k", "a", 1.0)
    store.clear_token_data("k")
    assert not directory.exists()


def test_unusable_directory_raises_a_token_store_error(tmp_path: Path) -> None:
    directory = tmp_path / "a-file"
    directory.write_text("not a directory")
    with pytest.raises(TokenStoreError, match="could not write the token"):
        FileTokenStore(directory).set_token_data("k", make_token(1), expected_version=None)
    with pytest.raises(TokenStoreError, match="could not take the refresh lock"):
        FileTokenStore(directory).acquire_lock("k", "a", 1.0)


def test_default_token_store_is_the_file_store_unless_memory_is_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SALESFORCE_TYPED_HOME", str(tmp_path))
    for value in ("", "file", " FILE "):
        store = default_token_store({"SF_TOKEN_STORE": value})
        assert isinstance(store, FileTokenStore) and store.directory == tmp_path / "tokens"
    assert isinstance(default_token_store({}), FileTokenStore)
    assert isinstance(default_token_store({"SF_TOKEN_STORE": "memory"}), MemoryTokenStore)
    with pytest.raises(UsageError, match="SF_TOKEN_STORE"):
        default_token_store({"SF_TOKEN_STORE": "redis"})
