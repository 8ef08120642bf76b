"""Token stores: the protocol, the key helper and the in-process store.

Redis and PostgreSQL stores live in their own modules so importing this package never pulls
in a database driver.
"""

from salesforce_typed.stores.base import TokenData, TokenStore, token_key
from salesforce_typed.stores.memory import MemoryTokenStore

__all__ = ["MemoryTokenStore", "TokenData", "TokenStore", "token_key"]
