"""The lease-store contract, run against `MemoryLeaseStore` on a fake clock."""

from __future__ import annotations

import pytest
from lease_contract import (
    LEASE_ASYNC_CHECKS,
    LEASE_SYNC_CHECKS,
    AsyncLeaseCheck,
    LeaseCheck,
    LeaseHarness,
    lease_check_id,
)

from salesforce_typed.core.clock import FakeClock
from salesforce_typed.stores.base import LeaseStore
from salesforce_typed.stores.memory_lease import MemoryLeaseStore


def make_harness() -> LeaseHarness:
    clock = FakeClock()
    return LeaseHarness(store=MemoryLeaseStore(clock=clock), advance=clock.advance)


@pytest.mark.parametrize("check", LEASE_SYNC_CHECKS, ids=lease_check_id)
def test_lease_contract(check: LeaseCheck) -> None:
    check(make_harness)


@pytest.mark.parametrize("check", LEASE_ASYNC_CHECKS, ids=lease_check_id)
async def test_async_lease_contract(check: AsyncLeaseCheck) -> None:
    await check(make_harness)


def test_is_a_lease_store_and_reports_expiry_on_wall_time() -> None:
    clock = FakeClock(start=1_800_000_000.0)
    store = MemoryLeaseStore(clock=clock)
    assert isinstance(store, LeaseStore)
    lease = store.try_acquire_lease("n", "a", 30.0)
    assert lease is not None and lease.expires_at == 1_800_000_030.0
    assert "MemoryLeaseStore(leases=1" in repr(store)
