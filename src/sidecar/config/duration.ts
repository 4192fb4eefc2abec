const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * "250ms", "30s", "5m", "1h", or a bare number of seconds (as in YAML `timeout: 30`).
 * Returns milliseconds, or an error sentence saying what is allowed.
 */
export function parseDuration(value: unknown): { ms: number } | { error: string } {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return { error: `must be a duration >= 0, got ${value}` };
    return { ms: Math.round(value * 1000) };
  }
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
    if (match) return { ms: Math.round(Number(match[1]) * UNITS[match[2] ?? 's']!) };
    if (/^\s*-/.test(value)) return { error: `must not be negative, got "${value}"` };
  }
  return { error: `must be a duration such as 250ms, 30s, 5m, 1h or a number of seconds, got ${JSON.stringify(value)}` };
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
