// The two exports of the `plugin` world, made from a plugin's functions.
//
// componentize-js maps an exported function returning `result<T, E>` to a
// JavaScript function that returns T or throws E. A thrown value that is not
// an E (an Error object where init's E is a string, say) traps the
// instance. definePlugin makes every throw the right E.

import { PluginConfig } from "./config.js";
import { describe, toWitPluginError } from "./errors.js";
import { toBatchOutcome } from "./outcome.js";

/**
 * The world's exports from a plugin's `init(config)` and `processBatch(batch)`:
 *
 *   export const { init, processBatch } = definePlugin({ init(config) {…}, processBatch(batch) {…} });
 *
 * `init` gets a PluginConfig; whatever it throws becomes the error text the
 * operator sees. `processBatch` returns nothing, a list of `reject(…)` or
 * `{ rejected }`; a PluginError it throws fails the batch as it says, any
 * other exception fails it as not retryable, its class and message kept.
 */
export function definePlugin({ init, processBatch }) {
  return {
    init(pairs) {
      try {
        if (init) {
          init(new PluginConfig(pairs));
        }
      } catch (error) {
        throw describe(error);
      }
    },
    processBatch(batch) {
      try {
        return toBatchOutcome(processBatch(batch));
      } catch (error) {
        throw toWitPluginError(error);
      }
    },
  };
}
