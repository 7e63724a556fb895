// What a plugin did with a batch it accepted: the events it refused.

/** One refused event: it goes to the dead-letter topic with `reason`. */
export function reject(index, reason) {
  return { index, reason: String(reason) };
}

/**
 * The WIT `batch-outcome` for what a plugin's processBatch returned:
 * nothing (every event done), a list of rejections, or `{ rejected }`.
 */
export function toBatchOutcome(result) {
  if (result === undefined || result === null) {
    return { rejected: [] };
  }
  if (Array.isArray(result)) {
    return { rejected: result };
  }
  return { rejected: result.rejected ?? [] };
}
