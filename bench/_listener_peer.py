"""The peer side of bench/listener.py: aiosfstream-ng draining one channel, in its own venv.

    .bench-venv-stream/bin/python bench/_listener_peer.py '<json config>'

Prints one JSON line: events received and seconds from opening the client to the last one.
aiosfstream-ng only knows Salesforce's own login hosts, so its password authenticator is
subclassed to send the token request to the fake org; nothing else is changed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from aiosfstream_ng import Client, PasswordAuthenticator, ReplayOption


class FakeOrgAuthenticator(PasswordAuthenticator):  # type: ignore[misc]
    def __init__(self, token_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fake_org_token_url = token_url

    @property
    def _token_url(self) -> str:
        return self._fake_org_token_url


async def main(cfg: dict[str, Any]) -> None:
    auth = FakeOrgAuthenticator(
        cfg["token_url"],
        consumer_key=cfg["client_id"],
        consumer_secret=cfg["client_secret"],
        username=cfg["username"],
        password=cfg["password"],
    )
    count = 0
    start = time.perf_counter()
    async with Client(auth, replay=ReplayOption.ALL_EVENTS) as client:
        await client.subscribe(cfg["channel"])
        async for message in client:
            if message.get("channel") == cfg["channel"]:
                count += 1
            if count >= cfg["events"]:
                break
    seconds = time.perf_counter() - start
    print(json.dumps({"events": count, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(json.loads(sys.argv[1])), timeout=600))
