"""The demo's columnar section runs (with fewer rows) and its checks hold."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

import salesforce_typed_std as std
from salesforce_typed import Salesforce
from salesforce_typed.demo.columnar import columnar_tour
from salesforce_typed.testing.server import FakeOrg


def test_columnar_tour(org: FakeOrg, sf: Salesforce, tmp_path: Path) -> None:
    console = Console(record=True, width=120)
    columnar_tour(console, sf, std, org, tmp_path, rows=5_000)
    text = console.export_text()
    assert "5,000 rows" in text and "Amount DECIMAL(18,2)" in text
    assert "the amounts add up exactly: 124,975.00" in text
