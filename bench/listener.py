"""Streaming benchmark: events/s end to end on the fake org, over CometD and over Pub/Sub.

    python bench/listener.py [--events 20000] [--runs 3] [--publish collections|admin]

A script, not a test (STYLE 3.16): it prints figures and ratios, then one JSON line, and
never fails on a figure. The fake org runs as its own process (`salesforce-typed fake-org
serve --tls`: the Pub/Sub API is TLS-only, so both APIs are measured over TLS), so no
client shares a GIL with the server. N Account creates are made first (sObject
Collections, 200 per call: real CDC events from real writes) or published through the admin
hook; then each client, in turn, subscribes from the earliest event and drains all N.
Measured per client: from opening it (token, handshake, subscribe) to the N-th event; for
ours, which run in this process, also the CPU seconds they used (close to the wall time:
the client, not the org, was the bottleneck).

Per run: our listener over CometD; aiosfstream-ng (CometD); our listener over Pub/Sub
(`api="pubsub"`: the same typed dispatch, dedupe and checkpoints); `AsyncPubSub.subscribe`
alone (typed events, no dispatch or checkpoints); pysfpubsub (Pub/Sub, first run only: it
is slow, so it gets a time limit and its rate is taken over what it drained). Before the
runs, one untimed Pub/Sub drain lets the fake org Avro-encode each retained event once (it
keeps them encoded, as Salesforce stores events; CometD's JSON bodies are made at publish).

What each side does per event differs, and the figures should be read with that in mind:
ours decodes every payload into the typed `AccountChangeEvent`, dispatches by change type,
dedupes on replay id and checkpoints each batch; aiosfstream-ng hands raw dicts over;
pysfpubsub hands over `avro`'s decoded dicts.

aiosfstream-ng runs in `.bench-venv-stream/` (created on first use from PyPI). It only knows
Salesforce's login hosts, so `_listener_peer.py` points its authenticator at the fake org;
and aiohttp's cookie jar ignores cookies set by a bare IP address, so the org is served as
`localhost` (on 127.0.0.1 the peer loses BAYEUX_BROWSER and the org refuses its connect).
It and pysfpubsub (`.bench-venv-pubsub/`, `_pubsub_peer.py`) trust the org's CA through
SSL_CERT_FILE / REQUESTS_CA_BUNDLE and certifi.
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
from salesforce_typed import (
    AsyncSalesforce,
    MemoryTokenStore,
    PasswordGrant,
    RefreshTokenGrant,
    Salesforce,
)
from salesforce_typed.pubsub import EARLIEST as PUBSUB_EARLIEST
from salesforce_typed.pubsub import AsyncPubSub
from salesforce_typed.streaming import EARLIEST, AsyncListener, ChangeDataEvent

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench-venv-stream"
PEER = "aiosfstream-ng"
PEER_VERSION = "0.7.5"  # newest on PyPI when written
PUBSUB_VENV = ROOT / ".bench-venv-pubsub"
PUBSUB_PEER = "pysfpubsub"
PUBSUB_PEER_VERSION = "0.1.2"  # newest on PyPI when written: Salesforce's quick start, packaged
# It declares no dependencies (`pip install pysfpubsub` alone gives an import error): these
# are what it imports. aiosfpubsub 0.0.6, the other one, sends a FetchRequest every 5 s
# whatever was consumed (100 events per 5 s at most), so it is not measured.
PUBSUB_PEER_IMPORTS = ("avro", "certifi", "grpcio", "protobuf", "requests")
PUBSUB_PEER_LIMIT_S = 60.0
CHANNEL = "/data/AccountChangeEvent"
CHILD_TIMEOUT_S = 300


def ensure_peer(
    venv: Path = VENV, module: str = "aiosfstream_ng", packages: tuple[str, ...] = ()
) -> str | None:
    """Create a peer venv once; None when ready, else why it cannot be used."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", f"import {module}"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return None
    wanted = packages or (f"{PEER}=={PEER_VERSION}",)
    print(f"creating {venv.name} with {' '.join(wanted)} (once) ...", file=sys.stderr)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    steps = [[sys.executable, "-m", "venv", "--clear", str(venv)], [*pip, *wanted]]
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
            return f"`{' '.join(step[-2:])}` failed: {tail[0] if tail else proc.returncode}"
    if subprocess.run(check, capture_output=True).returncode != 0:
        return f"`import {module}` fails in {venv.name}"
    return None


class Org:
    """`salesforce-typed fake-org serve` in a child process."""

    def __init__(self) -> None:
        exe = Path(sys.executable).with_name("salesforce-typed")
        self.proc = subprocess.Popen(
            [str(exe), "fake-org", "serve", "--host", "localhost", "--tls"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.creds: dict[str, str] = json.loads(self.proc.stdout.readline())
        self.url = self.creds["instance_url"]
        self.ca = self.creds["ca_file"]

    def admin(self, path: str, body: dict[str, Any]) -> Any:
        return httpx.post(f"{self.url}/_admin{path}", json=body, timeout=60, verify=self.ca).json()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def publish(org: Org, events: int, how: str) -> None:
    org.admin("/config", {"daily_api_limit": 100_000_000})
    # The first streaming call also starts CDC capture: writes before it publish nothing.
    org.admin("/streaming/config", {"timeout_ms": 1000})
    if how == "admin":
        with httpx.Client(timeout=60, verify=org.ca) as client:
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
    with Salesforce(auth=grant, token_store=MemoryTokenStore(), verify=org.ca) as sf:
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


def password_grant(org: Org) -> PasswordGrant:
    c = org.creds
    return PasswordGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        username=c["username"],
        password=c["password"],
        security_token=c["security_token"],
        token_url=c["token_url"],
    )


def run_ours(org: Org, events: int, api: str = "cometd") -> dict[str, Any]:
    """Our listener (typed, dispatched, deduped, checkpointed) over `api`."""
    grant = password_grant(org)

    async def drain() -> dict[str, Any]:
        if api == "pubsub":
            listener = AsyncListener(
                auth=grant, verify=org.ca, api="pubsub", pubsub_target=org.creds["pubsub_url"]
            )
        else:
            listener = AsyncListener(auth=grant, verify=org.ca)
        count = 0

        def created(event: ChangeDataEvent) -> None:
            nonlocal count
            count += 1
            if count >= events:
                listener.stop()

        listener.channel(CHANNEL, replay=EARLIEST, on_create=created)
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.wait_for(listener.run(), CHILD_TIMEOUT_S)
        seconds = time.perf_counter() - start
        return {"events": count, "seconds": seconds, "cpu_s": time.process_time() - cpu}

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
    env = dict(os.environ, SSL_CERT_FILE=org.ca)
    return run_child(VENV, script, cfg, env)


def run_pubsub_stream(org: Org, events: int) -> dict[str, Any]:
    """`AsyncPubSub.subscribe` alone: typed events, no dispatch, dedupe or checkpoints."""

    async def drain() -> dict[str, Any]:
        grant = password_grant(org)
        count = 0
        start, cpu = time.perf_counter(), time.process_time()
        sf = AsyncSalesforce(auth=grant, verify=org.ca, token_store=MemoryTokenStore())
        pubsub = AsyncPubSub.from_client(sf, target=org.creds["pubsub_url"])
        async with sf, pubsub:
            async for _ in pubsub.subscribe(CHANNEL, replay=PUBSUB_EARLIEST):
                count += 1
                if count >= events:
                    break
        seconds = time.perf_counter() - start
        return {"events": count, "seconds": seconds, "cpu_s": time.process_time() - cpu}

    return asyncio.run(asyncio.wait_for(drain(), CHILD_TIMEOUT_S))


def run_pubsub_peer(org: Org, events: int) -> dict[str, Any]:
    c = org.creds
    cfg = {
        "instance_url": c["instance_url"],
        "username": c["username"],
        "password": c["password"] + c["security_token"],
        "pubsub_url": c["pubsub_url"],
        "ca_file": org.ca,
        "topic": CHANNEL,
        "events": events,
        "time_limit_s": PUBSUB_PEER_LIMIT_S,
    }
    script = str(Path(__file__).with_name("_pubsub_peer.py"))
    env = dict(os.environ, REQUESTS_CA_BUNDLE=org.ca)
    return run_child(PUBSUB_VENV, script, cfg, env)


def run_child(venv: Path, script: str, cfg: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """A peer script in its venv; its last JSON line, or {"error": why}."""
    try:
        proc = subprocess.run(
            [str(venv / "bin" / "python"), script, json.dumps(cfg)],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            env=env,
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


def _line(label: str, result: dict[str, Any]) -> float | None:
    """Print one client's run; its events/s (None when it failed)."""
    value = rate(result)
    if value is None:
        print(f"    {label:<34} failed: {result.get('error')}")
        return None
    partial = " (time limit: partial)" if result.get("partial") else ""
    # ours run in this process: its CPU time says whether the client was the bottleneck
    cpu = f", client CPU {result['cpu_s']:.2f} s" if "cpu_s" in result else ""
    print(
        f"    {label:<34} {result['events']:>6} events in {result['seconds']:6.2f} s"
        f" = {value:>8,.0f} events/s{partial}{cpu}"
    )
    return value


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return None if top is None or not bottom else round(top / bottom, 3)


def _fmt(value: float | None) -> str:
    return "not measured" if value is None else f"{value:,.0f} events/s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", 20_000)))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--publish", choices=("collections", "admin"), default="collections")
    args = parser.parse_args()
    problems: dict[str, str | None] = {
        "cometd_peer": ensure_peer(),
        "pubsub_peer": ensure_peer(
            PUBSUB_VENV,
            "pysfpubsub",
            (f"{PUBSUB_PEER}=={PUBSUB_PEER_VERSION}", *PUBSUB_PEER_IMPORTS),
        ),
    }
    load_before = os.getloadavg()
    print(f"streaming bench: {args.events} events, {args.runs} runs, publish={args.publish}")
    print(
        f"  python {platform.python_version()}, {len(os.sched_getaffinity(0))} cores,"
        f" load average {load_before[0]:.2f} (1 min) at start"
    )
    names = ("cometd", "cometd_peer", "pubsub", "pubsub_stream", "pubsub_peer")
    rates: dict[str, list[float]] = {name: [] for name in names}
    org = Org()
    try:
        t0 = time.perf_counter()
        publish(org, args.events, args.publish)
        print(f"  published {args.events} CDC events in {time.perf_counter() - t0:.1f} s")
        warm = run_pubsub_stream(org, args.events)
        print(
            f"  untimed warm-up: the org Avro-encodes {warm.get('events')} events once"
            f" ({warm.get('seconds', 0.0):.1f} s)"
        )
        for n in range(1, args.runs + 1):
            print(f"  run {n}:")
            runs: list[tuple[str, str, Any]] = [
                ("cometd", "ours, CometD listener", lambda: run_ours(org, args.events)),
                ("cometd_peer", f"{PEER} (CometD)", lambda: run_peer(org, args.events)),
                ("pubsub", "ours, Pub/Sub listener", lambda: run_ours(org, args.events, "pubsub")),
                (
                    "pubsub_stream",
                    "ours, AsyncPubSub.subscribe",
                    lambda: run_pubsub_stream(org, args.events),
                ),
            ]
            if n == 1:
                runs.append(
                    (
                        "pubsub_peer",
                        f"{PUBSUB_PEER} (Pub/Sub)",
                        lambda: run_pubsub_peer(org, args.events),
                    )
                )
            for name, label, measure in runs:
                if problems.get(name) is not None:
                    continue
                try:
                    result = measure()
                except Exception as exc:  # a figure never fails the bench
                    result = {"error": f"{type(exc).__name__}: {exc}"[:300]}
                value = _line(label, result)
                if value is None:
                    problems[name] = str(result.get("error"))
                else:
                    rates[name].append(value)
    finally:
        org.close()
    load_after = os.getloadavg()
    med = {name: _median(values) for name, values in rates.items()}
    print("medians:")
    full = "typed, dispatched, deduped, checkpointed"
    print(f"  ours, CometD listener ({full}): {_fmt(med['cometd'])}")
    print(f"  ours, Pub/Sub listener ({full}): {_fmt(med['pubsub'])}")
    print(f"  ours, AsyncPubSub.subscribe (typed events only): {_fmt(med['pubsub_stream'])}")
    peer_note = problems.get("cometd_peer") or "raw dicts"
    print(f"  {PEER} {PEER_VERSION} ({peer_note}): {_fmt(med['cometd_peer'])}")
    pubsub_note = problems.get("pubsub_peer") or "avro dicts, one run, time-limited"
    print(f"  {PUBSUB_PEER} {PUBSUB_PEER_VERSION} ({pubsub_note}): {_fmt(med['pubsub_peer'])}")
    ratios = {
        "pubsub_over_cometd": _ratio(med["pubsub"], med["cometd"]),
        "pubsub_stream_over_cometd": _ratio(med["pubsub_stream"], med["cometd"]),
        "cometd_over_peer": _ratio(med["cometd"], med["cometd_peer"]),
        "pubsub_over_peer": _ratio(med["pubsub"], med["pubsub_peer"]),
    }
    target = ratios["pubsub_over_cometd"]
    verdict = (
        ""
        if target is None
        else (" (target >= 2: met)" if target >= 2 else " (target >= 2: missed)")
    )
    print(f"ratio Pub/Sub listener / CometD listener: {target}{verdict}")
    print(f"ratio AsyncPubSub.subscribe / CometD listener: {ratios['pubsub_stream_over_cometd']}")
    print(f"ratio ours CometD / {PEER}: {ratios['cometd_over_peer']}")
    print(f"ratio ours Pub/Sub / {PUBSUB_PEER}: {ratios['pubsub_over_peer']}")
    print(f"  load average {load_after[0]:.2f} (1 min) at the end")
    print(
        json.dumps(
            {
                "bench": "listener",
                "events": args.events,
                "runs": args.runs,
                "tls": True,
                "cometd_events_per_s": _round(med["cometd"]),
                "pubsub_events_per_s": _round(med["pubsub"]),
                "pubsub_stream_events_per_s": _round(med["pubsub_stream"]),
                "peer": f"{PEER}=={PEER_VERSION}",
                "peer_events_per_s": _round(med["cometd_peer"]),
                "pubsub_peer": f"{PUBSUB_PEER}=={PUBSUB_PEER_VERSION}",
                "pubsub_peer_events_per_s": _round(med["pubsub_peer"]),
                **ratios,
                "errors": {k: v for k, v in problems.items() if v is not None},
                "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
            }
        )
    )
    return 0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


if __name__ == "__main__":
    sys.exit(main())
