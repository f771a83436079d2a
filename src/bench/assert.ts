/** Small checks in place of casts: they say what was expected when it is not there. */

/** Throws `message` unless `condition` holds; narrows the type after it. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** The message of anything thrown (an Error's message, else its string form). */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
