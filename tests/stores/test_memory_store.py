"""The token-store contract, run against `MemoryTokenStore` on a fake clock."""

from __future__ import annotations

import pytest
from contract import ASYNC_CHECKS, SYNC_CHECKS, AsyncCheck, StoreHarness, SyncCheck, check_id

from salesforce_typed.core.clock import FakeClock
from salesforce_typed.stores import MemoryTokenStore


def make_harness() -> StoreHarness:
    clock = FakeClock()
    return StoreHarness(store=MemoryTokenStore(clock=clock), advance=clock.advance)


@pytest.mark.parametrize("check", SYNC_CHECKS, ids=check_id)
def test_contract(check: SyncCheck) -> None:
    check(make_harness)


@pytest.mark.parametrize("check", ASYNC_CHECKS, ids=check_id)
async def test_async_contract(check: AsyncCheck) -> None:
    await check(make_harness)
