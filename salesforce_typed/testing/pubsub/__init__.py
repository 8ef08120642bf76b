"""The fake org's Pub/Sub API (gRPC `eventbus.v1.PubSub`): Avro schemas derived from the
describe (`schemas`), the service over the CometD event bus (`service`), and its server
(`server`), which `FakeOrg` starts beside uvicorn."""

from salesforce_typed.testing.pubsub.server import PubSubServer
from salesforce_typed.testing.pubsub.service import PubSubConfig, PubSubService

__all__ = ["PubSubConfig", "PubSubServer", "PubSubService"]
