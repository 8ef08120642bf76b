"""A live org's describes over REST, for the objects a package has (and the names of all).

Only the package's objects are described: a real org has hundreds more, and a new object
needs only its name to be reported. Errors name the path, never the token.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Collection
from typing import Any

import httpx

from salesforce_typed.core.errors import UsageError

_CONCURRENCY = 8


async def _get(client: httpx.AsyncClient, path: str) -> Any:
    try:
        response = await client.get(path)
    except httpx.HTTPError as exc:
        raise UsageError(f"GET {path} failed: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise UsageError(f"GET {path}: HTTP {response.status_code}: {response.text[:300]}")
    try:
        return response.json()
    except ValueError:
        raise UsageError(f"GET {path}: not JSON") from None


async def fetch(
    instance_url: str,
    access_token: str,
    *,
    api_version: str,
    names: Collection[str],
    verify: bool | str = True,
) -> tuple[str, list[str], list[tuple[str, Any]]]:
    """(API version used, every object name the org lists, describes of `names` it has).

    An empty `api_version` takes the org's newest; a str `verify` is a CA bundle to trust.
    """
    trust = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    async with httpx.AsyncClient(
        base_url=instance_url.rstrip("/"), headers=headers, timeout=60.0, verify=trust
    ) as client:
        if not api_version:
            versions = await _get(client, "/services/data")
            api_version = str(versions[-1]["version"])
        base = f"/services/data/v{api_version}/sobjects"
        listed = [
            str(s["name"])
            for s in (await _get(client, base)).get("sobjects", [])
            if isinstance(s, dict) and s.get("name")
        ]
        gate = asyncio.Semaphore(_CONCURRENCY)

        async def one(name: str) -> tuple[str, Any]:
            async with gate:
                return f"{name}/describe", await _get(client, f"{base}/{name}/describe")

        wanted = [n for n in listed if n in names]
        describes = await asyncio.gather(*(one(n) for n in wanted))
    return api_version, listed, list(describes)
