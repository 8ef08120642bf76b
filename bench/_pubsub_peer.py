"""The Pub/Sub peer of bench/listener.py: pysfpubsub draining one topic, in its own venv.

    .bench-venv-pubsub/bin/python bench/_pubsub_peer.py '<json config>'

Prints one JSON line: events decoded and seconds from the SOAP login to the last one (or to
the time limit, then `"partial": true`). pysfpubsub is Salesforce's Python quick start as a
package: a SOAP login, a semaphore releasing one FetchRequest when a batch is used up, and
`avro` decoding each payload with the schema parsed again per event, as it ships. Two
adaptations, nothing else changed: it trusts only certifi's CAs (read at import), so
`certifi.where` names the fake org's CA first; and `requests` gets the CA through
REQUESTS_CA_BUNDLE, set by the caller.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from typing import Any

import certifi


class _DoneError(Exception):
    """Ends the subscription once every event is in."""


def main(cfg: dict[str, Any]) -> None:
    certifi.where = lambda: cfg["ca_file"]  # read once, when pysfpubsub is imported
    from pysfpubsub import Client

    host, _, port = cfg["pubsub_url"].rpartition(":")
    count = 0
    start = time.perf_counter()

    def give_up() -> None:
        seconds = time.perf_counter() - start
        print(json.dumps({"events": count, "seconds": seconds, "partial": True}), flush=True)
        os._exit(0)

    timer = threading.Timer(cfg["time_limit_s"], give_up)
    timer.daemon = True
    timer.start()
    client = Client(
        url=cfg["instance_url"],
        username=cfg["username"],
        password=cfg["password"],
        grpc_host=host,
        grpc_port=int(port),
        api_version="62.0",
    )
    client.auth()

    def callback(response: Any, client: Any) -> None:  # the quick start's shape
        nonlocal count
        for consumer in response.events:
            schema = client.get_schema_json(consumer.event.schema_id)
            client.decode(schema, consumer.event.payload)
            count += 1
            if count >= cfg["events"]:
                raise _DoneError
        if response.pending_num_requested == 0:
            client.release_subscription_semaphore()

    with contextlib.suppress(_DoneError):
        client.subscribe(cfg["topic"], "EARLIEST", b"", 100, callback)
    timer.cancel()
    print(json.dumps({"events": count, "seconds": time.perf_counter() - start}), flush=True)
    os._exit(0)  # the request stream's generator blocks on its semaphore: do not wait for it


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
