"""`salesforce-typed generate --from-org` against a loopback REST server serving real describes.

The server is a plain `http.server` on 127.0.0.1 (port 0) answering describeGlobal and the
per-object describe calls with the CumulusCI recordings, and checking the bearer token as
Salesforce does. It records every request and how many describes were in flight at once.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]

TOKEN = "00Dxx0000001gPL!AQ4AQFakeAccessTokenForLoopbackTestsOnly.9mE2"
WRONG_TOKEN = "00Dxx0000001gPL!AQ4AQStaleTokenThatMustNeverBePrinted.Zq7"
BASE = "/services/data/v62.0/sobjects"
# Describe requests hold until a second one arrives (or this many seconds pass, once).
CONCURRENCY_WAIT = 10.0
# The org's ChangeEvent entities: CDC is on for Account and the custom object only.
EVENTS = ("AccountChangeEvent", "Custom__ChangeEvent")
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
SELECTION = [
    "--objects",
    "Account",
    "--objects",
    "Case",
    "--objects",
    "Contact",
    "--objects",
    "Custom__c",
    "--objects",
    "Event",
    "--objects",
    "Lead",
    "--objects",
    "Opportunity*",
]


class FakeOrg:
    """What the server serves and what it saw."""

    def __init__(self, global_doc: dict[str, Any], describes: dict[str, Any]) -> None:
        self.global_doc = global_doc
        self.describes = describes
        self.requests: list[tuple[str, str]] = []  # (path, Authorization header)
        self.cond = threading.Condition()
        self.in_flight = 0
        self.peak = 0
        self.gave_up_waiting = False

    def describe_started(self) -> None:
        with self.cond:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.cond.notify_all()
            if not self.gave_up_waiting and not self.cond.wait_for(
                lambda: self.peak >= 2, timeout=CONCURRENCY_WAIT
            ):
                self.gave_up_waiting = True  # serial client: stop stalling it, the test fails

    def describe_finished(self) -> None:
        with self.cond:
            self.in_flight -= 1


def make_handler(org: FakeOrg) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            auth = self.headers.get("Authorization", "")
            org.requests.append((self.path, auth))
            if auth != f"Bearer {TOKEN}":
                # Salesforce's answer to a bad or expired token; it never echoes the token.
                body = [
                    {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
                ]
                self._send(401, body)
                return
            if self.path == BASE:
                self._send(200, org.global_doc)
                return
            name = self.path.removeprefix(BASE + "/").removesuffix("/describe")
            if not self.path.endswith("/describe"):
                self._send(404, NOT_FOUND)
                return
            org.describe_started()
            try:
                if name in org.describes:
                    self._send(200, org.describes[name])
                else:
                    self._send(404, NOT_FOUND)
            finally:
                org.describe_finished()

    return Handler


def describe_global(describe_dir: Path, names: list[str]) -> dict[str, Any]:
    """The recorded describeGlobal, plus every described object and ChangeEvent it lacks."""
    doc: dict[str, Any] = json.loads((describe_dir / "describeGlobal.json").read_bytes())
    listed = {s["name"] for s in doc["sobjects"]}
    template = next(s for s in doc["sobjects"] if s["name"] == "Account")
    for name in [*names, *EVENTS]:
        if name not in listed:
            entry = dict(
                template, name=name, label=name, keyPrefix=None, custom=name.endswith("__c")
            )
            entry["urls"] = {
                "sobject": f"{BASE}/{name}",
                "describe": f"{BASE}/{name}/describe",
                "rowTemplate": f"{BASE}/{name}/{{ID}}",
            }
            doc["sobjects"].append(entry)
    return doc


@pytest.fixture
def org(describe_dir: Path, describes_by_name: dict[str, Any]) -> Iterator[tuple[FakeOrg, str]]:
    fake = FakeOrg(describe_global(describe_dir, sorted(describes_by_name)), describes_by_name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def generate(
    run_cli: Run, out: Path, url: str, token: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "generate",
        "--out",
        out,
        "--package",
        "org_sf",
        "--from-org",
        *extra,
        env={"SF_INSTANCE_URL": url, "SF_ACCESS_TOKEN": token},
    )


def test_from_org_generates_the_described_objects(
    org: tuple[FakeOrg, str],
    tmp_path: Path,
    run_cli: Run,
    run_python: Run,
    describes_by_name: dict[str, Any],
) -> None:
    fake, url = org
    result = generate(run_cli, tmp_path, url, TOKEN, *SELECTION)
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr

    described = sorted(describes_by_name)
    assert len(described) == 8
    # describeGlobal once, then every selected describe exactly once, nothing else
    paths = sorted(p for p, _ in fake.requests)
    assert paths == sorted([BASE] + [f"{BASE}/{n}/describe" for n in described])
    assert {auth for _, auth in fake.requests} == {f"Bearer {TOKEN}"}
    assert fake.peak >= 2, "describes were fetched one at a time"
    assert not fake.gave_up_waiting

    loaded = run_python(
        "import json, org_sf\n"
        "acc = org_sf.Account.from_dict({'attributes': {'type': 'Account'}, 'Name': 'Acme',"
        " 'Industry': 'Banking'}, strict=True)\n"
        "print(json.dumps({'sobjects': list(org_sf.SOBJECTS), 'industry': repr(acc.Industry),"
        " 'header': org_sf.__doc__ is not None}))",
        path=[tmp_path],
    )
    assert loaded.returncode == 0, loaded.stderr
    got = json.loads(loaded.stdout)
    assert got["sobjects"] == sorted([*described, *EVENTS])
    assert got["industry"] == "<AccountIndustryPicklist.BANKING: 'Banking'>"
    init = (tmp_path / "org_sf" / "__init__.py").read_text(encoding="utf-8")
    assert init.startswith("# DO NOT EDIT: generated by salesforce-typed codegen")
    assert url not in init  # no host names baked into the output
    for text in (p.read_text(encoding="utf-8") for p in (tmp_path / "org_sf").glob("*.py")):
        assert TOKEN not in text


def test_wrong_token_exits_2_without_printing_it(
    org: tuple[FakeOrg, str], tmp_path: Path, run_cli: Run
) -> None:
    fake, url = org
    out = tmp_path / "out"
    result = generate(run_cli, out, url, WRONG_TOKEN, *SELECTION)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "401" in result.stderr
    assert BASE in "".join(result.stderr.split())  # names the URL path that failed
    for secret in (WRONG_TOKEN, WRONG_TOKEN.split("!")[1], TOKEN):
        assert secret not in result.stdout
        assert secret not in result.stderr
    assert fake.requests == [(BASE, f"Bearer {WRONG_TOKEN}")]  # stopped at the first 401
    assert not out.exists()


def test_an_object_the_org_cannot_describe_exits_2(
    org: tuple[FakeOrg, str], tmp_path: Path, run_cli: Run
) -> None:
    # Campaign is in describeGlobal but the org answers its describe with 404.
    fake, url = org
    out = tmp_path / "out"
    result = generate(run_cli, out, url, TOKEN, "--objects", "Campaign", "--objects", "Lead")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = "".join(result.stderr.split())
    assert "404" in message
    assert f"{BASE}/Campaign/describe" in message
    assert TOKEN not in result.stdout + result.stderr
    assert (f"{BASE}/Campaign/describe", f"Bearer {TOKEN}") in fake.requests
    assert not out.exists()


def test_from_org_needs_both_env_vars(tmp_path: Path, run_cli: Run) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "generate",
        "--out",
        out,
        "--package",
        "org_sf",
        "--from-org",
        env={"SF_INSTANCE_URL": "http://127.0.0.1:9"},
    )
    assert result.returncode == 2, result.stderr
    assert "SF_ACCESS_TOKEN" in " ".join(result.stderr.split())
    assert not out.exists()
