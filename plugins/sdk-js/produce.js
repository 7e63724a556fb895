// The produce capability (Kafka), its errors turned into PluginErrors:
// `produce: <text>`, retryable when the broker did not acknowledge in time.

import { send as importedSend } from "fleethost:plugin/produce@0.2.0";
import { callCapability } from "./errors.js";

export { message } from "./message.js";

/**
 * Publishes the records (built with `message`) and returns once the broker
 * has acknowledged all of them.
 */
export function send(messages) {
  callCapability("produce", importedSend, messages);
}
