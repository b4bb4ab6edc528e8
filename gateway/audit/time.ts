// Times and durations as the audit trail and its commands read and write them.

/** RFC 3339 UTC with milliseconds: `2026-01-15T08:00:00.123Z`. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90d`, `12h`, `30m`, `1w`, `1d12h` → milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, n, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(n) * UNIT_MS[unit!]!;
  return total;
}

/**
 * A point in time given as RFC 3339 / ISO 8601 (`2026-01-15`, `2026-01-15T08:00:00Z`) or as a
 * duration before `now` (`24h` = a day ago). Undefined when it is neither.
 */
export function parseTimeOrAgo(text: string, now: number = Date.now()): Date | undefined {
  const ago = parseDuration(text);
  if (ago !== undefined) return new Date(now - ago);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const date = new Date(text.trim());
  return Number.isNaN(date.getTime()) ? undefined : date;
}
