import type { Cluster, Redis } from 'ioredis';
import { DistributedScheduler } from '../../core/scheduler/distributed-scheduler.js';
import type { Logger, SchedulerListener } from '../../core/scheduler/types.js';
import { MemoryTaskStore } from '../../core/store/memory-task-store.js';
import type { TaskStore } from '../../core/store/task-store.js';
import { Task } from '../../core/task.js';
import { AdminServer } from '../admin/admin-server.js';
import { formatProblem, InvalidConfigError } from '../config/config-error.js';
import type { HttpCall, LoadContext, SidecarTaskSpec } from '../config/task-file.js';
import type { TaskSource } from '../config/task-source.js';
import type { LoadedTasks } from '../config/task-sources.js';
import { HealthServer, type Readiness } from '../http/health-server.js';
import { httpTaskHandler, type HttpTaskContext } from '../http/http-task.js';
import { SidecarMetrics } from '../metrics/metrics.js';

export interface SidecarOptions {
  /** Where the task definitions come from. */
  source: TaskSource;
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
}

/** The program people deploy: task files in, HTTP calls out, metrics and an admin socket beside. */
export class Sidecar {
  private lastGood: LoadedTasks;
  private lastRejectedDigest: string | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 1_000;
  private stopped = false;
  port = 0;

  private constructor(
    private readonly options: SidecarOptions,
    private readonly store: TaskStore,
    private readonly redis: Redis | Cluster | undefined,
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
    const { store, redis } = await createStore(options);
    const scheduler = new DistributedScheduler(store, {
      logger,
      shutdownGraceMs: options.shutdownGraceMs ?? 30_000,
      tasksMayStop: false, // HTTP tasks never call stop(); saves the cost of AsyncLocalStorage per fire
      handlerFor: (definition) => {
        const http = (definition.payload as { http?: HttpCall } | undefined)?.http;
        return http ? httpTaskHandler(http, context) : undefined;
      },
    });
    const metrics = new SidecarMetrics(scheduler, store);
    scheduler.addListener(metrics.listener());
    scheduler.addListener(runLogger(logger));
    scheduler.addListener({
      onReload: (set) => logger.info('definition set switched', { generation: set.generation, version: set.version, tasks: set.tasks.map((t) => t.definition.name) }),
    });
    // Probes first, so /readyz can say what start-up is waiting for (e.g. RBAC on ConfigMaps).
    let sidecar: Sidecar | undefined;
    const starting = async (): Promise<Readiness> => ({
      ready: false,
      reasons: [...(redis && redis.status !== 'ready' ? [`redis is ${redis.status}`] : []), options.source.problem() ?? 'definitions not loaded'],
    });
    const health = new HealthServer(options.httpPort, metrics.registry, () => sidecar?.readiness() ?? starting(), options.httpHost);
    const port = await health.start();
    logger.info('serving /metrics, /healthz and /readyz', { port });

    const admin = new AdminServer(scheduler, options.adminSocket, logger);
    let notify = (): void => {};
    let initial: LoadedTasks;
    try {
      await options.source.start(() => notify());
      initial = options.source.load(context);
      if (initial.problems.length > 0) {
        // Files are read by a person at start-up: stop and say why. ConfigMaps belong to a running
        // cluster: start with nothing of our own (other replicas' set comes through Redis) and say why.
        if (!options.source.startsWithInvalidDefinitions) throw new InvalidConfigError(initial.problems);
        logger.error('task definitions rejected; starting with none of our own', { problems: initial.problems.map(formatProblem) });
      }
      const accepted = initial.problems.length > 0 ? [] : initial.tasks;
      for (const spec of accepted) scheduler.register(spec.trigger, toTask(spec, context));
      scheduler.setVersion(initial.problems.length > 0 ? 0 : initial.version);
      metrics.touchTasks(accepted.map((t) => t.name));
      await admin.start(); // before the scheduler: a socket that cannot be created must not leave tasks running
      await scheduler.start();
    } catch (error) {
      // Nothing may outlive a failed start-up: the caller exits.
      await Promise.allSettled([options.source.stop(), scheduler.stop(), admin.stop(), health.stop()]);
      redis?.disconnect();
      throw error;
    }
    metrics.configReloads.inc({ result: initial.problems.length > 0 ? 'failure' : 'success' });
    const created = new Sidecar(options, store, redis, scheduler, metrics, admin, health, initial);
    created.port = port;
    sidecar = created;
    notify = () => void created.reload();
    void created.reload(); // an edit made while start-up waited (e.g. for Redis) is not lost
    const accepted = initial.problems.length > 0 ? [] : initial.tasks;
    logger.info('taskino is running', {
      tasks: accepted.length,
      source: options.source.description,
      store: store.description,
      app: options.appUrl.toString(),
      metrics: `:${port}/metrics`,
      adminSocket: options.adminSocket,
    });
    return created;
  }

  /** Stops claiming, lets running calls finish within the grace period, releases leases. */
  async stop(): Promise<void> {
    const { logger } = this.options;
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.options.source.stop();
    logger.debug('task source stopped');
    await this.reloading;
    await this.scheduler.stop();
    logger.debug('scheduler stopped');
    await this.admin.stop();
    await this.health.stop();
    this.redis?.disconnect();
  }

  async readiness(): Promise<Readiness> {
    const reasons: string[] = [];
    if (this.redis && this.redis.status !== 'ready') reasons.push(`redis is ${this.redis.status}`);
    if (!this.scheduler.definitions()) reasons.push('definitions not loaded');
    const sourceProblem = this.options.source.problem();
    if (sourceProblem) reasons.push(sourceProblem);
    return { ready: reasons.length === 0, reasons };
  }

  /** Re-reads the task files now (also called by the watcher). */
  reload(): Promise<void> {
    if (this.stopped) return this.reloading;
    this.reloading = this.reloading.then(() => this.reloadOnce()).then(
      () => {
        this.retryDelayMs = 1_000;
      },
      (error: Error) => {
        // The change event will not come again: try again until the store takes it.
        this.options.logger.error('reload failed; retrying', { error: error.message, retryInMs: this.retryDelayMs });
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => void this.reload(), this.retryDelayMs);
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, 30_000);
      },
    );
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    const { logger } = this.options;
    const context = { env: this.options.env, appUrl: this.options.appUrl, allowHosts: this.options.allowHosts };
    const loaded = this.options.source.load(context);
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
    else if (result.conflict) logger.warn('task definitions differ from the published set of the same version; keeping the published one', { version: loaded.version });
    else if (result.set.version > loaded.version) logger.warn('task definitions not published: the store holds a newer set', { ours: loaded.version, stored: result.set.version });
    else logger.debug('task definitions already published by another replica', { version: loaded.version });
  }
}

async function createStore(options: SidecarOptions): Promise<{ store: TaskStore; redis: Redis | Cluster | undefined }> {
  const { logger } = options;
  if (!options.redisUrl) {
    logger.warn('no --redis given: using the embedded in-memory store; run a single replica only');
    return { store: new MemoryTaskStore(), redis: undefined };
  }
  // ioredis loads only when a Redis is used.
  const [{ claimAcksFor, createRedisClient, parseRedisUrl }, { RedisTaskStore }] = await Promise.all([import('./redis-url.js'), import('../../core/store/redis/redis-task-store.js')]);
  const target = parseRedisUrl(options.redisUrl);
  const redis = createRedisClient(target, (attempt) => Math.min(attempt * 100, 2_000));
  let lastLogged = 0;
  redis.on('error', (error: Error) => {
    if (Date.now() - lastLogged > 10_000) logger.warn('redis connection error; retrying', { error: error.message });
    lastLogged = Date.now();
  });
  const claimAcks = claimAcksFor(target, redis);
  return { store: new RedisTaskStore(redis, { scheduler: options.scheduler, ...(claimAcks ? { claimAcks } : {}) }), redis };
}

function toTask(spec: SidecarTaskSpec, context: HttpTaskContext): Task {
  return new Task(spec.name, httpTaskHandler(spec.http, context), spec.options);
}

function runLogger(logger: Logger): SchedulerListener {
  return {
    onComplete(c): void {
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
    onSkip(s): void {
      logger.info('fire skipped', { task: s.task, reason: s.reason, count: s.count, scheduledAt: s.scheduledAt.toISOString() });
    },
  };
}

