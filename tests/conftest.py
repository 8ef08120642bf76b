"""Shared test fixtures: where the real Salesforce artifacts live (../shared/realdata), and
the client `face` (sync or async) a test drives: see faces.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from faces import Face

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"


@pytest.fixture(scope="session", autouse=True)
def _private_config_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Token files, journals and aliases of every test (and of the CLI processes tests start:
    they inherit the environment) go to a temporary folder, never the user's config dir."""
    previous = os.environ.get("SALESFORCE_TYPED_HOME")
    os.environ["SALESFORCE_TYPED_HOME"] = str(tmp_path_factory.mktemp("salesforce-typed-home"))
    yield
    if previous is None:
        os.environ.pop("SALESFORCE_TYPED_HOME", None)
    else:
        os.environ["SALESFORCE_TYPED_HOME"] = previous


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.fail(
            f"real Salesforce artifacts missing: {REALDATA} (shared/ must sit beside the repo)"
        )
    return REALDATA


@pytest.fixture(params=["sync", "async"])
def face(request: pytest.FixtureRequest) -> Iterator[Face]:
    """The client face a test drives: "sync", or "async" through a blocking adapter."""
    from faces import open_face  # imported here: tests that take no face need no runtime

    with open_face(request.param) as opened:
        yield opened
