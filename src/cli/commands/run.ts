import type { KubeConfig } from '@kubernetes/client-node';
import { LOG_LEVELS, createLogger, type LogLevel } from '../../sidecar/runtime/logging.js';
import { Sidecar } from '../../sidecar/runtime/sidecar.js';
import { DEFAULT_ADMIN_SOCKET } from '../../sidecar/admin/admin-api.js';
import { InvalidConfigError } from '../../sidecar/config/config-error.js';
import { parseDuration } from '../../sidecar/config/duration.js';
import { FileTaskSource, type TaskSource } from '../../sidecar/config/task-source.js';
import { helpFor, list, parseFlags, str, type FlagSpec } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';

export const runFlags: Record<string, FlagSpec> = {
  config: { type: 'string', multiple: true, help: 'task file or directory (repeatable)' },
  redis: { type: 'string', help: 'redis://, rediss://, redis+sentinel://h:26379,h2:26379/MASTER or redis+cluster://h:7000,h2:7001; without it, the embedded in-memory store' },
  'redis-url': { type: 'string', help: 'same as --redis' },
  scheduler: { type: 'string', help: 'name grouping the replicas that share schedules (default: app name from the pod, else "default")' },
  'app-url': { type: 'string', default: 'http://127.0.0.1:8080', help: 'the app container URL tasks call' },
  kube: { type: 'boolean', help: 'watch ConfigMaps annotated taskino.io/scheduler=<scheduler> (in-cluster config or KUBECONFIG)' },
  'kube-namespace': { type: 'string', help: 'namespace of the ConfigMaps (default: the pod\'s own)' },
  'http-port': { type: 'string', default: '9464', help: 'port of /metrics, /healthz, /readyz' },
  'admin-socket': { type: 'string', default: DEFAULT_ADMIN_SOCKET, help: 'Unix socket of the admin API' },
  'allow-host': { type: 'string', multiple: true, help: 'a host tasks may call besides the app (repeatable)' },
  'log-level': { type: 'string', default: 'info', help: `one of ${LOG_LEVELS.join(', ')}` },
  'shutdown-grace': { type: 'string', default: '30s', help: 'on SIGTERM, how long running calls may take to finish' },
};

export const RUN_USAGE = 'taskino run [--config FILE|DIR]... [--redis URL] [--scheduler NAME] [--app-url URL] [--http-port 9464] [--admin-socket PATH] [--allow-host HOST]... [--log-level info]';

/** The app name of a Deployment's pod from its hostname (`myapp-5d9c7f8b4-x2x7q` → `myapp`). */
export function schedulerFromHostname(hostname: string | undefined): string | undefined {
  const match = /^([a-z0-9][a-z0-9-]*?)-[a-z0-9]{6,10}-[a-z0-9]{5}$/.exec(hostname ?? '');
  return match?.[1];
}

export async function runCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseFlags(argv, runFlags, env);
  if (positionals.length > 0) throw new UsageError(`run takes no arguments, got "${positionals.join(' ')}"`);
  const configPaths = list(values, 'config');
  if (values.kube && configPaths.length > 0) throw new UsageError('use either --kube (ConfigMaps) or --config (files), not both');
  if (!values.kube && configPaths.length === 0) throw new UsageError('run needs --config FILE|DIR (or TASKINO_CONFIG), or --kube to watch ConfigMaps');
  const level = str(values, 'log-level') as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  const port = Number(str(values, 'http-port'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--http-port must be a port number from 0 to 65535, got "${str(values, 'http-port')}"`);
  let appUrl: URL;
  try {
    appUrl = new URL(str(values, 'app-url')!);
  } catch {
    throw new UsageError(`--app-url must be an absolute URL such as http://127.0.0.1:8080, got "${str(values, 'app-url')}"`);
  }
  const grace = parseDuration(str(values, 'shutdown-grace'));
  if ('error' in grace) throw new UsageError(`--shutdown-grace ${grace.error}`);
  const redisUrl = str(values, 'redis') ?? str(values, 'redis-url');
  if (redisUrl) {
    const { parseRedisUrl } = await import('../../sidecar/runtime/redis-url.js'); // and ioredis: only with a Redis
    try {
      parseRedisUrl(redisUrl);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const scheduler = str(values, 'scheduler') ?? schedulerFromHostname(env.HOSTNAME) ?? 'default';
  const { logger, pino } = createLogger(level);
  let source: TaskSource;
  if (values.kube) {
    // Only --kube loads the Kubernetes client: it would cost every other sidecar tens of MB of memory.
    const kube = await import('../../sidecar/kube/kube-task-source.js');
    let kubeConfig: KubeConfig;
    try {
      kubeConfig = kube.loadKubeConfig(); // KUBECONFIG, ~/.kube/config, or the in-cluster service account
    } catch (error) {
      throw new UsageError(`--kube: cannot load a Kubernetes configuration: ${(error as Error).message}`);
    }
    source = new kube.KubeTaskSource(kubeConfig, kube.resolveNamespace(str(values, 'kube-namespace'), kubeConfig), scheduler, logger);
  } else {
    source = new FileTaskSource(configPaths);
  }

  // Signals are handled from the first moment: start-up can wait long (Redis, RBAC), and as PID 1
  // an unhandled SIGTERM would be ignored until the kubelet's SIGKILL.
  let sidecar: Sidecar | undefined;
  let stopping = false;
  const stopped = new Promise<number>((resolve) => {
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      if (!sidecar) {
        logger.info('stopping during start-up', { signal });
        return resolve(EXIT.ok);
      }
      logger.info('shutting down: no new claims; waiting for running calls', { signal, graceMs: grace.ms });
      sidecar.stop().then(
        () => {
          logger.info('stopped');
          pino.flush();
          resolve(EXIT.ok);
        },
        (error: Error) => {
          logger.error('shutdown failed', { error: error.message });
          resolve(EXIT.failed);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  const starting = Sidecar.start({
    source,
    redisUrl,
    scheduler,
    appUrl,
    httpPort: port,
    adminSocket: str(values, 'admin-socket')!,
    allowHosts: list(values, 'allow-host'),
    env,
    logger,
    shutdownGraceMs: grace.ms,
  });
  try {
    const started = await Promise.race([starting, stopped.then(() => undefined)]);
    if (!started) return EXIT.ok;
    sidecar = started;
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      process.stderr.write(`taskino: ${error.message}\n`);
      return EXIT.failed;
    }
    logger.error('start-up failed', { error: (error as Error).message });
    process.stderr.write(`taskino: start-up failed: ${(error as Error).message}\n`);
    return EXIT.failed;
  }
  return stopped;
}

export const runHelp = (): string => helpFor(RUN_USAGE, runFlags);
