import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DistributedScheduler } from '../../core/scheduler/distributed-scheduler.js';
import type { SchedulerListener } from '../../core/scheduler/types.js';
import type { TaskStore } from '../../core/store/task-store.js';
import { withTimeout } from '../../core/time.js';

const LATENESS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const DURATION_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * The sidecar's Prometheus metrics (design §6) on a Registry of its own. Labels are bounded: `task`
 * comes from the definitions, never a pod, fire time or id.
 */
export class SidecarMetrics {
  readonly registry = new Registry();
  readonly configReloads: Counter<'result'>;
  readonly configGeneration: Gauge;
  private readonly runs: Counter<'task' | 'trigger' | 'outcome'>;
  private readonly duration: Histogram<'task'>;
  private readonly lateness: Histogram<'task'>;
  private readonly skipped: Counter<'task' | 'reason'>;
  private readonly claims: Counter<'task' | 'result'>;
  private readonly retries: Counter<'task'>;
  private readonly redisErrors: Counter<'op'>;

  constructor(scheduler: DistributedScheduler, store: TaskStore) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry }); // standard process_* and nodejs_* names
    this.runs = new Counter({ name: 'taskino_runs_total', help: 'Task runs by outcome.', labelNames: ['task', 'trigger', 'outcome'], registers: [registry] });
    this.duration = new Histogram({ name: 'taskino_run_duration_seconds', help: 'Run duration, all attempts included.', labelNames: ['task'], buckets: DURATION_BUCKETS, registers: [registry] });
    this.lateness = new Histogram({ name: 'taskino_fire_lateness_seconds', help: 'Run start minus scheduled time, on the store clock.', labelNames: ['task'], buckets: LATENESS_BUCKETS, registers: [registry] });
    this.skipped = new Counter({ name: 'taskino_fires_skipped_total', help: 'Fires not run, by reason.', labelNames: ['task', 'reason'], registers: [registry] });
    this.claims = new Counter({ name: 'taskino_claims_total', help: 'Claims of cluster-scope fires by this replica.', labelNames: ['task', 'result'], registers: [registry] });
    this.retries = new Counter({ name: 'taskino_retries_total', help: 'Extra attempts made after a failure or timeout.', labelNames: ['task'], registers: [registry] });
    this.redisErrors = new Counter({ name: 'taskino_redis_errors_total', help: 'Failed store operations.', labelNames: ['op'], registers: [registry] });
    this.configReloads = new Counter({ name: 'taskino_config_reloads_total', help: 'Task definition loads by result.', labelNames: ['result'], registers: [registry] });
    this.configGeneration = new Gauge({
      name: 'taskino_config_generation',
      help: 'Generation of the definition set in force.',
      registers: [registry],
      collect() {
        this.set(scheduler.definitions()?.generation ?? 0);
      },
    });
    new Gauge({
      name: 'taskino_task_next_fire_timestamp_seconds',
      help: 'Next scheduled fire of each task, Unix seconds.',
      labelNames: ['task'],
      registers: [registry],
      collect() {
        this.reset();
        for (const t of scheduler.tasks()) if (t.nextFireAt) this.set({ task: t.name }, t.nextFireAt.getTime() / 1000);
      },
    });
    new Gauge({
      name: 'taskino_task_running',
      help: 'Runs of each task in progress on this replica.',
      labelNames: ['task'],
      registers: [registry],
      collect() {
        this.reset();
        for (const t of scheduler.tasks()) this.set({ task: t.name }, t.running);
      },
    });
    new Gauge({
      name: 'taskino_task_paused',
      help: '1 if the task is paused cluster-wide.',
      labelNames: ['task'],
      registers: [registry],
      collect() {
        this.reset();
        for (const t of scheduler.tasks()) this.set({ task: t.name }, t.paused ? 1 : 0);
      },
    });
    new Gauge({
      name: 'taskino_task_last_success_timestamp_seconds',
      help: 'Last successful run of each task on any replica, Unix seconds (from the store).',
      labelNames: ['task'],
      registers: [registry],
      async collect() {
        // In parallel and bounded: a scrape must answer even while Redis is slow or cut off.
        const tasks = scheduler.tasks();
        const lasts = await Promise.all(tasks.map((t) => withTimeout('lastSuccess', 500, () => store.lastSuccessMs(t.name)).catch(() => undefined)));
        this.reset();
        tasks.forEach((t, i) => {
          const last = lasts[i];
          if (last !== undefined) this.set({ task: t.name }, last / 1000);
        });
      },
    });
    new Gauge({
      name: 'taskino_clock_offset_seconds',
      help: 'Local clock minus the store (Redis) clock.',
      registers: [registry],
      collect() {
        this.set(store.clockOffsetMs() / 1000);
      },
    });
  }

  /** Feeds the counters from scheduler events. */
  listener(): SchedulerListener {
    return {
      onComplete: (c) => {
        this.runs.inc({ task: c.task, trigger: c.trigger, outcome: c.outcome });
        this.duration.observe({ task: c.task }, c.costMs / 1000);
        if (c.trigger === 'schedule') this.lateness.observe({ task: c.task }, Math.max(0, c.latenessMs) / 1000);
        if (c.attempt > 1) this.retries.inc({ task: c.task }, c.attempt - 1);
      },
      onSkip: (s) => this.skipped.inc({ task: s.task, reason: s.reason }, s.count),
      onClaim: (c) => this.claims.inc({ task: c.task, result: c.result }),
      onStoreError: (op) => this.redisErrors.inc({ op }),
    };
  }

  /** Pre-creates the series of known tasks, so dashboards see zeros rather than gaps. */
  touchTasks(names: string[]): void {
    for (const task of names) {
      for (const outcome of ['success', 'failure', 'timeout']) this.runs.inc({ task, trigger: 'schedule', outcome }, 0);
      for (const reason of ['overlap', 'paused', 'missed']) this.skipped.inc({ task, reason }, 0);
      this.retries.inc({ task }, 0);
    }
  }
}
