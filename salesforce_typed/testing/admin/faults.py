"""The admin API: switch faults and org settings at run time (`/_admin/...`, no auth).

Tests use it over HTTP, like they would against a separately started `fake-org serve`.
"""

from __future__ import annotations

import math
from typing import Final

from salesforce_typed.testing.oauth.endpoints import oauth_state
from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState

_FAULT_KEYS = {"latency_ms", "server_error_rate", "drop_rate", "lock_rate"}
# Held by the OAuth module: seconds every /services/oauth2/token answer waits (0: none).
_TOKEN_DELAY = "token_delay_s"
_CONFIG_KEYS = {"session_timeout", "refresh_token_rotation", "daily_api_limit"}


async def get_faults(req: Request) -> Response:
    f = req.org.faults
    body = {k: getattr(f, k) for k in sorted(_FAULT_KEYS)} | {"seed": f.seed}
    return Response.json(body | {_TOKEN_DELAY: oauth_state(req.org).token_delay_s})


def _number(key: str, value: object) -> float:
    """A finite, non-negative number, or 400 naming the key (never a 500 on bad input)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SfError(400, "INVALID_FIELD", f"{key} must be a number", [key])
    if not math.isfinite(value) or value < 0:
        raise SfError(400, "INVALID_FIELD", f"{key} must be a finite number >= 0", [key])
    return float(value)


async def set_faults(req: Request) -> Response:
    body = req.json()
    allowed = _FAULT_KEYS | {"seed", _TOKEN_DELAY}
    if not isinstance(body, dict) or set(body) - allowed:
        raise SfError(400, "INVALID_FIELD", f"faults take {sorted(allowed)}")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise SfError(400, "INVALID_FIELD", "seed must be an integer or null", ["seed"])
    values = {k: _number(k, v) for k, v in body.items() if k != "seed"}
    faults = req.org.faults
    if "seed" in body:
        faults.reseed(seed)
    for key, value in values.items():
        if key == _TOKEN_DELAY:
            oauth_state(req.org).token_delay_s = value
        else:
            setattr(faults, key, value)
    return await get_faults(req)


async def expire(req: Request) -> Response:
    return Response.json({"expired": req.org.expire_sessions()})


async def set_config(req: Request) -> Response:
    body = req.json()
    if not isinstance(body, dict) or set(body) - _CONFIG_KEYS:
        raise SfError(400, "INVALID_FIELD", f"config takes {sorted(_CONFIG_KEYS)}")
    cfg = req.org.config
    for key, value in body.items():
        current = getattr(cfg, key)
        setattr(cfg, key, type(current)(value))
    return Response.json({k: getattr(cfg, k) for k in sorted(_CONFIG_KEYS)})


async def reset_usage(req: Request) -> Response:
    req.org.api_usage = 0
    return Response.json({"api_usage": 0})


PUBLIC_ROUTES: Final = (
    ("GET", "/_admin/faults", get_faults),
    ("POST", "/_admin/faults", set_faults),
    ("POST", "/_admin/expire-sessions", expire),
    ("POST", "/_admin/config", set_config),
    ("POST", "/_admin/reset-usage", reset_usage),
)


def register(router: Router, state: OrgState) -> None:
    router.add_all(PUBLIC_ROUTES, auth=False)
