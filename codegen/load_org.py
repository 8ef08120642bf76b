"""A live org over REST -> the IR: describeGlobal, then the selected describes concurrently.

Used with a real org (instance URL + access token) or the local fake org. Errors name the
URL that failed; the token never appears in them.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from .errors import CodegenError
from .ir import SchemaDef
from .load_describe import schema_from_describes

Progress = Callable[[int, int, str], None]


async def _get_json(client: httpx.AsyncClient, path: str) -> Any:
    try:
        response = await client.get(path)
    except httpx.HTTPError as exc:
        raise CodegenError(f"request failed: {type(exc).__name__}", source=path) from exc
    if response.status_code != 200:
        raise CodegenError(f"HTTP {response.status_code}: {response.text[:300]}", source=path)
    try:
        return response.json()
    except json.JSONDecodeError as exc:
        raise CodegenError(f"invalid JSON: {exc}", source=path) from exc


async def fetch_describes(
    instance_url: str,
    access_token: str,
    *,
    api_version: str = "62.0",
    patterns: Sequence[str] = (),
    concurrency: int = 8,
    progress: Progress | None = None,
    verify: bool | str = True,
) -> SchemaDef:
    base = f"/services/data/v{api_version}"
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    async with httpx.AsyncClient(
        base_url=instance_url.rstrip("/"), headers=headers, timeout=60.0, verify=verify
    ) as client:
        glob = await _get_json(client, f"{base}/sobjects")
        listed = [s.get("name", "") for s in glob.get("sobjects", []) if isinstance(s, dict)]
        names = [
            n
            for n in listed
            if n
            and not n.endswith("ChangeEvent")
            and (not patterns or any(fnmatch.fnmatchcase(n, p) for p in patterns))
        ]
        if not names:
            raise CodegenError("no sObject matches the selection", source=f"{base}/sobjects")
        gate = asyncio.Semaphore(concurrency)
        done = 0

        async def one(name: str) -> tuple[str, Any]:
            nonlocal done
            async with gate:
                doc = await _get_json(client, f"{base}/sobjects/{name}/describe")
            done += 1
            if progress is not None:
                progress(done, len(names), name)
            return f"{name}/describe", doc

        describes = await asyncio.gather(*(one(n) for n in names))
    digest = hashlib.sha256()
    for src, doc in sorted(describes):
        digest.update(src.encode() + b"\0" + json.dumps(doc, sort_keys=True).encode())
    events = {n for n in listed if n.endswith("ChangeEvent")}
    without = {
        n
        for n in names
        if (n[:-1] + "ChangeEvent" if n.endswith("__c") else n + "ChangeEvent") not in events
    }
    return schema_from_describes(
        describes, source="org", sha256=digest.hexdigest(), without_cdc=without
    )
