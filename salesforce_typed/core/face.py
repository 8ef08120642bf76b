"""`SenderFace`: what every API client reads from the send loop it shares with the others.

`AsyncSalesforce`, its Bulk and SOAP faces (and their sync twins) hold one sender; these
members read through to it, so setting `retry` or `clock` on any face changes them for all
faces of that client: there is one policy and one clock per connection.
"""

from __future__ import annotations

from typing import Protocol

from salesforce_typed.core.clock import Clock
from salesforce_typed.core.connection import Connection
from salesforce_typed.core.limits import ApiUsage
from salesforce_typed.core.retry import RetryPolicy

__all__ = ["SenderFace", "SenderState"]


class SenderState(Protocol):
    """The part of `AsyncSender`/`Sender` that does not depend on the face."""

    connection: Connection
    retry: RetryPolicy
    clock: Clock
    api_usage: ApiUsage | None


class SenderFace:
    sender: SenderState

    @property
    def connection(self) -> Connection:
        return self.sender.connection

    @property
    def retry(self) -> RetryPolicy:
        """The send loop's policy; setting it changes it for every face of this client."""
        return self.sender.retry

    @retry.setter
    def retry(self, policy: RetryPolicy) -> None:
        self.sender.retry = policy

    @property
    def clock(self) -> Clock:
        return self.sender.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.sender.clock = clock

    @property
    def api_usage(self) -> ApiUsage | None:
        """From the last answer's `Sforce-Limit-Info` header (any API of this client)."""
        return self.sender.api_usage
