"""Shared test fixtures: where the real Salesforce artifacts live (../shared/realdata)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.fail(
            f"real Salesforce artifacts missing: {REALDATA} (shared/ must sit beside the repo)"
        )
    return REALDATA
