// Sends an identify and a track with the official @segment/analytics-node SDK to the edge:
//   node segment_node_send.mjs <edge URL> <write key> <user id>
// Exits 1 when the SDK reports an error (a 4xx/5xx it gave up on).
import { Analytics } from "@segment/analytics-node";

const [host, writeKey, userId] = process.argv.slice(2);
const analytics = new Analytics({ writeKey, host, maxRetries: 1, flushAt: 2 });
let failed = null;
analytics.on("error", (error) => { failed = error; });
analytics.identify({ userId, traits: { email: "node@example.com", plan: "team" } });
analytics.track({ userId, event: "Item Purchased", properties: { price: 9.5 } });
await analytics.closeAndFlush({ timeout: 20000 });
if (failed) {
  console.error("the SDK reported an error:", failed);
  process.exit(1);
}
console.log("sent");
