"""`sf.listener(...)`: a listener on the client's connection, on both faces.

Against the TLS fake org the client is given the org's CA once; the listener must take it
over (no second `verify=`), or the handshake fails with ConnectError and is retried forever.
The async face shares the client's pool; the blocking `Listener`, on a loop of its own,
opens one with the same TLS setting.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from faces import Face, unwrap
from fake_org_grant import grant

import salesforce_typed_std as std
from salesforce_typed import (
    AsyncSalesforce,
    RequestNotSentError,
    Salesforce,
)
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.stores.memory import MemoryTokenStore
from salesforce_typed.streaming import (
    EARLIEST,
    AsyncListener,
    ChangeDataEvent,
    Listener,
    ReplayFallback,
)
from salesforce_typed.testing import streaming
from salesforce_typed.testing.server import FakeOrg

ACCOUNTS = "/data/AccountChangeEvent"
BOUND_S = 60.0  # turns a hang into a failure; nothing asserts on time


@pytest.fixture
def tls_org(fake_org_tls: FakeOrg) -> FakeOrg:
    streaming.enable(fake_org_tls.state)
    streaming.configure(fake_org_tls.state, timeout_ms=500)  # quick idle polls, quick stop
    return fake_org_tls


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    done = threading.Event()
    for _ in range(int(BOUND_S / 0.01)):
        if predicate():
            return
        done.wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class Running:
    """A listener consuming in the background, whichever face built it."""

    def __init__(self, face: Face, listener: Any) -> None:
        self.face = face
        self.listener = listener
        if face.portal is None:
            assert isinstance(listener, Listener)
            listener.start()
            return
        raw = unwrap(listener)
        assert isinstance(raw, AsyncListener)

        async def spawn() -> asyncio.Task[None]:
            return asyncio.create_task(raw.run())

        self.task = face.portal.run(spawn())

    @property
    def inner(self) -> AsyncListener:
        raw = unwrap(self.listener)
        return raw.listener if isinstance(raw, Listener) else raw

    def failed(self) -> BaseException | None:
        if self.face.portal is None:
            return self.listener.error  # type: ignore[no-any-return]
        return self.task.exception() if self.task.done() else None

    def close(self) -> None:
        if self.face.portal is None:
            self.listener.close()
            assert not self.listener.running
            return
        raw = self.inner

        async def stop() -> None:
            await raw.aclose()
            await self.task

        self.face.portal.run(stop())


def test_sf_listener_takes_the_clients_tls_setting(face: Face, tls_org: FakeOrg) -> None:
    ca_file = tls_org.credentials()["ca_file"]
    errors: list[Exception] = []
    with face.salesforce(auth=grant(tls_org), verify=ca_file) as sf:
        listener = sf.listener(on_error=errors.append)  # no second verify=
        got: list[str] = []

        def created(event: ChangeDataEvent) -> None:
            got.extend(event.record_ids)

        listener.channel(ACCOUNTS, replay=EARLIEST, on_create=created)
        running = Running(face, listener)
        try:
            wait_until(lambda: running.inner.subscribed or running.failed() is not None, "sub")
            assert running.failed() is None
            made = sf.create(std.Account(Name=f"tls-{face.name}"))
            wait_until(lambda: made.id in got, "the CDC event")
        finally:
            running.close()
        client = unwrap(sf)
        inner = running.inner
        assert inner.verify is client.sender.verify  # the one SSLContext, CA loaded once
        if face.is_async:
            assert inner._http is client.http  # same loop: the client's own pool
        else:
            assert inner._http is None  # its own loop: its own pool, same verify
    assert got == [made.id]
    assert errors == []  # no ConnectError retried in the background


def test_the_listener_shares_the_connection_and_defaults(tls_org: FakeOrg) -> None:
    store = MemoryTokenStore()
    clock = FakeClock()
    ca_file = tls_org.credentials()["ca_file"]
    with Salesforce(
        auth=grant(tls_org),
        verify=ca_file,
        api_version="v61.0",
        package="salesforce_typed_std",
        token_store=store,
        clock=clock,
    ) as sf:
        listener = sf.listener()
        assert isinstance(listener, Listener)
        inner = listener.listener
        assert inner.connection.auth is sf.connection.auth  # one token, one refresh lock
        assert inner.api_version == "61.0" and inner.clock is clock
        assert inner.verify is sf.sender.verify

        other = sf.listener(api_version="60.0", handler_attempts=5)
        assert other.listener.api_version == "60.0" and other.listener.handler_attempts == 5
        assert other.listener is not inner  # each call: a new listener with its own channels


async def test_async_from_client_shares_the_pool_unless_told_otherwise(tls_org: FakeOrg) -> None:
    ca_file = tls_org.credentials()["ca_file"]
    async with AsyncSalesforce(auth=grant(tls_org), verify=ca_file) as sf:
        assert sf.listener()._http is sf.http
        # Another TLS setting cannot use the client's pool: the listener opens its own.
        own = AsyncListener.from_client(sf, verify=True)
        assert own._http is None and own.verify is True
        # The blocking face never borrows a pool bound to another loop.
        blocking = Listener.from_client(sf)
        assert blocking.listener._http is None and blocking.listener.verify is sf.sender.verify
    with Salesforce(auth=grant(tls_org), verify=ca_file) as sync_client:
        # A sync client's pool cannot serve a loop: its TLS setting is taken instead.
        from_sync = AsyncListener.from_client(sync_client)
        assert from_sync._http is None and from_sync.verify is sync_client.sender.verify


def test_an_unknown_option_is_a_type_error_at_run_time_too(fake_org: FakeOrg) -> None:
    options: dict[str, Any] = {"handler_atempts": 2}
    with pytest.raises(TypeError, match="handler_atempts"):
        AsyncListener(auth=grant(fake_org), **options)
    with Salesforce(auth=grant(fake_org)) as sf, pytest.raises(TypeError, match="handler_atempts"):
        sf.listener(**options)
    with pytest.raises(TypeError, match="handler_atempts"):
        Listener(auth=grant(fake_org), replay_fallback=ReplayFallback.TIP, **options)


def test_a_broken_ca_file_fails_at_construction_not_in_a_retry_loop(
    fake_org: FakeOrg, tmp_path: Any
) -> None:
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(RequestNotSentError, match=r"nowhere\.pem"):
        AsyncListener(auth=grant(fake_org), verify=missing)
