"""The CLI run twice with the refresh token `fake-org serve` printed, rotation ON: both succeed.

The first run spends the seed refresh token; the rotated one is kept in the file store
(`SALESFORCE_TYPED_HOME`, a temp dir here), and the second run refreshes with it. The fake org
answers `invalid_grant` to any older refresh token of the family (and revokes the family), so
the second success is the proof; the store's content and a last run that opts out of the file
store (`SF_TOKEN_STORE=memory`, back to the seed) confirm it.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from salesforce_typed import FileTokenStore, RefreshTokenGrant

CLI = str(Path(sys.executable).with_name("salesforce-typed"))
TIMEOUT_S = 120  # bounds a hung child; nothing asserts on time


@pytest.fixture
def org_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """SF_* of a `fake-org serve --tls --env-file` with rotation on (its default)."""
    env_file, printed = tmp_path / "fake-org.env", tmp_path / "fake-org.json"
    base = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    with printed.open("wb") as out:
        proc = subprocess.Popen(
            [CLI, "fake-org", "serve", "--tls", "--env-file", str(env_file)],
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=base | {"NO_COLOR": "1"},
        )
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (env_file.exists() and printed.stat().st_size):
            assert proc.poll() is None, "fake-org serve exited"
            assert time.monotonic() < deadline, "fake-org serve printed nothing"
            time.sleep(0.05)
        credentials = json.loads(printed.read_text(encoding="utf-8").splitlines()[0])
        yield {f"SF_{name.upper()}": value for name, value in credentials.items()}
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        proc.wait(timeout=30)


def _extract(
    env: dict[str, str], home: Path, cwd: Path, out: str
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    return subprocess.run(
        [CLI, "bulk", "extract", "SELECT Id, Name FROM Account", "--out", out],
        env=base | env | {"SALESFORCE_TYPED_HOME": str(home), "NO_COLOR": "1", "TERM": "dumb"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_bulk_extract_twice_with_rotation_refreshes_with_the_rotated_token(
    org_env: dict[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    store = FileTokenStore(home / "tokens")
    key = RefreshTokenGrant.from_env(org_env).store_key()
    seed = org_env["SF_REFRESH_TOKEN"]

    first = _extract(org_env, home, tmp_path, "first.csv")
    assert first.returncode == 0, first.stdout + first.stderr
    after_first = store.get_token_data(key)
    assert after_first is not None and after_first.refresh_token not in (None, seed)

    # Every access token dies: the second run must refresh, with the stored rotated token.
    expired = httpx.post(
        f"{org_env['SF_INSTANCE_URL']}/_admin/expire-sessions",
        verify=ssl.create_default_context(cafile=org_env["SF_CA_FILE"]),
    )
    assert expired.status_code == 200, expired.text
    second = _extract(org_env, home, tmp_path, "second.csv")
    assert second.returncode == 0, second.stdout + second.stderr
    after_second = store.get_token_data(key)
    assert after_second is not None
    assert after_second.refresh_token not in (None, seed, after_first.refresh_token)
    assert after_second.version > after_first.version
    for run in (first, second):
        assert seed not in run.stdout + run.stderr
        assert org_env["SF_CLIENT_SECRET"] not in run.stdout + run.stderr
    header = '"Id","Name"'
    assert (tmp_path / "first.csv").read_text(encoding="utf-8").splitlines()[0] == header
    assert (tmp_path / "second.csv").read_text(encoding="utf-8").splitlines()[0] == header

    # Opting out of the file store goes back to the seed, which rotation has spent.
    memory = _extract(org_env | {"SF_TOKEN_STORE": "memory"}, home, tmp_path, "third.csv")
    assert memory.returncode == 2
    assert "invalid_grant" in memory.stdout + memory.stderr


def test_a_bad_token_store_choice_exits_2_naming_the_variable(
    org_env: dict[str, str], tmp_path: Path
) -> None:
    done = _extract(org_env | {"SF_TOKEN_STORE": "floppy"}, tmp_path, tmp_path, "x.csv")
    assert done.returncode == 2
    assert "SF_TOKEN_STORE" in done.stderr
    assert not (tmp_path / "tokens").exists()
