"""Streaming benchmark: events/s end to end on the fake org, our listener against aiosfstream-ng.

    python bench/listener.py [--events 20000] [--runs 3] [--publish collections|admin]

A script, not a test (STYLE 3.16): it prints figures and the ratio, then one JSON line, and
never fails on a figure. The fake org runs as its own process (`salesforce-typed fake-org
serve`), so neither client shares a GIL with the server. N Account creates are made first
(sObject Collections, 200 per call: real CDC events from real writes) or published through
the admin hook; then each client, in turn, subscribes with replay -2 and drains all N.
Measured per client: from opening it (token, handshake, subscribe) to the N-th event.

What each side does per event differs, and the figures should be read with that in mind:
ours decodes every payload into the typed `AccountChangeEvent`, dispatches by change type,
dedupes on replay id and checkpoints each batch; aiosfstream-ng hands raw dicts over.

aiosfstream-ng runs in `.bench-venv-stream/` (created on first use from PyPI). It only knows
Salesforce's login hosts, so `_listener_peer.py` points its authenticator at the fake org;
and aiohttp's cookie jar ignores cookies set by a bare IP address, so the org is served as
`localhost` (on 127.0.0.1 the peer loses BAYEUX_BROWSER and the org refuses its connect).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

import salesforce_typed_std as std
from salesforce_typed import MemoryTokenStore, PasswordGrant, RefreshTokenGrant, Salesforce
from salesforce_typed.streaming import EARLIEST, AsyncListener, ChangeDataEvent

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench-venv-stream"
PEER = "aiosfstream-ng"
PEER_VERSION = "0.7.5"  # newest on PyPI when written
CHANNEL = "/data/AccountChangeEvent"
CHILD_TIMEOUT_S = 300


def ensure_peer() -> str | None:
    """Create the peer venv once; None when ready, else why it cannot be used."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import aiosfstream_ng"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return None
    print(f"creating {VENV.name} with {PEER}=={PEER_VERSION} (once) ...", file=sys.stderr)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(VENV)],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"{PEER}=={PEER_VERSION}",
        ],
    ]
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
            return f"`{' '.join(step[-2:])}` failed: {tail[0] if tail else proc.returncode}"
    return None


class Org:
    """`salesforce-typed fake-org serve` in a child process."""

    def __init__(self) -> None:
        exe = Path(sys.executable).with_name("salesforce-typed")
        self.proc = subprocess.Popen(
            [str(exe), "fake-org", "serve", "--host", "localhost"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.creds: dict[str, str] = json.loads(self.proc.stdout.readline())
        self.url = self.creds["instance_url"]

    def admin(self, path: str, body: dict[str, Any]) -> Any:
        return httpx.post(f"{self.url}/_admin{path}", json=body, timeout=60).json()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def publish(org: Org, events: int, how: str) -> None:
    org.admin("/config", {"daily_api_limit": 100_000_000})
    # The first streaming call also starts CDC capture: writes before it publish nothing.
    org.admin("/streaming/config", {"timeout_ms": 1000})
    if how == "admin":
        with httpx.Client(timeout=60) as client:
            for n in range(events):
                header = {
                    "entityName": "Account",
                    "changeType": "CREATE",
                    "recordIds": [f"001B{n:014d}"],
                }
                client.post(
                    f"{org.url}/_admin/streaming/publish",
                    json={
                        "channel": CHANNEL,
                        "payload": {"ChangeEventHeader": header, "Name": f"n{n}"},
                    },
                )
        return
    c = org.creds
    grant = RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
    )
    with Salesforce(auth=grant, token_store=MemoryTokenStore()) as sf:
        batch = 2_000
        for start in range(0, events, batch):
            rows = [
                std.Account(
                    Name=f"bench-{n}", AnnualRevenue=float(n), Rating=std.AccountRatingPicklist.HOT
                )
                for n in range(start, min(start + batch, events))
            ]
            results = sf.create_many(rows)
            assert all(r.success for r in results), results[:1]


def run_ours(org: Org, events: int) -> dict[str, Any]:
    c = org.creds
    grant = PasswordGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        username=c["username"],
        password=c["password"],
        security_token=c["security_token"],
        token_url=c["token_url"],
    )

    async def drain() -> dict[str, Any]:
        listener = AsyncListener(auth=grant)
        count = 0

        def created(event: ChangeDataEvent) -> None:
            nonlocal count
            count += 1
            if count >= events:
                listener.stop()

        listener.channel(CHANNEL, replay=EARLIEST, on_create=created)
        start = time.perf_counter()
        await asyncio.wait_for(listener.run(), CHILD_TIMEOUT_S)
        return {"events": count, "seconds": time.perf_counter() - start}

    return asyncio.run(drain())


def run_peer(org: Org, events: int) -> dict[str, Any]:
    c = org.creds
    cfg = {
        "token_url": c["token_url"],
        "client_id": c["client_id"],
        "client_secret": c["client_secret"],
        "username": c["username"],
        "password": c["password"] + c["security_token"],
        "channel": CHANNEL,
        "events": events,
    }
    script = str(Path(__file__).with_name("_listener_peer.py"))
    try:
        proc = subprocess.run(
            [str(VENV / "bin" / "python"), script, json.dumps(cfg)],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT_S} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 and not lines:
        errors = [ln for ln in proc.stderr.splitlines() if "Error" in ln]
        return {"error": (errors[-1] if errors else f"exit {proc.returncode}")[:300]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def rate(result: dict[str, Any]) -> float | None:
    if "error" in result or not result.get("seconds"):
        return None
    return float(result["events"]) / float(result["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", 20_000)))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--publish", choices=("collections", "admin"), default="collections")
    args = parser.parse_args()
    peer_problem = ensure_peer()
    print(f"streaming bench: {args.events} events, {args.runs} runs, publish={args.publish}")
    print(f"  python {platform.python_version()}, {len(os.sched_getaffinity(0))} cores")
    org = Org()
    try:
        t0 = time.perf_counter()
        publish(org, args.events, args.publish)
        print(f"  published {args.events} CDC events in {time.perf_counter() - t0:.1f} s")
        ours: list[float] = []
        peer: list[float] = []
        peer_error = peer_problem
        for n in range(1, args.runs + 1):
            mine = run_ours(org, args.events)
            ours.append(rate(mine) or 0.0)
            print(
                f"  run {n}: ours  {mine['events']} events in {mine['seconds']:.2f} s"
                f" = {ours[-1]:,.0f} events/s"
            )
            if peer_problem is None:
                theirs = run_peer(org, args.events)
                value = rate(theirs)
                if value is None:
                    peer_error = str(theirs.get("error"))
                    print(f"  run {n}: peer  failed: {peer_error}")
                else:
                    peer.append(value)
                    print(
                        f"  run {n}: peer  {theirs['events']} events in "
                        f"{theirs['seconds']:.2f} s = {value:,.0f} events/s"
                    )
    finally:
        org.close()
    ours_median = statistics.median(ours)
    peer_median = statistics.median(peer) if peer else None
    print(f"ours (typed, dispatched, deduped, checkpointed): {ours_median:,.0f} events/s median")
    if peer_median is not None:
        print(f"{PEER} {PEER_VERSION} (raw dicts):             {peer_median:,.0f} events/s median")
        print(f"ratio ours/peer: {ours_median / peer_median:.2f}")
    else:
        print(f"{PEER}: not measured ({peer_error})")
    print(
        json.dumps(
            {
                "bench": "listener",
                "events": args.events,
                "ours_events_per_s": round(ours_median, 1),
                "peer": f"{PEER}=={PEER_VERSION}",
                "peer_events_per_s": None if peer_median is None else round(peer_median, 1),
                "ratio": None if peer_median is None else round(ours_median / peer_median, 3),
                "peer_error": None if peer_median is not None else peer_error,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
