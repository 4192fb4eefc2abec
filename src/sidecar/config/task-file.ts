import { parseDocument } from 'yaml';
import { assertTimeZone } from '../../core/triggers/zoned-time.js';
import { Triggers } from '../../core/triggers/triggers.js';
import type { TriggerTemplate } from '../../core/triggers/trigger.js';
import type { JsonValue, TaskOptions } from '../../core/task.js';
import type { ConfigProblem } from './config-error.js';
import { parseDuration } from './duration.js';
import { envReferences } from './env-refs.js';
import { describeIssue, HTTP_METHODS, taskFileSchema, taskSchema, type RawDefaults, type RawHttp, type RawTask } from './task-file-schema.js';

/** The HTTP call a task makes, as published (with `${VAR}` references unexpanded). */
export interface HttpCall {
  method: string;
  path?: string;
  url?: string;
  headers: Record<string, string>;
  body?: string;
  expect: number[];
}

export interface SidecarTaskSpec {
  name: string;
  trigger: TriggerTemplate;
  /** The task options; `payload` carries `{ http }` so every replica can build the call. */
  options: TaskOptions;
  http: HttpCall;
}

export interface LoadContext {
  env: NodeJS.ProcessEnv;
  /** The app container's URL; tasks with a `path` call it. */
  appUrl: URL;
  /** Hosts (host or host:port) tasks may call besides the app's. */
  allowHosts: string[];
}

/** Sidecar defaults, chosen for HTTP calls (the library's are in TASK_DEFAULTS). */
export const SIDECAR_DEFAULTS = { timeoutMs: 30_000, deadlineMs: 60_000, retries: 0 };
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const MAX_RETRIES = 100;

export function parseTaskFile(text: string, file: string, context: LoadContext): { tasks: SidecarTaskSpec[]; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const data = parseText(text, file, problems);
  if (problems.length > 0) return { tasks: [], problems };
  if (data === null || data === undefined) {
    return { tasks: [], problems: [{ file, message: 'the file is empty: expected a mapping with a "tasks" list' }] };
  }
  const top = taskFileSchema.safeParse(data, { reportInput: true });
  if (!top.success) {
    for (const issue of top.error.issues) problems.push({ file, field: issue.path.join('.') || undefined, message: describeIssue(issue) } as ConfigProblem);
    return { tasks: [], problems };
  }
  const defaults: RawDefaults = top.data.defaults ?? {};
  const tasks: SidecarTaskSpec[] = [];
  const seen = new Set<string>();
  top.data.tasks.forEach((rawTask, index) => {
    const label = labelOf(rawTask, index);
    const add = (field: string | undefined, message: string): void => {
      const problem: ConfigProblem = { file, task: label, message };
      if (field) problem.field = field;
      problems.push(problem);
    };
    const parsed = taskSchema.safeParse(rawTask, { reportInput: true });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) add(issue.path.join('.') || undefined, describeIssue(issue));
      return;
    }
    if (seen.has(parsed.data.name)) add('name', `duplicate task name "${parsed.data.name}": names must be unique`);
    seen.add(parsed.data.name);
    const task = buildTask(parsed.data, defaults, context, add);
    if (task) tasks.push(task);
  });
  return { tasks: problems.length > 0 ? [] : tasks, problems };
}

function parseText(text: string, file: string, problems: ConfigProblem[]): unknown {
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      problems.push({ file, message: `invalid JSON: ${(error as Error).message}` });
      return undefined;
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  for (const error of doc.errors) problems.push({ file, message: `invalid YAML: ${error.message.split('\n')[0]}` });
  if (problems.length > 0) return undefined;
  try {
    return doc.toJS({ maxAliasCount: 100 }) as unknown; // bounded: an alias bomb is refused, not expanded
  } catch (error) {
    problems.push({ file, message: `invalid YAML: ${(error as Error).message.split('\n')[0]}` });
    return undefined;
  }
}

function labelOf(raw: unknown, index: number): string {
  if (raw && typeof raw === 'object' && 'name' in raw && typeof (raw as { name: unknown }).name === 'string' && (raw as { name: string }).name !== '') {
    return (raw as { name: string }).name;
  }
  return `#${index + 1}`;
}

type Add = (field: string | undefined, message: string) => void;

function buildTask(raw: RawTask, defaults: RawDefaults, context: LoadContext, add: Add): SidecarTaskSpec | undefined {
  const before = { count: 0 };
  const report: Add = (field, message) => {
    before.count++;
    add(field, message);
  };
  if (!NAME.test(raw.name)) {
    report('name', `"${raw.name}" is not a valid name: use 1-63 characters from a-z, 0-9, ".", "_", "-", starting with a letter or digit`);
  }
  const merged = { ...defaults, ...raw, http: mergeHttp(defaults.http, raw.http) };
  const trigger = buildTrigger(merged, report);
  const timeoutMs = durationField(merged.timeout, 'timeout', SIDECAR_DEFAULTS.timeoutMs, report, { min: 1 });
  const deadlineMs = durationField(merged.deadline, 'deadline', SIDECAR_DEFAULTS.deadlineMs, report, { min: 1 });
  const jitterMs = durationField(merged.jitter, 'jitter', 0, report, { min: 0 });
  const retries = merged.retries ?? SIDECAR_DEFAULTS.retries;
  if (retries < 0 || retries > MAX_RETRIES) report('retries', `must be a whole number from 0 to ${MAX_RETRIES}, got ${retries}`);
  const http = buildHttp(merged.http, context, report);
  if (before.count > 0 || !trigger || !http) return undefined;
  const options: TaskOptions = {
    concurrent: merged.scope === 'pod',
    overlap: merged.overlap ?? 'skip',
    deadlineMs,
    timeoutMs,
    retries,
    payload: { http: JSON.parse(JSON.stringify(http)) as JsonValue },
  };
  if (jitterMs > 0) options.jitterMs = jitterMs;
  if (merged.paused) options.paused = true;
  return { name: raw.name, trigger, options, http };
}

function mergeHttp(defaults: RawHttp | undefined, own: RawHttp | undefined): RawHttp | undefined {
  if (!defaults) return own;
  if (!own) return defaults;
  return { ...defaults, ...own, headers: { ...defaults.headers, ...own.headers } };
}

function durationField(value: string | number | undefined, field: string, fallback: number, add: Add, limits: { min: number }): number {
  if (value === undefined) return fallback;
  const parsed = parseDuration(value);
  if ('error' in parsed) {
    add(field, parsed.error);
    return fallback;
  }
  if (parsed.ms < limits.min) {
    add(field, limits.min > 0 ? `must be longer than 0, got ${JSON.stringify(value)}` : `must not be negative, got ${JSON.stringify(value)}`);
    return fallback;
  }
  return parsed.ms;
}

function dateField(value: string | Date | undefined, field: string, add: Add): Date | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()) || (typeof value === 'string' && !/^\d{4}-\d{2}-\d{2}/.test(value))) {
    add(field, `must be an ISO 8601 date such as 2026-12-01T03:00:00Z, got ${JSON.stringify(value)}`);
    return undefined;
  }
  return date;
}

function buildTrigger(task: RawTask, add: Add): TriggerTemplate | undefined {
  const kinds = (['cron', 'every', 'at'] as const).filter((k) => task[k] !== undefined);
  if (kinds.length !== 1) {
    add(undefined, kinds.length === 0 ? 'needs a schedule: exactly one of "cron", "every" or "at"' : `has ${kinds.map((k) => `"${k}"`).join(' and ')}: use exactly one of "cron", "every" or "at"`);
    return undefined;
  }
  const timezone = task.timezone ?? 'UTC';
  try {
    assertTimeZone(timezone);
  } catch (error) {
    add('timezone', (error as Error).message);
    return undefined;
  }
  if ((task.startAt !== undefined || task.endAt !== undefined) && kinds[0] !== 'every') {
    add(task.startAt !== undefined ? 'startAt' : 'endAt', 'is only allowed with "every"');
    return undefined;
  }
  try {
    if (task.cron !== undefined) return Triggers.cronOf(task.cron, { timezone });
    if (task.at !== undefined) {
      const at = dateField(task.at, 'at', add);
      return at ? Triggers.onceOf(at) : undefined;
    }
    const every = parseDuration(task.every);
    if ('error' in every) {
      add('every', every.error);
      return undefined;
    }
    if (every.ms < 1) {
      add('every', `must be longer than 0, got ${JSON.stringify(task.every)}`);
      return undefined;
    }
    const startAt = dateField(task.startAt, 'startAt', add);
    const endAt = dateField(task.endAt, 'endAt', add);
    if ((task.startAt !== undefined && !startAt) || (task.endAt !== undefined && !endAt)) return undefined;
    const template: TriggerTemplate = { kind: 'every', everyMs: every.ms, startAtMs: startAt?.getTime() ?? 0 };
    if (endAt) template.endAtMs = endAt.getTime();
    if (endAt && endAt.getTime() < template.startAtMs) {
      add('endAt', 'must not be before startAt');
      return undefined;
    }
    return template;
  } catch (error) {
    add(kinds[0], (error as Error).message);
    return undefined;
  }
}

function buildHttp(http: RawHttp | undefined, context: LoadContext, add: Add): HttpCall | undefined {
  if (!http) {
    add('http', 'is required: the HTTP call the task makes (path or url, and optionally method, headers, body, expect)');
    return undefined;
  }
  const errorsBefore = { n: 0 };
  const report: Add = (field, message) => {
    errorsBefore.n++;
    add(field, message);
  };
  const method = (http.method ?? 'GET').toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(method)) report('http.method', `must be one of ${HTTP_METHODS.join(', ')}, got "${http.method}"`);
  if ((http.path === undefined) === (http.url === undefined)) {
    report('http', http.path === undefined ? 'needs "path" (relative to the app URL) or "url"' : 'has both "path" and "url": use one');
  } else if (http.path !== undefined && (!http.path.startsWith('/') || http.path.startsWith('//'))) {
    report('http.path', `must start with a single "/" (it is relative to the app URL), got "${http.path}"`);
  } else if (http.url !== undefined) {
    checkUrl(http.url, context, report);
  }
  const expect = http.expect === undefined ? [] : Array.isArray(http.expect) ? http.expect : [http.expect];
  for (const code of expect) if (code < 100 || code > 599) report('http.expect', `status codes must be from 100 to 599, got ${code}`);
  const body = typeof http.body === 'string' || http.body === undefined ? http.body : JSON.stringify(http.body);
  const headers = { ...http.headers };
  const texts: Array<[string, string | undefined]> = [
    ['http.path', http.path],
    ['http.url', http.url],
    ['http.body', body],
    ...Object.entries(headers).map(([k, v]): [string, string] => [`http.headers.${k}`, v]),
  ];
  for (const [field, text] of texts) {
    for (const name of envReferences(text ?? '')) {
      if (context.env[name] === undefined) report(field, `environment variable ${name} is not set (referenced as \${${name}})`);
    }
  }
  if (errorsBefore.n > 0) return undefined;
  const call: HttpCall = { method, headers, expect };
  if (http.path !== undefined) call.path = http.path;
  if (http.url !== undefined) call.url = http.url;
  if (body !== undefined) call.body = body;
  return call;
}

function checkUrl(url: string, context: LoadContext, add: Add): void {
  let parsed: URL;
  try {
    parsed = new URL(url.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*\}/g, 'x'));
  } catch {
    add('http.url', `must be an absolute http:// or https:// URL, got "${url}"`);
    return;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    add('http.url', `must use http or https, got "${parsed.protocol.replace(':', '')}"`);
    return;
  }
  if (!isAllowedHost(parsed, context)) {
    add('http.url', `host "${parsed.host}" is not allowed: tasks may call the app (${context.appUrl.host}) and hosts named by --allow-host${context.allowHosts.length ? ` (${context.allowHosts.join(', ')})` : ''}`);
  }
}

export function isAllowedHost(url: URL, context: Pick<LoadContext, 'appUrl' | 'allowHosts'>): boolean {
  if (url.host === context.appUrl.host) return true;
  return context.allowHosts.some((h) => h === url.host || h === url.hostname);
}
