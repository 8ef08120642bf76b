"""OAuth 2.0 of the fake org: the token, revoke, userinfo and introspect endpoints
(`endpoints`) and the JWT bearer assertion rules (`jwt_bearer`).

The helpers tests and `FakeOrg` call are re-exported here.
"""

from salesforce_typed.testing.oauth.endpoints import (
    issue_refresh_token,
    oauth_state,
    reset_token_calls,
    token_calls,
)
from salesforce_typed.testing.oauth.jwt_bearer import register_jwt_certificate

__all__ = [
    "issue_refresh_token",
    "oauth_state",
    "register_jwt_certificate",
    "reset_token_calls",
    "token_calls",
]
