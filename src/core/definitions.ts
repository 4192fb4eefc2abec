import { createHash } from 'node:crypto';
import type { ResolvedTaskOptions } from './task.js';
import type { TriggerSpec } from './triggers/trigger.js';

/** One task as published to every replica: everything that decides when and how it fires. */
export interface TaskDefinition extends ResolvedTaskOptions {
  name: string;
  trigger: TriggerSpec;
}

export interface PublishedTask {
  definition: TaskDefinition;
  /** Identifies this exact definition; a claim made with another digest is refused. */
  digest: string;
  /** When this digest was first published: fires scheduled before it never run. */
  sinceMs: number;
}

/** The definition set in force across the replicas of one scheduler. */
export interface DefinitionSet {
  /** The caller's version (`setVersion`); a lower one never replaces a higher one. */
  version: number;
  /** Rises by one each time a set is accepted, so replicas can tell newer from older cheaply. */
  generation: number;
  digest: string;
  publishedAtMs: number;
  tasks: PublishedTask[];
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function digestOf(value: unknown): string {
  return createHash('sha1').update(canonicalJson(value)).digest('hex').slice(0, 16);
}
