"""Token stores: the protocol, the key helper, the in-process store, the file store for one
machine and the local journal of rotated tokens.

Redis and PostgreSQL stores live in their own modules so importing this package never pulls
in a database driver.
"""

from salesforce_typed.stores.base import ReplayPosition, TokenData, TokenStore, token_key
from salesforce_typed.stores.file import FileTokenStore
from salesforce_typed.stores.journal import TokenJournal
from salesforce_typed.stores.memory import MemoryTokenStore

__all__ = [
    "FileTokenStore",
    "MemoryTokenStore",
    "ReplayPosition",
    "TokenData",
    "TokenJournal",
    "TokenStore",
    "token_key",
]
