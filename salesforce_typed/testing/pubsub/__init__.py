"""The fake org's Pub/Sub API (gRPC `eventbus.v1.PubSub`): Avro schemas derived from the
describe (`schemas`), the service over the CometD event bus (`service`), and its server
(`server`), which `FakeOrg` starts beside uvicorn."""

from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.pubsub.server import PubSubServer
from salesforce_typed.testing.pubsub.service import PubSubConfig, PubSubService

__all__ = ["PubSubConfig", "PubSubServer", "PubSubService", "service"]


def service(state: OrgState) -> PubSubService:
    """The org's running Pub/Sub service (its `config` knobs and `drop_streams()`)."""
    found = state.extensions.get("pubsub")
    if not isinstance(found, PubSubService):
        raise LookupError("the org serves no Pub/Sub API: start it with FakeOrg(pubsub=True)")
    return found
