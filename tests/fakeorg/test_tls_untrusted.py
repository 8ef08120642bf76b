"""A server certificate the client does not trust is a terminal, clear error on every path.

The TLS fake org signs its certificate with its own CA; a client left on the system CAs
(`verify=True`) must fail at once with `CertificateVerifyError` naming the host, not retry
a "transport error" with backoff (REST) or forever (the listener), and say no secret.
"""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest

from salesforce_typed import (
    AccessTokenAuth,
    CertificateVerifyError,
    RefreshTokenGrant,
    RequestNotSentError,
    RetryPolicy,
    Salesforce,
)
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.streaming import AsyncListener
from salesforce_typed.testing import streaming
from salesforce_typed.testing.server import FakeOrg


def _grant(org: FakeOrg) -> RefreshTokenGrant:
    c = org.credentials()
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
    )


def _secrets(org: FakeOrg) -> list[str]:
    c = org.credentials()
    return [c["client_secret"], c["refresh_token"], c["password"]]


def _assert_clear(error: BaseException, org: FakeOrg) -> None:
    text = str(error)
    assert "did not verify" in text and "127.0.0.1" in text, text
    assert not isinstance(error, RequestNotSentError)  # so no retry loop catches it
    assert all(secret not in text and secret not in repr(error) for secret in _secrets(org))


def test_rest_call_with_an_untrusted_certificate_is_not_retried(fake_org_tls: FakeOrg) -> None:
    ca_file = fake_org_tls.credentials()["ca_file"]
    with httpx.Client(
        verify=ssl.create_default_context(cafile=ca_file)
    ) as trusted:  # a valid token, so only the REST call fails
        c = fake_org_tls.credentials()
        form = {
            "grant_type": "password",
            "client_id": c["client_id"],
            "client_secret": c["client_secret"],
            "username": c["username"],
            "password": c["password"] + c["security_token"],
        }
        token = trusted.post(c["token_url"], data=form).json()["access_token"]
    clock = FakeClock()
    auth = AccessTokenAuth(access_token=token, instance_url=fake_org_tls.instance_url)
    retry = RetryPolicy(max_attempts=5, clock=clock)
    with (
        Salesforce(auth=auth, clock=clock, retry=retry) as sf,
        pytest.raises(CertificateVerifyError) as caught,
    ):
        sf.limits()
    _assert_clear(caught.value, fake_org_tls)
    assert token not in str(caught.value)
    assert clock.sleeps == []  # terminal: no backoff, no second attempt


def test_token_call_with_an_untrusted_certificate_is_terminal(fake_org_tls: FakeOrg) -> None:
    with (
        Salesforce(auth=_grant(fake_org_tls), clock=FakeClock()) as sf,
        pytest.raises(CertificateVerifyError) as caught,
    ):
        sf.limits()
    _assert_clear(caught.value, fake_org_tls)


def test_trusted_ca_still_works(fake_org_tls: FakeOrg) -> None:
    ca_file = fake_org_tls.credentials()["ca_file"]
    with Salesforce(auth=_grant(fake_org_tls), verify=ca_file) as sf:
        assert "DailyApiRequests" in sf.limits()


async def test_listener_with_an_untrusted_certificate_stops(fake_org_tls: FakeOrg) -> None:
    streaming.enable(fake_org_tls.state)
    reported: list[Exception] = []
    listener = AsyncListener(auth=_grant(fake_org_tls), clock=FakeClock(), on_error=reported.append)
    listener.channel("/data/AccountChangeEvent")
    async with asyncio.timeout(30):  # a bound on a hang: the old code retried forever
        with pytest.raises(CertificateVerifyError) as caught:
            await listener.run()
    _assert_clear(caught.value, fake_org_tls)
    assert reported == [caught.value]  # reported once, and nothing retried before it
