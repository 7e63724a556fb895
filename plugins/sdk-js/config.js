// Typed access to the string map a plugin receives at `init`. Every getter
// takes the key's default and fails with an error naming the key and the
// value, so a plugin refuses a bad config at `init` (the host then refuses
// that plugin version and shows the message) instead of misbehaving on the
// first batch.

/** A config value a plugin cannot use; `definePlugin` turns it into init's error text. */
export class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = "ConfigError";
  }
}

// A decimal number as Rust's f64 parser reads one (sign, digits, point,
// exponent), without the words: "inf" and "nan" are not numbers here.
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

export class PluginConfig {
  #values = new Map();

  /** Wraps the [key, value] pairs handed to `init` (a later duplicate key wins). */
  constructor(pairs = []) {
    for (const [key, value] of pairs) {
      this.#values.set(key, value);
    }
  }

  /** A config from a plain object, as tests write it. */
  static fromObject(values) {
    return new PluginConfig(Object.entries(values).map(([key, value]) => [key, String(value)]));
  }

  /** The keys, in the order they were given. */
  keys() {
    return [...this.#values.keys()];
  }

  has(key) {
    return this.#values.has(key);
  }

  /** The value of `key`, or `fallback` when absent. */
  string(key, fallback) {
    return this.#values.has(key) ? this.#values.get(key) : fallback;
  }

  /** The value of `key` (`fallback` when absent), which must hold more than white space. */
  nonEmpty(key, fallback) {
    const value = this.string(key, fallback);
    if (typeof value !== "string" || value.trim() === "") {
      throw new ConfigError(`${key}: must not be empty`);
    }
    return value;
  }

  /** The finite number at `key` (`fallback` when absent), blanks around it ignored. */
  number(key, fallback) {
    return this.#parse(key, fallback, "a number", () => true);
  }

  /** The number at `key` (`fallback` when absent), which must be > 0. */
  positive(key, fallback) {
    return this.#parse(key, fallback, "a number > 0", (value) => value > 0);
  }

  /** The number at `key` (`fallback` when absent), which must be >= `low`. */
  atLeast(key, fallback, low) {
    return this.#parse(key, fallback, `a number >= ${low}`, (value) => value >= low);
  }

  /** The whole number at `key` (`fallback` when absent), within ±2^53. */
  integer(key, fallback) {
    if (!this.#values.has(key)) {
      return fallback;
    }
    const text = this.#values.get(key).trim();
    const value = Number(text);
    if (!INTEGER.test(text) || !Number.isSafeInteger(value)) {
      throw new ConfigError(`${key}: not an integer: ${JSON.stringify(this.#values.get(key))}`);
    }
    return value;
  }

  /** `true` or `false` at `key` (`fallback` when absent). */
  boolean(key, fallback) {
    if (!this.#values.has(key)) {
      return fallback;
    }
    const text = this.#values.get(key).trim();
    if (text !== "true" && text !== "false") {
      throw new ConfigError(`${key}: not true or false: ${JSON.stringify(this.#values.get(key))}`);
    }
    return text === "true";
  }

  /**
   * Fails on the first key (in the order given) that is not in `known`, so a
   * typo in the host's config file does not go unnoticed.
   */
  rejectUnknown(known) {
    for (const key of this.#values.keys()) {
      if (!known.includes(key)) {
        throw new ConfigError(`unknown config key ${JSON.stringify(key)}`);
      }
    }
  }

  #parse(key, fallback, expected, accepted) {
    if (!this.#values.has(key)) {
      return fallback;
    }
    const text = this.#values.get(key);
    const trimmed = text.trim();
    const value = Number(trimmed);
    if (!NUMBER.test(trimmed) || !Number.isFinite(value) || !accepted(value)) {
      throw new ConfigError(`${key}: not ${expected}: ${JSON.stringify(text)}`);
    }
    return value;
  }
}
