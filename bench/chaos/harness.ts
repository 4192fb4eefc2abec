import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer } from '../../test/support/redis-server.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { ClusterSetup, SentinelSetup } from '../../test/support/redis-topologies.js';
import { delay } from '../../test/support/wait.js';
import { LedgerApp, type AppFault } from './ledger-app.js';
import { ChaosReplica } from './replica.js';

export const SCENARIOS = ['kill', 'redis-restart', 'redis-pause', 'redis-pause-long', 'netcut', 'skew', 'app-faults', 'config-change', 'sentinel-failover', 'cluster-migration'] as const;
/** Faults that need their own Redis topology; the mix runs on a single Redis without them. */
export const TOPOLOGY_SCENARIOS: readonly string[] = ['sentinel-failover', 'cluster-migration'];
export type Scenario = (typeof SCENARIOS)[number];

export interface ChaosRow {
  scenario: string;
  expected: number;
  ranOnce: number;
  duplicates: number;
  unexplainedMisses: number;
  explainedMisses: number;
  overlaps: number;
  maxLatenessMs: number;
}

const CLUSTER_TASKS = 6;
const DEADLINE_MS = 10_000;
const STARTUP_MS = 8_000; // replica start-up and the first recovery window of a fresh Redis

interface Context {
  redis: RedisServer;
  proxy: TcpProxy;
  sentinel: SentinelSetup | undefined;
  cluster: ClusterSetup | undefined;
  failedOver: boolean;
  app: LedgerApp;
  replicas: ChaosReplica[];
  configDir: string;
  /** Windows in which no replica could reach Redis: fires inside them may be missed, explained. */
  outages: Array<[number, number]>;
  random: () => number;
  until: number;
}

function taskFile(extra = ''): string {
  const tasks = Array.from({ length: CLUSTER_TASKS }, (_, i) => `  - {name: c-${i}, every: 1s, deadline: 10s, timeout: 2s, retries: 1, http: {path: /faulty}}`);
  return `tasks:\n${tasks.join('\n')}\n  - {name: slow, every: 1s, overlap: skip, timeout: 5s, http: {path: /slow}}\n${extra}`;
}

function mulberry32(seed: number): () => number {
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

/** One fault of a kind, at a random moment; returns when it has healed. */
const FAULTS: Record<Scenario, (ctx: Context) => Promise<void>> = {
  async kill(ctx) {
    const victim = pick(ctx, ctx.replicas);
    await victim.kill('SIGKILL'); // at a random moment: mid-claim or mid-call included
    await wait(ctx, 1_000 + ctx.random() * 3_000);
    victim.start();
  },
  async 'redis-restart'(ctx) {
    const from = Date.now();
    await ctx.redis.restart(); // no persistence: every key is gone
    // The outage lasts until the end of the recovery window the first returning replica opened.
    ctx.outages.push([from, await recoveryEnd(ctx.redis)]);
  },
  async 'redis-pause'(ctx) {
    const from = Date.now();
    ctx.redis.pause();
    await wait(ctx, 2_000 + ctx.random() * 4_000); // shorter than the deadline: nothing may be missed
    ctx.redis.resume();
    ctx.outages.push([from, Date.now()]);
  },
  async 'redis-pause-long'(ctx) {
    const from = Date.now();
    ctx.redis.pause();
    await delay(DEADLINE_MS + 4_000); // longer than the deadline: misses allowed, and must be explained
    ctx.redis.resume();
    ctx.outages.push([from, Date.now()]);
  },
  async netcut(ctx) {
    ctx.proxy.setMode(pick(ctx, ['drop', 'blackhole', 'slow'] as const));
    await wait(ctx, 2_000 + ctx.random() * 6_000);
    ctx.proxy.setMode('pass');
  },
  async skew(ctx) {
    // Replica 0 runs under libfaketime; its clock jumps forward, then back.
    ctx.replicas[0]!.setClock('+20s');
    await wait(ctx, 3_000);
    ctx.replicas[0]!.setClock('-15s');
    await wait(ctx, 3_000);
    ctx.replicas[0]!.setClock('+0s');
  },
  async 'app-faults'(ctx) {
    ctx.app.fault = pick(ctx, ['slow', 'hang', '500', 'reset', 'huge'] as const satisfies readonly AppFault[]);
    await wait(ctx, 2_000 + ctx.random() * 3_000);
    ctx.app.fault = 'none';
  },
  async 'sentinel-failover'(ctx) {
    // One forced failover per run: the replica is promoted and the replicas follow through the
    // sentinels. (A second one would wait for the demoted primary to resync; that is Sentinel's
    // business, not taskino's.)
    if (ctx.failedOver) return wait(ctx, 5_000);
    ctx.failedOver = true;
    await ctx.sentinel!.failover();
  },
  async 'cluster-migration'(ctx) {
    await ctx.cluster!.migrateSlotOf('chaos'); // every key of the scheduler moves to another primary
    await wait(ctx, 4_000);
  },
  async 'config-change'(ctx) {
    writeFileSync(join(ctx.configDir, 'tasks.yaml'), taskFile(`  - {name: extra, every: 2s, http: {path: /faulty}}\n`));
    await wait(ctx, 2_000);
    writeFileSync(join(ctx.configDir, 'tasks.yaml'), `${taskFile()}  - {name: broken, every: never, http: {path: /}}\n`); // rejected as a whole
    await wait(ctx, 2_000);
    writeFileSync(join(ctx.configDir, 'tasks.yaml'), taskFile());
  },
};

/**
 * Runs 3 real replicas (one through a TCP proxy, one under faketime at -30 s, one at +45 s when
 * skew is part of the run) against a real Redis and a ledger app, injects the given faults at
 * random moments for `seconds`, and classifies every fire of the cluster tasks in the window.
 */
export async function runChaos(name: string, faults: readonly Scenario[], seconds: number, seed = Date.now()): Promise<ChaosRow> {
  const work = mkdtempSync(join(tmpdir(), `taskino-chaos-${name}-`));
  const configDir = join(work, 'tasks');
  mkdirSync(configDir);
  writeFileSync(join(configDir, 'tasks.yaml'), taskFile());
  const redis = await RedisServer.start();
  const proxy = await TcpProxy.start(redis.port);
  const app = await LedgerApp.start();
  const sentinel = faults.includes('sentinel-failover') ? await SentinelSetup.start() : undefined;
  const cluster = faults.includes('cluster-migration') ? await ClusterSetup.start() : undefined;
  const sharedUrl = sentinel?.url ?? cluster?.url;
  const skewed = faults.includes('skew') && ChaosReplica.fakeTimeAvailable();
  const replicas = [0, 1, 2].map((i) => {
    const clockFile = skewed ? join(work, `clock-${i}`) : undefined;
    if (clockFile) writeFileSync(clockFile, ['+0s', '-30s', '+45s'][i]!);
    const redisUrl = sharedUrl ?? (i === 0 ? `redis://127.0.0.1:${proxy.port}` : redis.url);
    return new ChaosReplica({ name: `r${i}`, redisUrl, configDir, appUrl: app.url, workDir: work, clockFile });
  });
  const started = Date.now();
  const ctx: Context = { redis, proxy, sentinel, cluster, failedOver: false, app, replicas, configDir, outages: [], random: mulberry32(seed), until: started + seconds * 1000 };
  for (const r of replicas) r.start();
  try {
    await delay(STARTUP_MS);
    while (Date.now() < ctx.until - DEADLINE_MS - 2_000) {
      await FAULTS[pick(ctx, faults)](ctx);
      await wait(ctx, 1_000 + ctx.random() * 3_000);
    }
    await wait(ctx, ctx.until - Date.now());
  } finally {
    await Promise.all(replicas.map((r) => r.kill('SIGTERM')));
    if (process.env.CHAOS_DEBUG) console.error(`replica logs in ${work}`);
    await Promise.all([app.stop(), proxy.stop(), redis.stop(), sentinel?.stop(), cluster?.stop()]);
  }
  return account(name, app, started + STARTUP_MS, ctx.until - DEADLINE_MS - 2_000, ctx.outages);
}

/** Reads the epoch marker ("<id>:<recover-until-ms>") that the first replica back writes. */
async function recoveryEnd(redis: RedisServer): Promise<number> {
  const client = redis.client();
  try {
    for (let i = 0; i < 200; i++) {
      const epoch = await client.get('taskino:{chaos}:epoch').catch(() => null);
      if (epoch) {
        if (process.env.CHAOS_DEBUG) console.error(`epoch on ${redis.port}: ${epoch} at ${Date.now()}`);
        return Number(epoch.split(':')[1]);
      }
      await delay(50);
    }
    return Date.now() + 5_000;
  } finally {
    client.disconnect();
  }
}

function account(scenario: string, app: LedgerApp, from: number, to: number, outages: Array<[number, number]>): ChaosRow {
  // A run is an attempt 1 reaching the app; a fire whose attempt 1 failed before reaching it
  // (e.g. a reset keep-alive socket) and whose retry arrived also ran, once.
  const firstAttempts = new Map<string, number>();
  const retried = new Set<string>();
  let maxLatenessMs = 0;
  for (const e of app.entries) {
    if (e.trigger !== 'schedule') continue;
    const key = `${e.task}@${e.scheduledMs}`;
    if (e.attempt !== 1) {
      retried.add(key);
      continue;
    }
    firstAttempts.set(key, (firstAttempts.get(key) ?? 0) + 1);
    if (e.scheduledMs >= from && e.scheduledMs <= to && e.task.startsWith('c-')) maxLatenessMs = Math.max(maxLatenessMs, e.startMs - e.scheduledMs);
  }
  const row: ChaosRow = { scenario, expected: 0, ranOnce: 0, duplicates: 0, unexplainedMisses: 0, explainedMisses: 0, overlaps: 0, maxLatenessMs };
  const merged = mergeWindows(outages);
  const explained = (fire: number) => merged.some(([a, b]) => a <= fire && fire + DEADLINE_MS <= b);
  for (let i = 0; i < CLUSTER_TASKS; i++) {
    for (let fire = Math.ceil(from / 1000) * 1000; fire <= to; fire += 1000) {
      row.expected++;
      const key = `c-${i}@${fire}`;
      const runs = firstAttempts.get(key) ?? (retried.has(key) ? 1 : 0);
      if (runs === 1) row.ranOnce++;
      else if (runs > 1) row.duplicates++;
      else if (explained(fire)) row.explainedMisses++;
      else {
        row.unexplainedMisses++;
        console.error(`unexplained miss: c-${i} at ${new Date(fire).toISOString()}; outages: ${merged.map(([a, b]) => `${new Date(a).toISOString()}..${new Date(b).toISOString()}`).join(', ')}`);
      }
    }
  }
  // overlap: skip: no two runs of "slow" may overlap in the app's ledger.
  const slow = app.entries.filter((e) => e.task === 'slow').sort((a, b) => a.startMs - b.startMs);
  for (let i = 1; i < slow.length; i++) {
    if (slow[i]!.startMs < (slow[i - 1]!.endMs ?? Infinity) && slow[i]!.attempt === 1) {
      row.overlaps++;
      console.error(`overlap: ${JSON.stringify(slow[i - 1])} then ${JSON.stringify(slow[i])}; outages: ${merged.map(([a, b]) => `${a}..${b}`).join(', ')}`);
    }
  }
  return row;
}

/** Overlapping or touching outage windows merge: back-to-back outages are one long outage. */
function mergeWindows(windows: Array<[number, number]>): Array<[number, number]> {
  const merged: Array<[number, number]> = [];
  for (const [a, b] of [...windows].sort((x, y) => x[0] - y[0])) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

export function table(rows: ChaosRow[]): string {
  const header = '| scenario | fires expected | ran once | duplicates | unexplained misses | explained misses | overlaps | max lateness (ms) |';
  const lines = rows.map((r) => `| ${r.scenario} | ${r.expected} | ${r.ranOnce} | ${r.duplicates} | ${r.unexplainedMisses} | ${r.explainedMisses} | ${r.overlaps} | ${r.maxLatenessMs} |`);
  return [header, '|---|---|---|---|---|---|---|---|', ...lines].join('\n');
}
