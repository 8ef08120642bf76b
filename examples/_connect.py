"""Shared by the examples: where they run, and a client for it.

By default an example starts its own fake org (over TLS, trusted through its CA file) and
stops it on exit. With `SF_INSTANCE_URL` set it talks to that real org instead, through a
refresh-token grant read from the environment:

    SF_INSTANCE_URL   https://acme.my.salesforce.com
    SF_CLIENT_ID      the connected app's consumer key
    SF_CLIENT_SECRET  its secret (optional if the app does not require one)
    SF_REFRESH_TOKEN  a refresh token for that app and user
    SF_TOKEN_URL      optional; defaults to https://login.salesforce.com/services/oauth2/token
                      (use https://test.salesforce.com/... for a sandbox, or your My Domain)
    SF_CA_FILE        optional; a CA bundle to trust instead of the system one
    SF_PUBSUB_URL     optional, for the Pub/Sub examples; defaults to Salesforce's
                      api.pubsub.salesforce.com:7443

Secrets are only ever handed to the grant (whose repr hides them); nothing here prints them.
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import attrs

from salesforce_typed import AsyncSalesforce, RefreshTokenGrant, Salesforce
from salesforce_typed.testing.server import FakeOrg

LOGIN_TOKEN_URL = "https://login.salesforce.com/services/oauth2/token"
_REQUIRED = ("SF_CLIENT_ID", "SF_REFRESH_TOKEN")


@attrs.frozen(kw_only=True)
class Target:
    """An org to run against: `fake` is the embedded fake org, or None for a real org."""

    grant: RefreshTokenGrant
    instance_url: str | None
    verify: ssl.SSLContext | bool
    fake: FakeOrg | None

    @property
    def label(self) -> str:
        return "fake org" if self.fake is not None else "real org"

    @property
    def pubsub_target(self) -> str:
        """The Pub/Sub API's gRPC `host:port`: the fake org's (served over TLS with its CA from
        first use), else `SF_PUBSUB_URL` or Salesforce's endpoint."""
        if self.fake is not None:
            return self.fake.pubsub_url
        from salesforce_typed.pubsub import DEFAULT_TARGET  # only the Pub/Sub examples need it

        return os.environ.get("SF_PUBSUB_URL") or DEFAULT_TARGET

    def client(self) -> Salesforce:
        """A sync client; use it in a `with` block so its connections close."""
        return Salesforce(auth=self.grant, instance_url=self.instance_url, verify=self.verify)

    def async_client(self) -> AsyncSalesforce:
        """An async client; use it in an `async with` block."""
        return AsyncSalesforce(auth=self.grant, instance_url=self.instance_url, verify=self.verify)


def _real_target() -> Target:
    missing = [name for name in _REQUIRED if not os.environ.get(name)]
    if missing:
        raise SystemExit(
            f"SF_INSTANCE_URL is set, so a real org is used; also set {', '.join(missing)}"
        )
    ca_file = os.environ.get("SF_CA_FILE")
    return Target(
        grant=RefreshTokenGrant(
            client_id=os.environ["SF_CLIENT_ID"],
            client_secret=os.environ.get("SF_CLIENT_SECRET") or None,
            refresh_token=os.environ["SF_REFRESH_TOKEN"],
            token_url=os.environ.get("SF_TOKEN_URL") or LOGIN_TOKEN_URL,
        ),
        instance_url=os.environ["SF_INSTANCE_URL"].rstrip("/"),
        verify=ssl.create_default_context(cafile=ca_file) if ca_file else True,
        fake=None,
    )


@contextmanager
def target() -> Iterator[Target]:
    """The org for this run: a real one if `SF_INSTANCE_URL` is set, else a fresh fake org."""
    if os.environ.get("SF_INSTANCE_URL"):
        real = _real_target()
        print(f"[{real.label}] {real.instance_url}")
        yield real
        return
    with FakeOrg(tls=True) as org:
        creds = org.credentials()
        print(f"[fake org] {creds['instance_url']} (trusting its CA {creds['ca_file']})")
        yield Target(
            grant=RefreshTokenGrant(
                client_id=creds["client_id"],
                client_secret=creds["client_secret"],
                refresh_token=creds["refresh_token"],
                token_url=creds["token_url"],
            ),
            instance_url=None,  # learnt from the token response, as with a real login
            verify=ssl.create_default_context(cafile=creds["ca_file"]),
            fake=org,
        )


def step(text: str) -> None:
    """One line saying what the example does next."""
    print(f"\n== {text}")
    sys.stdout.flush()
