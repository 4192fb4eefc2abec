import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { RedisServer } from '../../test/support/redis-server.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { ClusterSetup, SentinelSetup } from '../../test/support/redis-topologies.js';
import { delay } from '../../test/support/wait.js';
import { account, combine, type ChaosRow, type FaultEvent } from './accounting.js';
import { LedgerApp, type AppFault } from './ledger-app.js';
import { HistoryArchive, MetricsScraper, MissLog, observerClient } from './records.js';
import { ChaosReplica } from './replica.js';

export { table, failed, type ChaosRow } from './accounting.js';

export const SCENARIOS = ['kill', 'redis-restart', 'redis-pause', 'redis-pause-long', 'netcut', 'skew', 'app-faults', 'config-change', 'sentinel-failover', 'cluster-migration'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export type Topology = 'single' | 'sentinel' | 'cluster';

/** The fault kinds each Redis topology can take. Restarts, pauses and cuts act on the single Redis (and its proxy). */
export const TOPOLOGY_FAULTS: Record<Topology, readonly Scenario[]> = {
  single: ['kill', 'redis-restart', 'redis-pause', 'redis-pause-long', 'netcut', 'skew', 'app-faults', 'config-change'],
  sentinel: ['kill', 'skew', 'app-faults', 'config-change', 'sentinel-failover'],
  cluster: ['kill', 'skew', 'app-faults', 'config-change', 'cluster-migration'],
};
/** Faults that need their own Redis topology. */
export const TOPOLOGY_SCENARIOS: readonly string[] = ['sentinel-failover', 'cluster-migration'];

export interface Phase {
  name: string;
  topology: Topology;
  faults: readonly Scenario[];
  seconds: number;
}

const CLUSTER_TASKS = Array.from({ length: 6 }, (_, i) => `c-${i}`);
const OVERLAP_TASK = 'slow';
const PERIOD_MS = 1_000;
const DEADLINE_MS = 10_000;
const STARTUP_MS = 8_000; // replica start-up and the first recovery window of a fresh Redis
/**
 * Faults end DEADLINE + 2 s before the run ends (as the accounting window does), and no fault starts
 * unless it can end by then, outage included (FAULT_SPAN_MS): misses are recorded by the first
 * decision after an outage, and that must happen while the harness still reads history and metrics.
 */
const QUIET_MS = DEADLINE_MS + 2_000;
const PAUSE_LONG_MS = DEADLINE_MS + 4_000;
const debug = process.env.CHAOS_DEBUG ? (line: string) => console.error(`[chaos ${new Date().toISOString()}] ${line}`) : () => {};

interface Context {
  phase: Phase;
  work: string;
  redis: RedisServer | undefined;
  proxy: TcpProxy | undefined;
  sentinel: SentinelSetup | undefined;
  cluster: ClusterSetup | undefined;
  app: LedgerApp;
  replicas: ChaosReplica[];
  configDir: string;
  /** Windows in which no replica could reach Redis: fires inside them may be missed, explained. */
  outages: Array<[number, number]>;
  restarts: Array<{ snapshotMs: number; killedMs: number }>;
  faults: FaultEvent[];
  archive: HistoryArchive;
  observer: Redis | Cluster;
  metrics: MetricsScraper;
  monitor: ChildProcess | undefined;
  random: () => number;
  faultsUntil: number;
  until: number;
}

function taskFile(extra = ''): string {
  const tasks = CLUSTER_TASKS.map((name) => `  - {name: ${name}, every: 1s, deadline: 10s, timeout: 2s, retries: 1, http: {path: /faulty}}`);
  return `tasks:\n${tasks.join('\n')}\n  - {name: ${OVERLAP_TASK}, every: 1s, overlap: skip, timeout: 5s, http: {path: /slow}}\n${extra}`;
}

export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(ctx: Context, items: readonly T[]): T => items[Math.floor(ctx.random() * items.length)]!;
const wait = (ctx: Context, ms: number) => delay(Math.max(0, Math.min(ms, ctx.until - Date.now())));

/** The longest a fault of a kind may take, to decide whether it still fits before the quiet tail. */
const FAULT_SPAN_MS: Partial<Record<Scenario, number>> = { 'redis-pause-long': PAUSE_LONG_MS + 1_000, 'sentinel-failover': 30_000, 'redis-restart': 2_000 + 5_000 + 1_000, 'config-change': 5_000 };

/** One fault of a kind, at a random moment; returns when it has healed, with what it did. */
const FAULTS: Record<Scenario, (ctx: Context) => Promise<string>> = {
  async kill(ctx) {
    const victim = pick(ctx, ctx.replicas);
    // Its counters die with it: read them first (a miss recorded in the next millisecond is lost).
    if (victim.current) await ctx.metrics.scrape(victim.current);
    const pid = victim.current?.pid;
    await victim.kill('SIGKILL'); // at a random moment: mid-claim or mid-call included
    await wait(ctx, 1_000 + ctx.random() * 3_000);
    await victim.start();
    return `${victim.spec.name} pid ${pid} -> ${victim.current?.pid}`;
  },
  async 'redis-restart'(ctx) {
    const redis = ctx.redis!;
    const from = Date.now();
    // The restart erases history: read it first.
    await ctx.archive.snapshot(ctx.observer);
    const snapshotMs = Date.now();
    await redis.kill(); // no persistence: every key is gone
    ctx.restarts.push({ snapshotMs, killedMs: Date.now() });
    await redis.restart();
    restartMonitor(ctx);
    // The outage lasts until the end of the recovery window the first returning replica opened.
    const end = await recoveryEnd(redis);
    ctx.outages.push([from, end]);
    return `recovery until ${new Date(end).toISOString()}`;
  },
  async 'redis-pause'(ctx) {
    const from = Date.now();
    ctx.redis!.pause();
    await wait(ctx, 2_000 + ctx.random() * 4_000); // shorter than the deadline: nothing may be missed
    ctx.redis!.resume();
    ctx.outages.push([from, Date.now()]);
    return `${Date.now() - from} ms`;
  },
  async 'redis-pause-long'(ctx) {
    const from = Date.now();
    ctx.redis!.pause();
    await delay(PAUSE_LONG_MS); // longer than the deadline: misses allowed, and must be explained and recorded
    ctx.redis!.resume();
    ctx.outages.push([from, Date.now()]);
    return `${Date.now() - from} ms`;
  },
  async netcut(ctx) {
    const mode = pick(ctx, ['drop', 'blackhole', 'slow'] as const);
    ctx.proxy!.setMode(mode);
    await wait(ctx, 2_000 + ctx.random() * 6_000);
    ctx.proxy!.setMode('pass');
    return mode;
  },
  async skew(ctx) {
    // Replica 0 runs under libfaketime; its clock jumps forward, then back.
    ctx.replicas[0]!.setClock('+20s');
    await wait(ctx, 3_000);
    ctx.replicas[0]!.setClock('-15s');
    await wait(ctx, 3_000);
    ctx.replicas[0]!.setClock('+0s');
    return 'r0 +20s, -15s, +0s';
  },
  async 'app-faults'(ctx) {
    const kinds: readonly AppFault[] = process.env.CHAOS_APP_FAULTS ? (process.env.CHAOS_APP_FAULTS.split(',') as AppFault[]) : ['slow', 'hang', '500', 'reset', 'huge'];
    const fault = pick(ctx, kinds);
    ctx.app.fault = fault;
    await wait(ctx, 2_000 + ctx.random() * 3_000);
    ctx.app.fault = 'none';
    return fault;
  },
  async 'sentinel-failover'(ctx) {
    // A forced failover: the replica is promoted and the replicas follow through the sentinels. The
    // next one waits until Sentinel accepts it (the demoted primary must have resynced).
    await ctx.archive.snapshot(ctx.observer);
    const before = await ctx.sentinel!.primaryPort();
    try {
      await ctx.sentinel!.failover(Math.max(5_000, ctx.faultsUntil - Date.now()));
    } catch (error) {
      return `not done: ${(error as Error).message}`;
    }
    return `primary ${before} -> ${await ctx.sentinel!.primaryPort()}`;
  },
  async 'cluster-migration'(ctx) {
    const moved = await ctx.cluster!.migrateSlotOf('chaos'); // every key of the scheduler moves to another primary
    await wait(ctx, 4_000);
    return `slot ${moved.slot} ${moved.from} -> ${moved.to}`;
  },
  async 'config-change'(ctx) {
    writeFileSync(join(ctx.configDir, 'tasks.yaml'), taskFile(`  - {name: extra, every: 2s, http: {path: /faulty}}\n`));
    await wait(ctx, 2_000);
    writeFileSync(join(ctx.configDir, 'tasks.yaml'), `${taskFile()}  - {name: broken, every: never, http: {path: /}}\n`); // rejected as a whole
    await wait(ctx, 2_000);
    writeFileSync(join(ctx.configDir, 'tasks.yaml'), taskFile());
    return 'added extra, then invalid, then restored';
  },
};

function topologyOf(faults: readonly Scenario[]): Topology {
  const topologies = new Set<Topology>(faults.map((f) => (f === 'sentinel-failover' ? 'sentinel' : f === 'cluster-migration' ? 'cluster' : 'single')));
  topologies.delete('single');
  if (topologies.size > 1) throw new Error('sentinel-failover and cluster-migration need different topologies: run them in separate phases (see runMix)');
  return [...topologies][0] ?? 'single';
}

/**
 * Runs one scenario: `faults` injected at random for `seconds` on a fresh topology (one phase).
 * Kept for the single-fault scenarios and the CI test.
 */
export async function runChaos(name: string, faults: readonly Scenario[], seconds: number, seed = Date.now()): Promise<ChaosRow> {
  return runPhase({ name, topology: topologyOf(faults), faults, seconds }, mulberry32(seed));
}

/**
 * Every fault kind in one run, in three topology phases one after the other: a single Redis (kill,
 * redis-restart, redis-pause, redis-pause-long, netcut, skew, app-faults, config-change), Sentinel
 * (the forced failover, with kill, skew, app-faults and config-change), then Cluster (slot
 * migrations, with the same four). Each phase starts fresh replicas on a fresh topology; fires in
 * the change-over between phases are not counted. One seed drives every random choice.
 */
export function mixPhases(seconds: number): Phase[] {
  const single = Math.round(seconds / 2);
  const sentinel = Math.round(seconds / 4);
  return [
    { name: 'mix/single', topology: 'single', faults: TOPOLOGY_FAULTS.single, seconds: single },
    { name: 'mix/sentinel', topology: 'sentinel', faults: TOPOLOGY_FAULTS.sentinel, seconds: sentinel },
    { name: 'mix/cluster', topology: 'cluster', faults: TOPOLOGY_FAULTS.cluster, seconds: seconds - single - sentinel },
  ];
}

export async function runMix(name: string, seconds: number, seed: number): Promise<{ total: ChaosRow; phases: ChaosRow[] }> {
  const random = mulberry32(seed);
  const phases: ChaosRow[] = [];
  for (const phase of mixPhases(seconds)) {
    phases.push(await runPhase(phase, random));
    console.error(`done: ${phase.name}`);
  }
  return { total: combine(name, phases), phases };
}

/**
 * Runs 3 real replicas (under faketime at +0 s, -30 s and +45 s when skew is part of the phase; on
 * the single topology replica 0 goes through a TCP proxy) against a real Redis topology and a ledger
 * app, injects the phase's faults at random moments, and classifies every fire of the cluster tasks
 * in the window (see accounting.ts).
 */
export async function runPhase(phase: Phase, random: () => number): Promise<ChaosRow> {
  const allowed = TOPOLOGY_FAULTS[phase.topology];
  const wrong = phase.faults.filter((f) => !allowed.includes(f));
  if (wrong.length > 0) throw new Error(`${wrong.join(', ')} cannot run on the ${phase.topology} topology`);
  const work = mkdtempSync(join(tmpdir(), `taskino-chaos-${phase.name.replace(/[^a-z0-9-]/gi, '_')}-`));
  const configDir = join(work, 'tasks');
  mkdirSync(configDir);
  writeFileSync(join(configDir, 'tasks.yaml'), taskFile());
  const redis = phase.topology === 'single' ? await RedisServer.start() : undefined;
  const proxy = redis ? await TcpProxy.start(redis.port) : undefined;
  const sentinel = phase.topology === 'sentinel' ? await SentinelSetup.start() : undefined;
  const cluster = phase.topology === 'cluster' ? await ClusterSetup.start() : undefined;
  const app = await LedgerApp.start();
  const sharedUrl = (redis?.url ?? sentinel?.url ?? cluster?.url)!;
  const skewed = phase.faults.includes('skew') && ChaosReplica.fakeTimeAvailable();
  const replicas = [0, 1, 2].map((i) => {
    const clockFile = skewed ? join(work, `clock-${i}`) : undefined;
    if (clockFile) writeFileSync(clockFile, ['+0s', '-30s', '+45s'][i]!);
    const redisUrl = proxy && i === 0 ? `redis://127.0.0.1:${proxy.port}` : sharedUrl;
    return new ChaosReplica({ name: `r${i}`, redisUrl, configDir, appUrl: app.url, workDir: work, clockFile });
  });
  const missLog = new MissLog();
  for (const r of replicas) r.onLine = (lifetime, line) => missLog.feed(lifetime.pid, line);
  const started = Date.now();
  const until = started + phase.seconds * 1000;
  const ctx: Context = {
    phase,
    work,
    redis,
    proxy,
    sentinel,
    cluster,
    app,
    replicas,
    configDir,
    outages: [],
    restarts: [],
    faults: [],
    archive: new HistoryArchive(() => [...CLUSTER_TASKS, OVERLAP_TASK]),
    observer: observerClient(sharedUrl),
    metrics: new MetricsScraper(),
    monitor: undefined,
    random,
    faultsUntil: until - QUIET_MS,
    until,
  };
  restartMonitor(ctx);
  debug(`phase ${phase.name} (${phase.topology}) in ${work}: faults ${phase.faults.join(', ')}, ${phase.seconds} s`);
  for (const r of replicas) await r.start();
  ctx.metrics.start(replicas);
  const snapshots = setInterval(() => void ctx.archive.snapshot(ctx.observer), 2_000);
  let to = until - DEADLINE_MS - 2_000;
  let from = started + STARTUP_MS;
  try {
    // The window opens once the replicas are up and the fresh store's first recovery window (and the
    // catch-up of the fires due in it) is over: start-up on a loaded machine can take longer than
    // STARTUP_MS.
    const firstRecovery = await epochRecoveryEnd(ctx.observer, 30_000);
    from = Math.max(from, firstRecovery + 2_000);
    debug(`window opens at ${new Date(from).toISOString()} (first recovery window until ${new Date(firstRecovery).toISOString()})`);
    await delay(from - Date.now());
    // Shuffle-bag: every kind of the phase comes once, in random order, before any comes again.
    let bag: Scenario[] = [];
    while (Date.now() < ctx.faultsUntil) {
      if (bag.length === 0) bag = [...phase.faults];
      const kind = bag.splice(Math.floor(ctx.random() * bag.length), 1)[0]!;
      if (Date.now() + (FAULT_SPAN_MS[kind] ?? 8_000) > ctx.faultsUntil) {
        if (bag.length === 0) break;
        continue; // does not fit before the quiet tail: try a shorter kind
      }
      const startMs = Date.now();
      debug(`fault ${kind} starts`);
      const detail = await FAULTS[kind](ctx);
      ctx.faults.push({ kind, detail, startMs, endMs: Date.now() });
      debug(`fault ${kind} healed: ${detail}`);
      await wait(ctx, 1_000 + ctx.random() * 3_000);
    }
    await wait(ctx, ctx.until - Date.now());
    // Last reads before the replicas go: their counters, and history.
    await Promise.all(replicas.filter((r) => r.alive && r.current).map((r) => ctx.metrics.scrape(r.current!)));
    await ctx.archive.snapshot(ctx.observer);
    to = Math.min(to, Date.now() - DEADLINE_MS - 2_000);
  } finally {
    clearInterval(snapshots);
    ctx.metrics.stop();
    await Promise.all(replicas.map((r) => r.kill('SIGTERM')));
    await ctx.archive.snapshot(ctx.observer); // runs that finished during shutdown
    ctx.observer.disconnect();
    ctx.monitor?.kill();
    if (process.env.CHAOS_DEBUG) {
      console.error(`replica logs in ${work}`);
      writeFileSync(join(work, 'faults.json'), JSON.stringify({ phase, from, to, faults: ctx.faults, outages: ctx.outages, restarts: ctx.restarts, lifetimes: replicas.flatMap((r) => r.lifetimes) }, null, 1));
    }
    await Promise.all([app.stop(), proxy?.stop(), redis?.stop(), sentinel?.stop(), cluster?.stop()]);
  }
  const lines: string[] = [];
  const row = account({
    scenario: phase.name,
    from,
    to,
    tasks: CLUSTER_TASKS,
    periodMs: PERIOD_MS,
    deadlineMs: DEADLINE_MS,
    ledger: app.entries,
    outages: ctx.outages,
    history: ctx.archive,
    missLog,
    missedCounters: ctx.metrics.missed,
    restarts: ctx.restarts,
    faults: ctx.faults,
    overlapTask: OVERLAP_TASK,
    log: (line) => {
      lines.push(line);
      console.error(`[${phase.name}] ${line}`);
    },
  });
  if (process.env.CHAOS_DEBUG) {
    appendFileSync(join(work, 'accounting.log'), `${lines.join('\n')}\n`);
    writeFileSync(join(work, 'ledger.json'), JSON.stringify(app.entries));
    writeFileSync(join(work, 'history.json'), JSON.stringify(ctx.archive.dump()));
    writeFileSync(join(work, 'misslog.json'), JSON.stringify({ lines: missLog.lines, counters: [...ctx.metrics.missed].map(([pid, m]) => [pid, [...m]]) }));
  }
  console.error(
    `[${phase.name}] explained misses recorded in history by their own entry ${row.recordedVia.entry}, pushed out by later entries of the same gap ${row.recordedVia.capped}, erased by a restart after the warning ${row.recordedVia.erased}; misrecorded ${row.misrecorded}; history snapshots ${ctx.archive.snapshots} (failed ${ctx.archive.failedSnapshots}); process lifetimes ${replicas.flatMap((r) => r.lifetimes).length}`,
  );
  return row;
}

/**
 * CHAOS_MONITOR=1: a `redis-cli monitor` of the single Redis into <work>/monitor-<n>.log, restarted
 * with Redis. Every claim (EVALSHA with task, fire, token, replica) and every decision the scripts
 * write (HSET ... owner ... outcome) is in it: what the store said, for diagnosing a miss.
 */
function restartMonitor(ctx: Context): void {
  if (!process.env.CHAOS_MONITOR || !ctx.redis) return;
  ctx.monitor?.kill();
  const file = join(ctx.work, `monitor-${ctx.restarts.length}.log`);
  ctx.monitor = spawn('redis-cli', ['-p', String(ctx.redis.port), 'monitor'], { stdio: ['ignore', openSync(file, 'a'), 'ignore'] });
}

/** Reads the epoch marker ("<id>:<recover-until-ms>") that the first replica back writes. */
async function recoveryEnd(redis: RedisServer): Promise<number> {
  const client = redis.client();
  try {
    return await epochRecoveryEnd(client, 10_000);
  } finally {
    client.disconnect();
  }
}

async function epochRecoveryEnd(client: Redis | Cluster, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const epoch = await client.get('taskino:{chaos}:epoch').catch(() => null);
    if (epoch) {
      debug(`epoch: ${epoch}`);
      return Number(epoch.split(':')[1]);
    }
    await delay(50);
  }
  return Date.now() + 5_000;
}
