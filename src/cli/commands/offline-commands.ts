import { UnknownTaskError } from '../../core/errors.js';
import { anchorTrigger, compileTrigger } from '../../core/triggers/trigger.js';
import { formatProblem } from '../../sidecar/config/config-error.js';
import { loadTaskSources } from '../../sidecar/config/task-sources.js';
import { list, oneName, parseFlags, str, type FlagSpec, type FlagValues } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';

const hostFlags: Record<string, FlagSpec> = {
  'app-url': { type: 'string', default: 'http://127.0.0.1:8080', help: 'the app URL (hosts are checked against it)' },
  'allow-host': { type: 'string', multiple: true, help: 'a host tasks may call besides the app (repeatable)' },
};

export const offlineFlags = {
  next: { config: { type: 'string', multiple: true, help: 'task file or directory (repeatable)' }, count: { type: 'string', default: '5', help: 'how many fire times' }, ...hostFlags },
  validate: { ...hostFlags, json: { type: 'boolean', help: 'print JSON for scripts' } },
} satisfies Record<string, Record<string, FlagSpec>>;

const out = (text: string): void => void process.stdout.write(`${text}\n`);

function loadContext(values: FlagValues, env: NodeJS.ProcessEnv) {
  let appUrl: URL;
  try {
    appUrl = new URL(String(values['app-url']));
  } catch {
    throw new UsageError(`--app-url must be an absolute URL, got "${String(values['app-url'])}"`);
  }
  return { env, appUrl, allowHosts: list(values, 'allow-host') };
}

/** `taskino validate FILE...`: every problem of every file, exit 0 or 1. */
export function validateCommand(argv: string[], env: NodeJS.ProcessEnv): number {
  const { values, positionals } = parseFlags(argv, offlineFlags.validate, env);
  if (positionals.length === 0) throw new UsageError('validate needs at least one FILE');
  const loaded = loadTaskSources(positionals, loadContext(values, env));
  if (values.json) {
    out(JSON.stringify({ valid: loaded.problems.length === 0, tasks: loaded.tasks.map((t) => t.name), problems: loaded.problems }));
  } else if (loaded.problems.length === 0) {
    out(`valid: ${loaded.tasks.length} task${loaded.tasks.length === 1 ? '' : 's'} in ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}`);
  } else {
    process.stderr.write(`invalid: ${loaded.problems.length} problem${loaded.problems.length === 1 ? '' : 's'}\n${loaded.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}\n`);
  }
  return loaded.problems.length === 0 ? EXIT.ok : EXIT.failed;
}

/** `taskino next NAME`: the next fire times, computed from the task file alone. */
export function nextCommand(argv: string[], env: NodeJS.ProcessEnv): number {
  const { values, positionals } = parseFlags(argv, offlineFlags.next, env);
  const name = oneName(positionals, 'next');
  const count = Number(str(values, 'count'));
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new UsageError(`--count must be a whole number from 1 to 1000, got "${str(values, 'count')}"`);
  const paths = list(values, 'config');
  if (paths.length === 0) throw new UsageError('next needs --config FILE|DIR (or TASKINO_CONFIG) to read the task from');
  const loaded = loadTaskSources(paths, loadContext(values, env));
  if (loaded.problems.length > 0) {
    process.stderr.write(`${loaded.problems.map(formatProblem).join('\n')}\n`);
    return EXIT.failed;
  }
  const spec = loaded.tasks.find((t) => t.name === name);
  if (!spec) throw new UnknownTaskError(name);
  const trigger = compileTrigger(anchorTrigger(spec.trigger, Date.now()));
  const fires: string[] = [];
  for (let at = trigger.next(Date.now()); at !== undefined && fires.length < count; at = trigger.next(at)) fires.push(new Date(at).toISOString());
  out(fires.length > 0 ? fires.join('\n') : `${name}: no more fires (${trigger.describe()})`);
  return EXIT.ok;
}
