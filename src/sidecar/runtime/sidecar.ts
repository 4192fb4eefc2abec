import { Redis } from 'ioredis';
import { DistributedScheduler } from '../../core/scheduler/distributed-scheduler.js';
import type { Logger } from '../../core/scheduler/types.js';
import { MemoryTaskStore } from '../../core/store/memory-task-store.js';
import { RedisTaskStore } from '../../core/store/redis/redis-task-store.js';
import type { TaskStore } from '../../core/store/task-store.js';
import { Task } from '../../core/task.js';
import { AdminServer } from '../admin/admin-server.js';
import { formatProblem, InvalidConfigError } from '../config/config-error.js';
import type { HttpCall, LoadContext, SidecarTaskSpec } from '../config/task-file.js';
import { ConfigWatcher } from '../config/config-watcher.js';
import { loadTaskSources, type LoadedTasks } from '../config/task-sources.js';
import { HealthServer, type Readiness } from '../http/health-server.js';
import { describeTarget, httpTaskHandler, type HttpTaskContext } from '../http/http-task.js';
import { SidecarMetrics } from '../metrics/metrics.js';

export interface SidecarOptions {
  configPaths: string[];
  /** redis:// or rediss:// URL; without one, the embedded single-process store. */
  redisUrl: string | undefined;
  scheduler: string;
  appUrl: URL;
  httpPort: number;
  httpHost?: string;
  adminSocket: string;
  allowHosts: string[];
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** On SIGTERM, how long running calls may take to finish, in ms. Default 30000. */
  shutdownGraceMs?: number;
  /** How often task files are re-read even without a change event, in ms. Default 5000. */
  configPollMs?: number;
}

/** The program people deploy: task files in, HTTP calls out, metrics and an admin socket beside. */
export class Sidecar {
  private watcher: ConfigWatcher | undefined;
  private lastGood: LoadedTasks;
  private lastRejectedDigest: string | undefined;
  private reloading: Promise<void> = Promise.resolve();
  port = 0;

  private constructor(
    private readonly options: SidecarOptions,
    private readonly store: TaskStore,
    private readonly redis: Redis | undefined,
    readonly scheduler: DistributedScheduler,
    readonly metrics: SidecarMetrics,
    private readonly admin: AdminServer,
    private readonly health: HealthServer,
    initial: LoadedTasks,
  ) {
    this.lastGood = initial;
  }

  static async start(options: SidecarOptions): Promise<Sidecar> {
    const { logger } = options;
    const context: LoadContext & HttpTaskContext = { env: options.env, appUrl: options.appUrl, allowHosts: options.allowHosts };
    const initial = loadTaskSources(options.configPaths, context);
    if (initial.problems.length > 0) throw new InvalidConfigError(initial.problems);

    let redis: Redis | undefined;
    let store: TaskStore;
    if (options.redisUrl) {
      redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 2, retryStrategy: (attempt) => Math.min(attempt * 100, 2_000) });
      let lastLogged = 0;
      redis.on('error', (error: Error) => {
        if (Date.now() - lastLogged > 10_000) logger.warn('redis connection error; retrying', { error: error.message });
        lastLogged = Date.now();
      });
      store = new RedisTaskStore(redis, { scheduler: options.scheduler });
    } else {
      logger.warn('no --redis given: using the embedded in-memory store; run a single replica only');
      store = new MemoryTaskStore();
    }
    const scheduler = new DistributedScheduler(store, {
      logger,
      shutdownGraceMs: options.shutdownGraceMs ?? 30_000,
      handlerFor: (definition) => {
        const http = (definition.payload as { http?: HttpCall } | undefined)?.http;
        return http ? httpTaskHandler(http, context) : undefined;
      },
    });
    const metrics = new SidecarMetrics(scheduler, store);
    scheduler.addListener(metrics.listener());
    scheduler.addListener(runLogger(logger));
    for (const spec of initial.tasks) scheduler.register(spec.trigger, toTask(spec, context));
    scheduler.setVersion(initial.version);
    metrics.touchTasks(initial.tasks.map((t) => t.name));
    const admin = new AdminServer(scheduler, options.adminSocket, logger);
    let sidecar: Sidecar | undefined;
    const health = new HealthServer(options.httpPort, metrics.registry, () => sidecar?.readiness() ?? Promise.resolve({ ready: false, reasons: ['starting'] }), options.httpHost);
    sidecar = new Sidecar(options, store, redis, scheduler, metrics, admin, health, initial);
    sidecar.port = await health.start();
    logger.info('serving /metrics, /healthz and /readyz', { port: sidecar.port });
    await scheduler.start();
    metrics.configReloads.inc({ result: 'success' });
    await admin.start();
    sidecar.watch();
    logger.info('taskino is running', {
      tasks: initial.tasks.length,
      store: store.description,
      app: options.appUrl.toString(),
      metrics: `:${sidecar.port}/metrics`,
      adminSocket: options.adminSocket,
    });
    return sidecar;
  }

  /** Stops claiming, lets running calls finish within the grace period, releases leases. */
  async stop(): Promise<void> {
    this.watcher?.stop();
    await this.reloading;
    await this.scheduler.stop();
    await this.admin.stop();
    await this.health.stop();
    this.redis?.disconnect();
  }

  async readiness(): Promise<Readiness> {
    const reasons: string[] = [];
    if (this.redis && this.redis.status !== 'ready') reasons.push(`redis is ${this.redis.status}`);
    if (!this.scheduler.definitions()) reasons.push('definitions not loaded');
    return { ready: reasons.length === 0, reasons };
  }

  /** Re-reads the task files now (also called by the watcher). */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadOnce()).catch((error: Error) => {
      this.options.logger.error('reload failed', { error: error.message });
    });
    return this.reloading;
  }

  private watch(): void {
    this.watcher = new ConfigWatcher(this.options.configPaths, () => void this.reload(), { pollMs: this.options.configPollMs ?? 5_000 });
    this.watcher.start();
  }

  private async reloadOnce(): Promise<void> {
    const { logger } = this.options;
    const context = { env: this.options.env, appUrl: this.options.appUrl, allowHosts: this.options.allowHosts };
    const loaded = loadTaskSources(this.options.configPaths, context);
    if (loaded.digest === this.lastGood.digest || loaded.digest === this.lastRejectedDigest) return;
    if (loaded.problems.length > 0) {
      this.lastRejectedDigest = loaded.digest;
      this.metrics.configReloads.inc({ result: 'failure' });
      logger.error('task definitions rejected; the last good definitions keep running', {
        problems: loaded.problems.map(formatProblem),
      });
      return;
    }
    const result = await this.scheduler.reload(
      loaded.tasks.map((spec) => ({ trigger: spec.trigger, task: toTask(spec, context) })),
      loaded.version,
    );
    this.lastGood = loaded;
    this.lastRejectedDigest = undefined;
    this.metrics.configReloads.inc({ result: 'success' });
    this.metrics.touchTasks(loaded.tasks.map((t) => t.name));
    if (result.accepted) logger.info('task definitions reloaded', { tasks: loaded.tasks.length, generation: result.set.generation });
    else logger.warn('task definitions not published: the store holds a set at least as new', { ours: loaded.version, stored: result.set.version });
  }
}

function toTask(spec: SidecarTaskSpec, context: HttpTaskContext): Task {
  return new Task(spec.name, httpTaskHandler(spec.http, context), spec.options);
}

function runLogger(logger: Logger) {
  return {
    onComplete(c: import('../../core/scheduler/types.js').CompletionContext): void {
      const fields = {
        task: c.task,
        trigger: c.trigger,
        outcome: c.outcome,
        status: c.status,
        durationMs: c.costMs,
        latenessMs: c.latenessMs,
        attempt: c.attempt,
        scheduledAt: c.scheduledAt.toISOString(),
        error: c.error?.message,
      };
      if (c.ok) logger.info('task run succeeded', fields);
      else logger.warn('task run failed', fields);
    },
    onSkip(s: import('../../core/scheduler/types.js').SkipContext): void {
      logger.info('fire skipped', { task: s.task, reason: s.reason, count: s.count, scheduledAt: s.scheduledAt.toISOString() });
    },
  };
}

export { describeTarget };
