"""What a token store implements and how it is keyed, for store authors.

The protocol and `token_key` are defined beside `TokenData` in `auth.token` (the auth flow
needs them without importing any store) and re-exported here.
"""

from __future__ import annotations

from salesforce_typed.auth.token import TokenData, TokenStore, token_key

__all__ = ["TokenData", "TokenStore", "token_key"]
