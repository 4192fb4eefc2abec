import { readFileSync } from 'node:fs';
import { UnknownTaskError } from '../core/errors.js';
import { AdminRequestError, AdminUnreachableError } from './admin-client.js';
import { helpFor } from './args.js';
import { EXIT, UsageError } from './exit-codes.js';

// Command modules load on demand: `validate` and `next` never load Redis, undici or prom-client, the
// admin commands load only the socket client, and only `run --kube` loads the Kubernetes client.
const adminCommands = () => import('./commands/admin-commands.js');
const offlineCommands = () => import('./commands/offline-commands.js');
const runModule = () => import('./commands/run.js');

const USAGE = `taskino: a distributed task scheduler (sidecar and CLI)

usage:
  taskino run [--config FILE|DIR]... [--redis URL] [--scheduler NAME] [--app-url URL] [--http-port 9464]
              [--admin-socket PATH] [--allow-host HOST]... [--log-level info]
  taskino trigger NAME [--no-wait] [--timeout 60s] [--force]
  taskino list [--json]
  taskino history NAME [--limit 20] [--json]
  taskino pause NAME | taskino resume NAME
  taskino next NAME --config FILE [--count 5]
  taskino validate FILE...
  taskino --version | --help

Every flag also reads TASKINO_<FLAG> from the environment (e.g. TASKINO_REDIS_URL).
"taskino COMMAND --help" lists a command's flags.
Exit codes: 0 ok, 1 task failed or invalid, 2 usage, 3 no such task, 4 sidecar unreachable.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const COMMAND_HELP: Record<string, () => Promise<string>> = {
  run: async () => (await runModule()).runHelp(),
  trigger: async () => helpFor('taskino trigger NAME [--no-wait] [--timeout 60s] [--force] [--json]', (await adminCommands()).adminFlags.trigger),
  list: async () => helpFor('taskino list [--json]', (await adminCommands()).adminFlags.list),
  history: async () => helpFor('taskino history NAME [--limit 20] [--json]', (await adminCommands()).adminFlags.history),
  pause: async () => helpFor('taskino pause NAME', (await adminCommands()).adminFlags.pause),
  resume: async () => helpFor('taskino resume NAME', (await adminCommands()).adminFlags.resume),
  next: async () => helpFor('taskino next NAME --config FILE [--count 5]', (await offlineCommands()).offlineFlags.next),
  validate: async () => helpFor('taskino validate FILE... [--json]', (await offlineCommands()).offlineFlags.validate),
};

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(USAGE);
      return command === undefined ? EXIT.usage : EXIT.ok;
    }
    if (command === '--version' || command === '-v') {
      process.stdout.write(`taskino ${version()}\n`);
      return EXIT.ok;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      const help = COMMAND_HELP[command];
      if (help) {
        process.stdout.write(await help());
        return EXIT.ok;
      }
    }
    switch (command) {
      case 'run':
        return await (await runModule()).runCommand(rest, env);
      case 'trigger':
        return await (await adminCommands()).triggerCommand(rest, env);
      case 'list':
        return await (await adminCommands()).listCommand(rest, env);
      case 'history':
        return await (await adminCommands()).historyCommand(rest, env);
      case 'pause':
      case 'resume':
        return await (await adminCommands()).pauseCommand(rest, env, command);
      case 'next':
        return (await offlineCommands()).nextCommand(rest, env);
      case 'validate':
        return (await offlineCommands()).validateCommand(rest, env);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    return report(error);
  }
}

function report(error: unknown): number {
  const fail = (text: string): void => void process.stderr.write(`taskino: ${text}\n`);
  if (error instanceof UsageError) {
    fail(`${error.message}\nrun "taskino --help" for usage`);
    return EXIT.usage;
  }
  if (error instanceof UnknownTaskError || (error instanceof AdminRequestError && error.code === 'UNKNOWN_TASK')) {
    fail(error.message);
    return EXIT.noSuchTask;
  }
  if (error instanceof AdminUnreachableError) {
    fail(error.message);
    return EXIT.unreachable;
  }
  fail((error as Error).message);
  return EXIT.failed;
}
