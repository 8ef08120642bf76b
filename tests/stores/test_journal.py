"""`TokenJournal`: newest entry per key, forgotten only when the store holds it, durable and
whole under SIGKILL, never read when corrupted."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from salesforce_typed.auth.token import TokenData
from salesforce_typed.core.errors import TokenStoreError
from salesforce_typed.stores import TokenJournal
from salesforce_typed.stores.file import key_stem


def _token(n: int, *, refresh: str | None = None, version: int = 0) -> TokenData:
    return TokenData(
        access_token=f"at-{n}",
        refresh_token=refresh if refresh is not None else f"rt-{n}",
        instance_url="https://acme.my.salesforce.com",
        issued_at=1_714_560_000.0 + n,
        expires_at=1_714_567_200.0 + n,
        last_refreshed_at=1_714_560_000.0 + n,
        version=version,
    )


def test_record_then_latest_round_trips(tmp_path: Path) -> None:
    journal = TokenJournal(tmp_path)
    assert journal.latest("k") is None
    journal.record("k", _token(1, version=7))
    assert journal.latest("k") == _token(1, version=7)
    assert journal.latest("other") is None


def test_an_older_token_never_replaces_a_newer_one(tmp_path: Path) -> None:
    journal = TokenJournal(tmp_path)
    journal.record("k", _token(5))
    journal.record("k", _token(3))  # a slower process of this host, with an older rotation
    assert journal.latest("k") == _token(5)
    journal.record("k", _token(6))
    assert journal.latest("k") == _token(6)


def test_forget_drops_only_what_the_store_holds(tmp_path: Path) -> None:
    journal = TokenJournal(tmp_path)
    journal.record("k", _token(5))
    journal.forget("k", upto=_token(4))  # the store is behind: keep
    assert journal.latest("k") == _token(5)
    # Versions do not count (they are per store): a high store version of an older token.
    journal.forget("k", upto=_token(4, version=99))
    assert journal.latest("k") == _token(5)
    journal.forget("k", upto=_token(5, version=3))  # the same token, whatever its version
    assert journal.latest("k") is None
    journal.record("k", _token(7))
    journal.forget("k", upto=_token(9))  # the store holds a newer one
    assert journal.latest("k") is None
    journal.forget("k", upto=_token(9))  # nothing to forget is fine


def test_forget_by_refresh_token_when_only_the_access_token_moved(tmp_path: Path) -> None:
    journal = TokenJournal(tmp_path)
    journal.record("k", _token(8, refresh="rt-same"))
    journal.forget("k", upto=_token(2, refresh="rt-same"))  # the store has that refresh token
    assert journal.latest("k") is None


def test_files_are_0600_in_a_0700_directory_and_repr_has_no_secret(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    journal = TokenJournal(directory)
    journal.forget("k", upto=_token(1))
    assert not directory.exists()  # created on the first record
    journal.record("k", _token(1))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert repr(journal) == f"TokenJournal({str(directory)!r})"
    assert "rt-1" not in repr(journal)


def test_default_directory_is_beside_the_file_stores(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from salesforce_typed.stores import FileTokenStore

    monkeypatch.setenv("SALESFORCE_TYPED_HOME", str(tmp_path))
    assert TokenJournal().directory == tmp_path / "journal"
    assert FileTokenStore().directory.parent == TokenJournal().directory.parent


def test_corrupted_entry_is_never_read_and_never_blocks_a_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = TokenJournal(tmp_path)
    journal.record("k", _token(5, refresh="SECRET-RT"))
    path = tmp_path / f"{key_stem('k')}.json"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(TokenStoreError) as caught:
        journal.latest("k")
    assert str(path) in str(caught.value) and "SECRET" not in str(caught.value)
    # A fresh rotation must be journaled whatever the broken entry held (even an older one).
    journal.record("k", _token(1))
    assert journal.latest("k") == _token(1)
    path.write_bytes(b"{")
    journal.forget("k", upto=_token(0))  # cannot be compared: removed, not kept forever
    assert journal.latest("k") is None
    assert "SECRET" not in caplog.text and str(path) in caplog.text


def test_a_token_store_file_is_not_a_journal_entry(tmp_path: Path) -> None:
    from salesforce_typed.stores import FileTokenStore

    assert FileTokenStore(tmp_path).set_token_data("k", _token(1), expected_version=None)
    with pytest.raises(TokenStoreError, match="not a"):
        TokenJournal(tmp_path).latest("k")


async def test_async_twins(tmp_path: Path) -> None:
    journal = TokenJournal(tmp_path)
    assert await journal.alatest("k") is None
    await journal.arecord("k", _token(2))
    assert await journal.alatest("k") == _token(2)
    await journal.aforget("k", upto=_token(2))
    assert journal.latest("k") is None


_RECORDER = textwrap.dedent(
    """
    import sys
    from salesforce_typed.auth.token import TokenData
    from salesforce_typed.stores import TokenJournal

    journal, pad = TokenJournal(sys.argv[1]), "x" * 20000
    previous = journal.latest("k")  # go on from there: an older token would not be kept
    n = 0 if previous is None else int(previous.last_refreshed_at)
    print("ready", flush=True)
    while True:
        n += 1
        journal.record("k", TokenData(
            access_token=f"at-{n}-{pad}", refresh_token=f"rt-{n}",
            instance_url="https://acme.my.salesforce.com",
            issued_at=float(n), expires_at=float(n) + 7200, last_refreshed_at=float(n),
        ))
        print(n, flush=True)  # recorded (fsynced) before this line is written
    """
)


def test_sigkilled_recorder_leaves_the_last_recorded_token_whole(tmp_path: Path) -> None:
    journal, last = TokenJournal(tmp_path), 0
    for n in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", _RECORDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.03 + 0.02 * n)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        acknowledged = [int(line) for line in proc.stdout.read().split()]
        proc.stdout.close()
        entry = journal.latest("k")  # never raises: no half-written entry is visible
        if entry is None:
            assert not acknowledged
            continue
        m = int(entry.last_refreshed_at)
        assert entry.refresh_token == f"rt-{m}" and entry.access_token == f"at-{m}-{'x' * 20000}"
        # Every acknowledged record is durable: the entry is that one or the next, in flight.
        if acknowledged:
            assert m in (acknowledged[-1], acknowledged[-1] + 1)
        assert m >= last
        last = m
    assert last > 0, "the recorder never recorded (raise the sleeps)"
