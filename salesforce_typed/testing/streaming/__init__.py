"""The fake org's Streaming API: one event bus (`bus`), its CometD/Bayeux face (`bayeux`),
and the org wiring, helpers and routes (`service`).

The helpers tests, examples and the CLI call, taking the `OrgState`, are re-exported here.
"""

from salesforce_typed.testing.streaming.service import (
    StreamingConfig,
    StreamingOrg,
    configure,
    define_channel,
    define_platform_event,
    drop_all_clients,
    enable,
    inject_gap,
    publish_raw,
    purge,
    stats,
)

__all__ = [
    "StreamingConfig",
    "StreamingOrg",
    "configure",
    "define_channel",
    "define_platform_event",
    "drop_all_clients",
    "enable",
    "inject_gap",
    "publish_raw",
    "purge",
    "stats",
]
