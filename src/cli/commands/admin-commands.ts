import type { RunRecord } from '../../core/store/task-store.js';
import { DEFAULT_ADMIN_SOCKET, type TaskSummary, type TriggerResponse } from '../../sidecar/admin/admin-api.js';
import { parseDuration } from '../../sidecar/config/duration.js';
import { adminCall } from '../admin-client.js';
import { oneName, parseFlags, str, type FlagSpec } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { relativeTime, table } from '../table.js';

const socketFlag: Record<string, FlagSpec> = {
  'admin-socket': { type: 'string', default: DEFAULT_ADMIN_SOCKET, help: 'Unix socket of the running sidecar' },
};
const jsonFlag: Record<string, FlagSpec> = { json: { type: 'boolean', help: 'print JSON for scripts' } };

export const adminFlags = {
  trigger: { ...socketFlag, ...jsonFlag, wait: { type: 'boolean', default: true, help: 'wait for the outcome (--no-wait returns at once)' }, timeout: { type: 'string', default: '60s', help: 'how long to wait for the outcome' }, force: { type: 'boolean', help: 'run even if a run is in progress' } },
  list: { ...socketFlag, ...jsonFlag },
  history: { ...socketFlag, ...jsonFlag, limit: { type: 'string', default: '20', help: 'how many runs, newest first (at most 100)' } },
  pause: socketFlag,
  resume: socketFlag,
} satisfies Record<string, Record<string, FlagSpec>>;

const out = (text: string): void => void process.stdout.write(`${text}\n`);
const path = (name: string, action: string): string => `/v1/tasks/${encodeURIComponent(name)}/${action}`;

export async function triggerCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseFlags(argv, adminFlags.trigger, env);
  const name = oneName(positionals, 'trigger');
  const timeout = parseDuration(str(values, 'timeout'));
  if ('error' in timeout) throw new UsageError(`--timeout ${timeout.error}`);
  const socket = str(values, 'admin-socket')!;
  if (values.wait === false) {
    await adminCall(socket, 'POST', path(name, 'trigger'), { force: values.force === true, wait: false });
    out(values.json ? JSON.stringify({ accepted: true }) : `${name}: triggered (not waiting for the outcome)`);
    return EXIT.ok;
  }
  const result = await adminCall<TriggerResponse>(socket, 'POST', path(name, 'trigger'), { force: values.force === true }, timeout.ms);
  if (values.json) out(JSON.stringify(result));
  else if (!result.ran) out(`${name}: not run: a run is in progress (overlap: skip); use --force to run anyway`);
  else {
    const status = result.status !== undefined ? `HTTP ${result.status}, ` : '';
    const error = result.error ? `\n  ${result.error}` : '';
    out(`${name}: ${result.outcome} (${status}${result.durationMs} ms, attempt ${result.attempt}) on replica ${result.replica}${error}`);
  }
  return result.ran && result.outcome === 'success' ? EXIT.ok : EXIT.failed;
}

export async function listCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseFlags(argv, adminFlags.list, env);
  if (positionals.length > 0) throw new UsageError('list takes no arguments');
  const tasks = await adminCall<TaskSummary[]>(str(values, 'admin-socket')!, 'GET', '/v1/tasks');
  if (values.json) out(JSON.stringify(tasks));
  else {
    // A NOTE column only when some task needs one (e.g. this replica cannot run it).
    const noted = tasks.some((t) => t.notRunHere);
    out(
      table(
        ['TASK', 'SCHEDULE', 'SCOPE', 'NEXT FIRE', 'LAST OUTCOME', 'LAST RUN', 'PAUSED', 'RUNNING', ...(noted ? ['NOTE'] : [])],
        tasks.map((t) => [
          t.name,
          t.schedule,
          t.scope,
          relativeTime(t.nextFireAt),
          t.lastOutcome ?? '-',
          relativeTime(t.lastRunAt),
          t.paused ? 'yes' : 'no',
          String(t.running),
          ...(noted ? [t.notRunHere ?? ''] : []),
        ]),
      ),
    );
  }
  return EXIT.ok;
}

export async function historyCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseFlags(argv, adminFlags.history, env);
  const name = oneName(positionals, 'history');
  const limit = Number(str(values, 'limit'));
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError(`--limit must be a whole number from 1 to 100, got "${str(values, 'limit')}"`);
  const runs = await adminCall<RunRecord[]>(str(values, 'admin-socket')!, 'GET', `${path(name, 'history')}?limit=${limit}`);
  if (values.json) out(JSON.stringify(runs));
  else if (runs.length === 0) out(`${name}: no runs recorded yet`);
  else {
    out(
      table(
        ['SCHEDULED', 'STARTED', 'DURATION', 'OUTCOME', 'STATUS', 'ATTEMPTS', 'TRIGGER', 'REPLICA', 'ERROR'],
        runs.map((r) => [r.scheduledAt, r.startedAt ?? '-', r.durationMs === null ? '-' : `${r.durationMs}ms`, r.outcome, r.status === undefined ? '-' : String(r.status), String(r.attempts), r.trigger, r.replica, r.error ?? '']),
      ),
    );
  }
  return EXIT.ok;
}

export async function pauseCommand(argv: string[], env: NodeJS.ProcessEnv, action: 'pause' | 'resume'): Promise<number> {
  const { values, positionals } = parseFlags(argv, adminFlags[action], env);
  const name = oneName(positionals, action);
  await adminCall(str(values, 'admin-socket')!, 'POST', path(name, action));
  out(`${name}: ${action === 'pause' ? 'paused' : 'resumed'} on every replica`);
  return EXIT.ok;
}
