"""Fidelity suite: the fake org driven over HTTP and compared with real Salesforce artifacts.

`api` is an authenticated httpx client on a fresh fake org (one per test); `module_api` shares
one org across a module for read-only comparisons; `realdata` (tests/conftest.py) is
`../shared/realdata`. Every accepted difference is a row of `deviations.DEVIATIONS`.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from salesforce_typed.testing.server import FakeOrg


def password_token(org: FakeOrg, client: httpx.Client) -> str:
    creds = org.credentials()
    response = client.post(
        creds["token_url"],
        data={
            "grant_type": "password",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "username": creds["username"],
            "password": creds["password"] + creds["security_token"],
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _client(org: FakeOrg) -> httpx.Client:
    """An unopened client (callers enter it) carrying a fresh token."""
    with httpx.Client(base_url=org.instance_url, timeout=60) as login:
        token = password_token(org, login)
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=org.instance_url, timeout=60, headers=headers)


@pytest.fixture
def api(fake_org: FakeOrg) -> Iterator[httpx.Client]:
    with _client(fake_org) as client:
        yield client


@pytest.fixture(scope="module")
def module_org() -> Iterator[FakeOrg]:
    with FakeOrg() as org:
        yield org


@pytest.fixture(scope="module")
def module_api(module_org: FakeOrg) -> Iterator[httpx.Client]:
    with _client(module_org) as client:
        yield client


# -- the deviation table cannot rot: a row no test consulted fails a full run of the suite --

_FIDELITY = __file__.rsplit("/", 1)[0]
_partial: list[str] = []


def pytest_deselected(items: list[pytest.Item]) -> None:
    if any(str(item.path).startswith(_FIDELITY) for item in items):
        _partial.append("deselected")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    args = [str(a) for a in config.args]
    whole = any(
        _FIDELITY.startswith(str(config.rootpath / a.split("::")[0]).rstrip("/")) and "::" not in a
        for a in args
    )
    if not whole:
        _partial.append("not the whole directory")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import sys

    from fidelity import deviations

    if _partial or exitstatus != 0 or session.shouldstop or session.testsfailed:
        return
    used: set[tuple[str, str]] = set()
    for name, module in list(sys.modules.items()):  # imported as fidelity.* or tests.fidelity.*
        if name.endswith("fidelity.deviations") and hasattr(module, "used"):
            used |= module.used()
    unused = [row for row in deviations.DEVIATIONS if (row.area, row.subject) not in used]
    if unused:
        lines = "\n".join(f"  {r.area}: {r.subject}" for r in unused)
        session.config.get_terminal_writer().line(
            f"fidelity: deviation rows no test consulted (remove them):\n{lines}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
