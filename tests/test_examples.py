"""Every script in examples/ runs as a user would run it, against its own fake org.

Each runs in a subprocess with a timeout, with every `SF_*` variable removed so the default
(fake org) mode is what is tested, and must exit 0. Scripts are found by listing the folder,
so a new example is run without being registered here; those listed in EXPECTED must also
print the lines that show their point.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TIMEOUT_S = 120

# script -> lines its output must contain
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))

EXPECTED: dict[str, tuple[str, ...]] = {
    "crud.py": (
        "created Account 001",
        "BillingCity='Paris' Industry=None (cleared with None)",
        "created=False (an update: 200)",
        "NumberOfEmployees=42",
        "NotFoundError status=404 error_code=NOT_FOUND",
        "crud: done",
    ),
    "query.py": (
        "created 250 of 250",
        "an injection attempt as a bind value matches 0 rows",
        "page 1: 200 records, done=False, totalSize=250",
        "page 2: 50 records, done=True, totalSize=250",
        "iterating record by record: 250 Accounts",
        ": 2 contacts ['Ng', 'Okafor']",
        "query: 0 rows; queryAll: [('001",
        "deleted 249 Accounts",
        "query: done",
    ),
    "search.py": ("2 hits, typed as ['Account', 'Contact']", "search: done"),
    "apex_rest.py": (
        '"lineItems": [{"n": 0}, {"n": 1}, {"n": 2}]',
        '"customer": "Acme"',
        "ServerError 500 APEX_ERROR: LookupError: no order 999",
        "NotFoundError 404 NOT_FOUND",
        "apex_rest: done",
    ),
    "composite.py": (
        "ok=True",
        "  con: 201",
        "  broken: 400 REQUIRED_FIELD_MISSING",
        "  acc2: 400 PROCESSING_HALTED",
        "the cause, rollback markers left out: ['broken']",
        "after the rollback: 0",
        "composite: done",
    ),
    "async_tour.py": (
        "20 created in",
        "20 Leads (totalSize=20)",
        "deleted 20 Leads",
        "async_tour: done",
    ),
    "pubsub_listener.py": (
        "CREATE ['001",
        "UPDATE ['001",
        "DELETE ['001",
        "-> AccountChangeEvent",
        "checkpoint after the handler: pubsub:/data/AccountChangeEvent = 0000",
        "run 1 got ['CREATE', 'UPDATE', 'DELETE']; run 2 got 2 events, 0 of them repeated",
        "pubsub_listener: done",
    ),
    "pubsub_listener_postgres.py": (
        "leads (epoch 1) over Pub/Sub; the other replica stands by",
        "handled 5 creates; checkpoint pubsub:/data/AccountChangeEvent = 0000",
        "(SIGKILL)",
        "leads (epoch 2), resuming after 0000",
        "handled 5 creates after the takeover",
        "every record handled, once",
        "dropped the example_psl_",
    ),
}

ACCESS_TOKEN = re.compile(r"00D\w{12}!")  # `<org id>!<secret>`: must never be printed


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_the_examples_are_found_and_documented() -> None:
    assert set(EXPECTED) <= set(SCRIPTS)
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    undocumented = [name for name in SCRIPTS if f"examples/{name}" not in readme]
    assert undocumented == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_against_a_fake_org(script: str) -> None:
    done = _run(script, _env())
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    out = done.stdout
    if "from _connect import" in (EXAMPLES / script).read_text(encoding="utf-8"):
        assert out.startswith("[fake org] https://127.0.0.1:")
    for line in EXPECTED.get(script, ()):
        assert line in out, f"{script}: missing {line!r} in\n{out}"
    assert not ACCESS_TOKEN.search(out + done.stderr)


def test_real_org_mode_names_missing_settings_without_echoing_secrets() -> None:
    secret = "do-not-print-this-secret"
    env = _env(SF_INSTANCE_URL="https://example.invalid", SF_CLIENT_SECRET=secret)
    done = _run("crud.py", env)
    assert done.returncode == 1  # SystemExit with a message
    assert "SF_CLIENT_ID, SF_REFRESH_TOKEN" in done.stderr
    assert secret not in done.stdout + done.stderr
