// One record for the produce capability (the WIT `produce.message`).

const encoder = new TextEncoder();

/** Bytes from text (UTF-8), a Uint8Array (as it is) or an ArrayBuffer. */
export function bytes(value) {
  if (typeof value === "string") {
    return encoder.encode(value);
  }
  if (value instanceof Uint8Array) {
    return value;
  }
  if (value instanceof ArrayBuffer) {
    return new Uint8Array(value);
  }
  throw new TypeError(`expected text or bytes, got ${typeof value}`);
}

/**
 * A record for `topic` with partitioning `key` (a driver or order id; null
 * or undefined spreads records), `payload` (text, sent as UTF-8, or bytes)
 * and `headers` (a plain object or [name, value] pairs; values text or bytes).
 */
export function message(topic, key, payload, headers = []) {
  const entries = Array.isArray(headers) ? headers : Object.entries(headers);
  return {
    topic,
    key: key ?? undefined,
    payload: bytes(payload),
    headers: entries.map(([name, value]) => ({ key: name, value: bytes(value) })),
  };
}
