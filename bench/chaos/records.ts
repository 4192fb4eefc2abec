import { Cluster, Redis } from 'ioredis';
import { parseRedisUrl } from '../../src/sidecar/runtime/redis-url.js';
import type { RunRecord } from '../../src/core/store/task-store.js';
import type { ChaosReplica, Lifetime } from './replica.js';

/**
 * What taskino itself recorded during a chaos run, gathered from outside the replicas:
 *
 * - HistoryArchive: every entry of the tasks' history lists in Redis (`taskino:{chaos}:hist:<task>`,
 *   written by complete.lua). A list keeps 100 entries and a Redis restart without persistence
 *   erases it, so the archive snapshots it every 2 s and right before each restart or failover,
 *   and keeps the union.
 * - MetricsScraper: `taskino_fires_skipped_total{reason="missed"}` of every replica process,
 *   scraped every 500 ms and right before the harness kills or stops it, keeping the last value
 *   per process lifetime (a SIGKILLed replica's counters die with it).
 * - MissLog: the replicas' own "fires missed" warnings (the log line precedes the history write),
 *   with the moment the harness read them: the only trace of a record that a Redis restart erased
 *   before the archive could read it.
 */

const SCHEDULER = 'chaos';
export const historyKey = (task: string): string => `taskino:{${SCHEDULER}}:hist:${task}`;

/** A Redis client for the harness itself: short command timeout, no offline queue growing during outages. */
export function observerClient(url: string): Redis | Cluster {
  const target = parseRedisUrl(url);
  const common = { commandTimeout: 1_500, maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false } as const;
  let client: Redis | Cluster;
  switch (target.kind) {
    case 'single':
      client = new Redis(target.url, { ...common, retryStrategy: () => 100 });
      break;
    case 'sentinel':
      client = new Redis({ ...common, sentinels: target.nodes, name: target.name, failoverDetector: true, retryStrategy: () => 100 });
      break;
    case 'cluster':
      client = new Cluster(target.nodes, { clusterRetryStrategy: () => 100, redisOptions: common });
      break;
  }
  client.on('error', () => {});
  return client;
}

export class HistoryArchive {
  /** task → scheduled ms → raw entries (the JSON string is the identity: a retried write pushes the same string). */
  private readonly byFire = new Map<string, Map<number, Map<string, RunRecord>>>();
  snapshots = 0;
  failedSnapshots = 0;
  lastSnapshotMs = 0;

  constructor(private readonly tasks: () => string[]) {}

  /** Reads every task's history list; returns false if Redis did not answer (paused, restarting). */
  async snapshot(client: Redis | Cluster): Promise<boolean> {
    try {
      const lists = await withDeadline(Promise.all(this.tasks().map((t) => client.lrange(historyKey(t), 0, -1))), 3_000);
      for (const list of lists) for (const raw of list) this.add(raw);
      this.snapshots++;
      this.lastSnapshotMs = Date.now();
      return true;
    } catch {
      this.failedSnapshots++;
      return false;
    }
  }

  add(raw: string): void {
    const record = JSON.parse(raw) as RunRecord;
    const fire = Date.parse(record.scheduledAt);
    let task = this.byFire.get(record.task);
    if (!task) this.byFire.set(record.task, (task = new Map()));
    let entries = task.get(fire);
    if (!entries) task.set(fire, (entries = new Map()));
    entries.set(raw, record);
  }

  /** The missed record of a fire, if any replica wrote one. */
  missed(task: string, fireMs: number): RunRecord | undefined {
    return [...(this.byFire.get(task)?.get(fireMs)?.values() ?? [])].find((r) => r.outcome === 'missed');
  }

  /** Distinct scheduled runs of a fire (a replica started it): one per replica and start time. */
  runs(task: string, fireMs: number): RunRecord[] {
    const runs = new Map<string, RunRecord>();
    for (const r of this.byFire.get(task)?.get(fireMs)?.values() ?? []) {
      if (r.outcome !== 'missed' && r.trigger === 'schedule') runs.set(`${r.replica}@${r.startedAt}`, r);
    }
    return [...runs.values()];
  }

  /** Scheduled times of a task's missed records in (afterMs, beforeMs). */
  missedBetween(task: string, afterMs: number, beforeMs: number): Array<{ fireMs: number; record: RunRecord }> {
    const found: Array<{ fireMs: number; record: RunRecord }> = [];
    for (const [fireMs, entries] of this.byFire.get(task) ?? []) {
      if (fireMs <= afterMs || fireMs >= beforeMs) continue;
      const record = [...entries.values()].find((r) => r.outcome === 'missed');
      if (record) found.push({ fireMs, record });
    }
    return found.sort((a, b) => a.fireMs - b.fireMs);
  }

  /** Everything archived, for CHAOS_DEBUG dumps. */
  dump(): RunRecord[] {
    return [...this.byFire.values()].flatMap((fires) => [...fires.values()].flatMap((entries) => [...entries.values()]));
  }

  /** Every distinct run record of a task (scheduled or manual). */
  allRuns(task: string): RunRecord[] {
    const runs = new Map<string, RunRecord>();
    for (const entries of this.byFire.get(task)?.values() ?? []) {
      for (const r of entries.values()) if (r.outcome !== 'missed') runs.set(`${r.replica}@${r.startedAt}@${r.scheduledAt}`, r);
    }
    return [...runs.values()];
  }

  /** Every record of a fire, for diagnostics. */
  all(task: string, fireMs: number): RunRecord[] {
    return [...(this.byFire.get(task)?.get(fireMs)?.values() ?? [])];
  }
}

/** The process id inside a replica id (`<hostname>-<pid>-<random>`), to tie a record to a lifetime. */
export function pidOfReplicaId(replica: string): number | undefined {
  const match = /-(\d+)-[0-9a-f]+$/.exec(replica);
  return match ? Number(match[1]) : undefined;
}

export class MetricsScraper {
  /** pid → task → last scraped value of taskino_fires_skipped_total{reason="missed"}. */
  readonly missed = new Map<number, Map<string, number>>();
  readonly lastScrapeMs = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  async scrape(lifetime: Lifetime): Promise<boolean> {
    try {
      const response = await fetch(`http://127.0.0.1:${lifetime.metricsPort}/metrics`, { signal: AbortSignal.timeout(2_000) });
      const text = await response.text();
      const counters = new Map<string, number>();
      for (const line of text.split('\n')) {
        const match = /^taskino_fires_skipped_total\{([^}]*)\}\s+(\S+)/.exec(line);
        if (!match || !/reason="missed"/.test(match[1]!)) continue;
        const task = /task="([^"]*)"/.exec(match[1]!)?.[1];
        if (task) counters.set(task, Number(match[2]));
      }
      this.missed.set(lifetime.pid, counters);
      this.lastScrapeMs.set(lifetime.pid, Date.now());
      return true;
    } catch {
      return false;
    }
  }

  /** Scrapes the live lifetime of every replica every `intervalMs`. */
  start(replicas: readonly ChaosReplica[], intervalMs = 500): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void Promise.all(replicas.filter((r) => r.alive && r.current).map((r) => this.scrape(r.current!))).finally(() => (this.busy = false));
    }, intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

export interface MissLine {
  pid: number;
  task: string;
  count: number;
  latestMs: number;
  seenMs: number;
}

/** The replicas' "fires missed" warnings, read from their output as it arrives. */
export class MissLog {
  readonly lines: MissLine[] = [];

  /** Feeds one output line of a lifetime. */
  feed(pid: number, line: string): void {
    if (!line.includes('fires missed')) return;
    try {
      const entry = JSON.parse(line) as { task?: string; count?: number; latest?: string };
      if (entry.task && entry.count && entry.latest) this.lines.push({ pid, task: entry.task, count: entry.count, latestMs: Date.parse(entry.latest), seenMs: Date.now() });
    } catch {
      // not a log line of ours
    }
  }

  /** The warning that covers this fire (consecutive fires every `periodMs` ending at `latest`). */
  covering(task: string, fireMs: number, periodMs: number): MissLine | undefined {
    return this.lines.find((l) => l.task === task && fireMs <= l.latestMs && fireMs > l.latestMs - l.count * periodMs);
  }
}

async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
