// Salesforce's Node Pub/Sub API client (salesforce-pubsub-api-client), pointed at the fake org:
// subscribes from the earliest event and prints each parsed event as one JSON line.
// Env: PUBSUB_URL, SF_ACCESS_TOKEN, SF_INSTANCE_URL, SF_ORG_ID, TOPIC, COUNT.
import PubSubApiClient from 'salesforce-pubsub-api-client';

const count = Number(process.env.COUNT || '1');
const quiet = { debug() {}, info() {}, warn() {}, error(...a) { console.error(...a); } };
const client = new PubSubApiClient(
    {
        authType: 'user-supplied',
        accessToken: process.env.SF_ACCESS_TOKEN,
        instanceUrl: process.env.SF_INSTANCE_URL,
        organizationId: process.env.SF_ORG_ID,
        pubSubEndpoint: process.env.PUBSUB_URL,
        // The client trusts only its bundled certifi roots; the fake org's CA is not one.
        rejectUnauthorizedSsl: false
    },
    quiet
);
await client.connect();
let seen = 0;
const timer = setTimeout(() => {
    console.error('timed out');
    process.exit(3);
}, 30000);
client.subscribeFromEarliestEvent(
    process.env.TOPIC,
    (info, type, data) => {
        if (type === 'event') {
            console.log(JSON.stringify(data, (k, v) => (typeof v === 'bigint' ? v.toString() : v)));
            seen += 1;
            if (seen >= count) {
                clearTimeout(timer);
                client.close();
                process.exit(0);
            }
        } else if (type === 'error') {
            console.error('error', String(data?.message ?? data));
            process.exit(2);
        }
    },
    count
);
