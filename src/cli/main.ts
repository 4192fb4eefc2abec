import { readFileSync } from 'node:fs';
import { UnknownTaskError } from '../core/errors.js';
import { AdminRequestError, AdminUnreachableError } from './admin-client.js';
import { helpFor } from './args.js';
import { adminFlags, historyCommand, listCommand, pauseCommand, triggerCommand } from './commands/admin-commands.js';
import { nextCommand, offlineFlags, validateCommand } from './commands/offline-commands.js';
import { runCommand, runHelp } from './commands/run.js';
import { EXIT, UsageError } from './exit-codes.js';

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

const COMMAND_HELP: Record<string, () => string> = {
  run: runHelp,
  trigger: () => helpFor('taskino trigger NAME [--no-wait] [--timeout 60s] [--force] [--json]', adminFlags.trigger),
  list: () => helpFor('taskino list [--json]', adminFlags.list),
  history: () => helpFor('taskino history NAME [--limit 20] [--json]', adminFlags.history),
  pause: () => helpFor('taskino pause NAME', adminFlags.pause),
  resume: () => helpFor('taskino resume NAME', adminFlags.resume),
  next: () => helpFor('taskino next NAME --config FILE [--count 5]', offlineFlags.next),
  validate: () => helpFor('taskino validate FILE... [--json]', offlineFlags.validate),
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
        process.stdout.write(help());
        return EXIT.ok;
      }
    }
    switch (command) {
      case 'run':
        return await runCommand(rest, env);
      case 'trigger':
        return await triggerCommand(rest, env);
      case 'list':
        return await listCommand(rest, env);
      case 'history':
        return await historyCommand(rest, env);
      case 'pause':
      case 'resume':
        return await pauseCommand(rest, env, command);
      case 'next':
        return nextCommand(rest, env);
      case 'validate':
        return validateCommand(rest, env);
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
