"""The admin API: switch faults and org settings at run time (`/_admin/...`, no auth).

Tests use it over HTTP, like they would against a separately started `fake-org serve`.
"""

from __future__ import annotations

from typing import Final

from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState

_FAULT_KEYS = {"latency_ms", "server_error_rate", "drop_rate", "lock_rate"}
_CONFIG_KEYS = {"session_timeout", "refresh_token_rotation", "daily_api_limit"}


async def get_faults(req: Request) -> Response:
    f = req.org.faults
    return Response.json({k: getattr(f, k) for k in sorted(_FAULT_KEYS)} | {"seed": f.seed})


async def set_faults(req: Request) -> Response:
    body = req.json()
    if not isinstance(body, dict) or set(body) - _FAULT_KEYS - {"seed"}:
        raise SfError(400, "INVALID_FIELD", f"faults take {sorted(_FAULT_KEYS | {'seed'})}")
    faults = req.org.faults
    for key, value in body.items():
        if key == "seed":
            faults.reseed(None if value is None else int(value))
        else:
            setattr(faults, key, float(value))
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
