import { digestOf, type DefinitionSet, type PublishedTask, type TaskDefinition } from '../../definitions.js';
import type { ClaimResult, PauseState } from '../task-store.js';

// Turning the Lua scripts' and hashes' replies into the store's types.

export function parseClaim(reply: string[], scheduledMs: number): ClaimResult {
  const [kind, a, b, c] = reply;
  const previousMs = a === undefined || a === '' ? undefined : Number(a);
  switch (kind) {
    case 'won':
      return c ? { kind: 'won', previousMs, storeNowMs: Number(b), takenOverFrom: c } : { kind: 'won', previousMs, storeNowMs: Number(b) };
    case 'overlap':
    case 'paused':
      return { kind: 'skipped', reason: kind, previousMs };
    case 'missed':
      return { kind: 'missed', previousMs };
    case 'early':
    case 'recovering':
    case 'busy':
      return { kind, retryInMs: Number(a) };
    case 'stale':
      return { kind: 'stale' };
    case 'before':
      return { kind: 'before-definition' };
    case 'expired':
      return { kind: 'expired' };
    case 'superseded':
      return { kind: 'superseded' };
    case 'lost':
      return { kind: 'lost', decidedMs: Number(a) };
    default:
      return { kind: 'lost', decidedMs: scheduledMs };
  }
}

export function parsePause(value: string): PauseState {
  const [flag, seq] = value.split(':');
  return { paused: flag === '1', seq: Number(seq ?? 0) };
}

export function parseDefinitions(raw: string[] | Record<string, string>): DefinitionSet | undefined {
  const fields: Record<string, string> = Array.isArray(raw) ? {} : raw;
  if (Array.isArray(raw)) for (let i = 0; i + 1 < raw.length; i += 2) fields[raw[i]!] = raw[i + 1]!;
  if (fields.version === undefined || fields.body === undefined) return undefined;
  const definitions = JSON.parse(fields.body) as TaskDefinition[];
  const tasks: PublishedTask[] = definitions.map((definition) => ({
    definition,
    digest: fields[`d:${definition.name}`] ?? digestOf(definition),
    sinceMs: Number(fields[`s:${definition.name}`] ?? 0),
  }));
  return {
    version: Number(fields.version),
    generation: Number(fields.generation ?? 0),
    digest: fields.digest ?? '',
    publishedAtMs: Number(fields.publishedAt ?? 0),
    tasks,
  };
}
