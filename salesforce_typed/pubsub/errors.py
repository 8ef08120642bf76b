"""Pub/Sub API errors: a gRPC status with Salesforce's `error-code` and `rpc-id` trailers."""

from __future__ import annotations

from salesforce_typed.core.errors import SalesforceError

__all__ = ["PubSubError"]


class PubSubError(SalesforceError):
    """An RPC failed. `status` is the gRPC status name (UNAUTHENTICATED, NOT_FOUND...);
    `error_code` Salesforce's `error-code` trailer (`sfdc.platform.eventbus.grpc...`);
    `rpc_id` what Salesforce support asks for."""

    def __init__(
        self, message: str, *, status: str, error_code: str = "", rpc_id: str = ""
    ) -> None:
        self.message = message
        self.status = status
        self.error_code = error_code
        self.rpc_id = rpc_id
        code = f" {error_code}" if error_code else ""
        super().__init__(f"{status}{code}: {message}")
