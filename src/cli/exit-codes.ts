/** Exit codes of design §4. */
export const EXIT = { ok: 0, failed: 1, usage: 2, noSuchTask: 3, unreachable: 4 } as const;

/** A problem with how the command was called: printed with a hint, exits 2. */
export class UsageError extends Error {}
