"""Schema drift end to end: a fake org, a package generated from it, admin schema changes.

Commands run in-process through Typer's runner (each test's package has its own name, so
imports never collide); the org side is the fake org over real sockets.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from salesforce_typed.cli import app
from salesforce_typed.testing.server import FakeOrg
from tests.fidelity.conftest import password_token

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
DESCRIBE_DIR = REALDATA / "fixtures" / "rest" / "cumulusci" / "describe"
OBJECTS = ("Account", "Contact")

Cli = Callable[..., Result]


@pytest.fixture
def admin(fake_org: FakeOrg) -> Iterator[httpx.Client]:
    """The fake org's admin API (no auth), where schema changes are made."""
    with httpx.Client(base_url=f"{fake_org.instance_url}/_admin/schema", timeout=30) as client:
        yield client


@pytest.fixture
def org_env(fake_org: FakeOrg) -> dict[str, str]:
    """What `generate --from-org` and `schema diff` read: an instance URL and a token."""
    with httpx.Client(timeout=30) as client:
        token = password_token(fake_org, client)
    return {"SF_INSTANCE_URL": fake_org.instance_url, "SF_ACCESS_TOKEN": token}


@pytest.fixture
def cli(org_env: dict[str, str]) -> Cli:
    runner = CliRunner()

    def run(*args: str | Path) -> Result:
        return runner.invoke(app, [str(a) for a in args], env=org_env)

    return run


@pytest.fixture
def package(tmp_path: Path, cli: Cli) -> Path:
    """A package generated from the fake org (Account, Contact): its folder."""
    name = f"drift_{uuid.uuid4().hex[:10]}"
    selection = [w for o in OBJECTS for w in ("--objects", o)]
    done = cli("generate", "--from-org", "--out", tmp_path, "--package", name, *selection)
    assert done.exit_code == 0, done.output
    return tmp_path / name


@pytest.fixture
def fake_org_api(fake_org: FakeOrg, org_env: dict[str, str]) -> Iterator[httpx.Client]:
    """REST at v62.0 on the same org, authenticated."""
    headers = {"Authorization": f"Bearer {org_env['SF_ACCESS_TOKEN']}"}
    base = f"{fake_org.instance_url}/services/data/v62.0"
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        yield client
