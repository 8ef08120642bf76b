"""Authentication: grants, the token they produce, and the httpx.Auth that keeps it fresh."""

from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.auth.grants import (
    LOGIN_TOKEN_URL,
    SANDBOX_TOKEN_URL,
    AccessTokenAuth,
    ClientCredentialsGrant,
    JwtBearerGrant,
    PasswordGrant,
    RefreshTokenGrant,
    TokenGrant,
)
from salesforce_typed.auth.token import TokenData, TokenStore

__all__ = [
    "LOGIN_TOKEN_URL",
    "SANDBOX_TOKEN_URL",
    "AccessTokenAuth",
    "ClientCredentialsGrant",
    "JwtBearerGrant",
    "PasswordGrant",
    "RefreshTokenGrant",
    "SalesforceAuth",
    "TokenData",
    "TokenGrant",
    "TokenStore",
]
