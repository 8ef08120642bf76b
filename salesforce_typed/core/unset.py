"""UNSET: a field that is not sent (or was not selected), as opposed to None, sent as null.

An enum member so that `value is UNSET` narrows the type for mypy.
"""

from __future__ import annotations

import enum
from typing import Final, Literal


class UnsetType(enum.Enum):
    UNSET = "UNSET"

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = UnsetType.UNSET
