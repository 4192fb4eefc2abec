import { digestOf, type DefinitionSet, type PublishedTask, type TaskDefinition } from '../../definitions.js';
import { StoreReplyError } from '../../errors.js';
import type { ClaimResult, PauseSpan, PauseState } from '../task-store.js';

// Turning the Lua scripts' and hashes' replies into the store's types.

export function parseClaim(reply: string[]): ClaimResult {
  const [kind, a, b, c] = reply;
  const previousMs = optionalMs(a);
  switch (kind) {
    case 'won': {
      const pause = pauseSpanOf(reply[4], reply[5]);
      return {
        kind: 'won',
        previousMs,
        storeNowMs: Number(b),
        ...(c ? { takenOverFrom: c } : {}),
        ...(pause ? { pause } : {}),
      };
    }
    case 'overlap':
    case 'paused': {
      const pause = pauseSpanOf(b, c);
      return { kind: 'skipped', reason: kind, previousMs, ...(pause ? { pause } : {}) };
    }
    case 'missed': {
      const pause = pauseSpanOf(b, c);
      return { kind: 'missed', previousMs, ...(pause ? { pause } : {}) };
    }
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
    case 'error':
      return { kind: 'error', message: a ?? '', key: b ?? '' };
    default:
      throw new StoreReplyError('claim', reply);
  }
}

function optionalMs(text: string | undefined): number | undefined {
  return text === undefined || text === '' ? undefined : Number(text);
}

function pauseSpanOf(pausedAt: string | undefined, resumedAt: string | undefined): PauseSpan | undefined {
  const pausedAtMs = optionalMs(pausedAt);
  const resumedAtMs = optionalMs(resumedAt);
  if (pausedAtMs === undefined && resumedAtMs === undefined) return undefined;
  return { ...(pausedAtMs === undefined ? {} : { pausedAtMs }), ...(resumedAtMs === undefined ? {} : { resumedAtMs }) };
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
