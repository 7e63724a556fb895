// What a failed batch reports, and how a capability's error becomes one.
//
// A WIT function returning `result<T, E>` returns T in JavaScript and throws
// on `err`: componentize-js throws a ComponentError whose `payload` is E. The
// capabilities' errors are variants, `{ tag: "unavailable", val: "text" }`.

import { ConfigError } from "./config.js";

/** A batch the plugin could not process as a whole (the WIT `plugin-error`). */
export class PluginError extends Error {
  /**
   * @param {string} message what went wrong, for logs and dead-letter headers
   * @param {boolean} retryable whether trying the same batch again may succeed
   */
  constructor(message, retryable = false) {
    super(message);
    this.name = "PluginError";
    this.retryable = retryable;
  }

  /** A failure that may pass when the batch is tried again (a backend was down). */
  static retryable(message) {
    return new PluginError(message, true);
  }

  /** A failure that will repeat however often the batch is tried. */
  static fatal(message) {
    return new PluginError(message, false);
  }
}

/** The variant a capability call failed with, or undefined for any other exception. */
function capabilityVariant(error) {
  const payload = error !== null && typeof error === "object" ? error.payload : undefined;
  if (payload !== null && typeof payload === "object" && typeof payload.tag === "string") {
    return payload;
  }
  return undefined;
}

/**
 * The PluginError for a failed call of `capability` ("kv", "sql",
 * "produce"): message `kv: <the error's text>`, retryable when the
 * capability said `unavailable`, and `kind` the variant's name (denied,
 * invalid, unavailable). Any other exception comes back unchanged.
 */
export function capabilityError(capability, error) {
  const variant = capabilityVariant(error);
  if (variant === undefined) {
    return error;
  }
  const failure = new PluginError(`${capability}: ${variant.val}`, variant.tag === "unavailable");
  failure.kind = variant.tag;
  return failure;
}

/** Calls an imported function of `capability`, its error turned into a PluginError. */
export function callCapability(capability, imported, ...args) {
  try {
    return imported(...args);
  } catch (error) {
    throw capabilityError(capability, error);
  }
}

/** Text for any thrown value: its message, with the class of an unexpected error. */
export function describe(error) {
  if (error instanceof PluginError || error instanceof ConfigError) {
    return error.message;
  }
  if (error instanceof Error) {
    return `${error.name}: ${error.message}`;
  }
  const variant = capabilityVariant(error);
  if (variant !== undefined) {
    return `${variant.tag}: ${variant.val}`;
  }
  return String(error);
}

/**
 * The WIT `plugin-error` for whatever `process-batch` threw: a PluginError
 * as it is; a capability's error not caught by the SDK retryable when it
 * was `unavailable`; anything else (a bug) not retryable.
 */
export function toWitPluginError(error) {
  if (error instanceof PluginError) {
    return { message: error.message, retryable: error.retryable === true };
  }
  const variant = capabilityVariant(error);
  return { message: describe(error), retryable: variant !== undefined && variant.tag === "unavailable" };
}
