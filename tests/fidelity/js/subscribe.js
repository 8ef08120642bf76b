// Subscribe to one channel of the fake org with the official CometD JavaScript client.
//
// The test runs `node subscribe.js` with SF_INSTANCE_URL, SF_TOKEN, SF_CHANNEL, SF_REPLAY
// (-1 new events only, -2 all retained) and SF_COUNT (events to wait for). It prints one JSON
// line per step, prefixed with "RESULT " (the client logs to stdout too): {"subscribed": ...} once the server accepts the subscription, then
// {"message": <Bayeux message>} per event, then exits 0; any failure prints {"error": ...}
// and exits 1. Salesforce's replay extension is not on npm: the few lines below do what it
// documents (ext.replay = true on handshake, {channel: replayId} on subscribe).
import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";

adapt();

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
};

const instanceUrl = env("SF_INSTANCE_URL");
const channel = env("SF_CHANNEL");
const replay = Number(env("SF_REPLAY"));
const wanted = Number(process.env.SF_COUNT || "1");
const version = process.env.SF_API_VERSION || "62.0";

const out = (value) => process.stdout.write("RESULT " + JSON.stringify(value) + "\n");
const fail = (why) => {
  out({ error: why });
  process.exit(1);
};

class ReplayExtension {
  constructor(replays) {
    this.replays = replays;
  }

  outgoing(message) {
    if (message.channel === "/meta/handshake") {
      message.ext = { ...(message.ext || {}), replay: true };
    } else if (message.channel === "/meta/subscribe") {
      message.ext = { ...(message.ext || {}), replay: this.replays };
    }
    return message;
  }
}

const cometd = new CometD();
// Salesforce serves long polling only (no WebSocket), as its own samples configure.
cometd.unregisterTransport("websocket");
cometd.configure({
  url: `${instanceUrl}/cometd/${version}`,
  requestHeaders: { Authorization: `Bearer ${env("SF_TOKEN")}` },
  appendMessageTypeToURL: false,
  maxNetworkDelay: 30000,
});
cometd.registerExtension("replay", new ReplayExtension({ [channel]: replay }));

const timer = setTimeout(() => fail("timed out"), Number(process.env.SF_TIMEOUT_MS || "60000"));
let received = 0;
let subscribed = false;

// Done once the events arrived and the subscribe reply too: with a replay the held connect
// may deliver retained events before the subscribe reply comes back on its own request.
const finishIfDone = () => {
  if (received >= wanted && subscribed) {
    clearTimeout(timer);
    cometd.disconnect(() => process.exit(0));
  }
};

cometd.handshake((reply) => {
  if (!reply.successful) {
    fail({ handshake: reply });
    return;
  }
  cometd.subscribe(
    channel,
    (message) => {
      out({ message });
      received += 1;
      finishIfDone();
    },
    (reply) => {
      if (!reply.successful) {
        fail({ subscribe: reply });
        return;
      }
      out({ subscribed: reply.subscription, clientId: cometd.getClientId() });
      subscribed = true;
      finishIfDone();
    },
  );
});
