"""`Sforce-Limit-Info: api-usage=n/max`, sent on every REST response, parsed once."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True, slots=True)
class ApiUsage:
    used: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def parse_limit_info(header: str | None) -> ApiUsage | None:
    """`api-usage=25/15000` (other `name=value` items may follow, comma separated)."""
    if not header:
        return None
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "api-usage":
            used, _, limit = value.partition("/")
            try:
                return ApiUsage(used=int(used), limit=int(limit))
            except ValueError:
                return None
    return None
