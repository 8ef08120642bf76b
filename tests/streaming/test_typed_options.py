"""What `mypy --strict` tells a user building a listener: typed options, no `**kwargs: Any`.

One mypy run checks two user files: `good.py` must be clean (with the revealed types
marked `# REVEAL`), and every line of `bad.py` marked `# E: <code>` must draw exactly that
error, unmarked lines none. The options are one `ListenerOptions` TypedDict unpacked into
`AsyncListener`, `Listener`, their `from_client` and `sf.listener`, so a misspelled option
is a type error at every entry.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
from __future__ import annotations

import ssl

from salesforce_typed import AsyncSalesforce, RefreshTokenGrant, Salesforce, SalesforceAuth
from salesforce_typed.stores.memory import MemoryTokenStore
from salesforce_typed.streaming import AsyncListener, Backoff, Listener, ReplayFallback

grant = RefreshTokenGrant(client_id="id", refresh_token="rt")


def on_error(error: Exception) -> None:
    print(error)


async def async_face(sf: AsyncSalesforce) -> AsyncListener:
    listener = sf.listener(on_error=on_error, handler_attempts=2, backoff=Backoff())
    reveal_type(listener)  # REVEAL async
    AsyncListener.from_client(sf, replay_fallback=ReplayFallback.TIP, verify="ca.pem")
    return listener


def sync_face(sf: Salesforce) -> Listener:
    listener = sf.listener(api_version="61.0", dedupe_window=100, checkpoints=None)
    reveal_type(listener)  # REVEAL sync
    Listener.from_client(sf, strict_decoding=True)
    return listener


AsyncListener(auth=grant, token_store=MemoryTokenStore(), verify=ssl.create_default_context())
Listener(auth=SalesforceAuth(grant), instance_url="https://x.my.salesforce.com", verify=False)
"""

BAD = """\
from __future__ import annotations

from salesforce_typed import AsyncSalesforce, RefreshTokenGrant, Salesforce
from salesforce_typed.streaming import AsyncListener, Listener

grant = RefreshTokenGrant(client_id="id", refresh_token="rt")


def sync_face(sf: Salesforce) -> None:
    sf.listener(handler_atempts=2)  # E: call-arg
    sf.listener(dedupe_window="many")  # E: arg-type
    sf.listener(verify=False)  # E: call-arg
    Listener.from_client(sf, on_eror=print)  # E: call-arg


async def async_face(sf: AsyncSalesforce) -> None:
    sf.listener(replay_fallback="tip")  # E: arg-type
    AsyncListener.from_client(sf, verify=1)  # E: arg-type


AsyncListener(auth="a token")  # E: arg-type
AsyncListener(auth=grant, token_store="redis://")  # E: arg-type
Listener(auth=grant, http_client=None)  # E: call-arg
Listener.from_client(object())  # E: arg-type
"""

LINE = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<sev>error|note): (?P<msg>.*?)"
    r"(?:  \[(?P<code>[a-z-]+)\])?$"
)


@pytest.fixture(scope="module")
def mypy_rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], str]:
    work = tmp_path_factory.mktemp("mypy_listener")
    (work / "good.py").write_text(GOOD, encoding="utf-8")
    (work / "bad.py").write_text(BAD, encoding="utf-8")
    (work / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
    env = dict(os.environ, MYPYPATH=str(REPO / "generated"))
    env.pop("MYPY_CACHE_DIR", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            str(work / ".mypy_cache"),
            "--show-error-codes",
            "--no-pretty",
            "--hide-error-context",
            "--no-error-summary",
            "--no-color-output",
            "good.py",
            "bad.py",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    raw = result.stdout + result.stderr
    assert result.returncode == 1, raw  # bad.py fails; 2 would mean mypy could not run
    rows = []
    for line in result.stdout.splitlines():
        m = LINE.match(line)
        assert m is not None, f"unparsed mypy output: {line!r}\n{raw}"
        rows.append({k: v or "" for k, v in m.groupdict().items()})
    assert [r for r in rows if r["file"] not in ("good.py", "bad.py")] == [], raw
    return rows, raw


def marked(text: str, marker: str) -> dict[int, str]:
    return {
        n: line.split(marker, 1)[1].strip()
        for n, line in enumerate(text.splitlines(), start=1)
        if marker in line
    }


def test_correct_listener_code_passes_and_each_face_gets_its_listener(
    mypy_rows: tuple[list[dict[str, str]], str],
) -> None:
    rows, raw = mypy_rows
    assert [r for r in rows if r["file"] == "good.py" and r["sev"] == "error"] == [], raw
    reveals = marked(GOOD, "# REVEAL")
    notes = {
        reveals[int(r["line"])]: r["msg"]
        for r in rows
        if r["file"] == "good.py" and r["sev"] == "note" and int(r["line"]) in reveals
    }
    assert notes == {
        "async": 'Revealed type is "salesforce_typed.streaming._async.listener.AsyncListener"',
        "sync": 'Revealed type is "salesforce_typed.streaming.facade.Listener"',
    }, raw


def test_each_wrong_option_draws_its_error(mypy_rows: tuple[list[dict[str, str]], str]) -> None:
    rows, raw = mypy_rows
    expected = marked(BAD, "# E:")
    got: dict[int, set[str]] = defaultdict(set)
    for r in rows:
        if r["file"] == "bad.py" and r["sev"] == "error":
            got[int(r["line"])].add(r["code"])
    assert set(got) == set(expected), raw  # no missed error, no error on an unmarked line
    for line, code in expected.items():
        assert got[line] == {code}, (line, BAD.splitlines()[line - 1], raw)


def test_a_misspelled_option_is_named(mypy_rows: tuple[list[dict[str, str]], str]) -> None:
    rows, raw = mypy_rows
    line = next(n for n, text in enumerate(BAD.splitlines(), 1) if "handler_atempts" in text)
    messages = " ".join(r["msg"] for r in rows if r["file"] == "bad.py" and int(r["line"]) == line)
    assert '"handler_atempts"' in messages and "listener" in messages, raw
