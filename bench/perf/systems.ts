// The three systems under test, started as real processes on the shared redis-server:
// taskino as a library (no-op handler), taskino as the sidecar (`taskino run` calling a local app),
// and BullMQ job schedulers (the peer). Each start returns the same shape of running cluster.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/support/redis-server.js';
import type { Bundles } from './build.js';
import { ROOT } from './build.js';
import { Child, NoAnswer } from './children.js';
import type { BullmqReplicaConfig, FromChild, LibraryReplicaConfig } from './protocol.js';

export type SystemKind = 'taskino' | 'sidecar' | 'bullmq';
export const SYSTEMS: readonly SystemKind[] = ['taskino', 'sidecar', 'bullmq'];
export const LABEL: Record<SystemKind, string> = { taskino: 'taskino library', sidecar: 'taskino sidecar', bullmq: 'BullMQ' };

export interface BenchEnv {
  redisHost: string;
  redisPort: number;
  bundles: Bundles;
  /** A private temporary directory for task files and sockets. */
  tmp: string;
}

export interface ClusterSpec {
  replicas: number;
  tasks: number;
  mode: 'loaded' | 'idle';
  /** Sidecar only: log at info level (its reload signal is a log line). */
  infoLogs?: boolean;
  /** Replicas report each fire at once on stdout, so a SIGKILLed replica's fires are not lost. */
  reportSync?: boolean;
}

export interface Cluster {
  kind: SystemKind;
  /** The replica processes: CPU, RSS and command counts come from them. */
  replicas: Child[];
  /** Who reports fires: the replicas, or the app for the sidecar path. */
  reporters: Child[];
  /** What start-up noticed (e.g. a probe that did not answer). */
  notes?: string[];
  /** Sidecar: skipped fires by reason, from each live replica's /metrics (the library replicas report theirs). */
  skipCounts?: () => Promise<Record<string, number>>;
  /** Library and sidecar: publish a new definition set adding task r-<k>; resolves with the publish time. */
  reload?: (k: number) => Promise<{ publishedAtMs: number }>;
  stop(): Promise<void>;
}

/** Every fire of an idle run is a day away, on the hour. */
export const idleStartMs = (): number => Math.ceil((Date.now() + 86_400_000) / 3_600_000) * 3_600_000;
const READY_MS = (tasks: number): number => 30_000 + tasks * 3;
let sequence = 0;

async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop(5_000)));
}

/** Starts children; if one fails to get ready, all are killed and the error says which and why. */
async function startAll(children: Child[], timeoutMs: number): Promise<void> {
  try {
    await Promise.all(children.map((c) => c.waitReady(timeoutMs)));
  } catch (error) {
    await Promise.all(children.map((c) => c.kill()));
    throw error;
  }
}

export async function startCluster(env: BenchEnv, kind: SystemKind, spec: ClusterSpec): Promise<Cluster> {
  const run = `${kind}-${++sequence}`;
  switch (kind) {
    case 'taskino':
      return startLibrary(env, spec, run);
    case 'bullmq':
      return startBullmq(env, spec, run);
    case 'sidecar':
      return startSidecars(env, spec, run);
  }
}

async function startLibrary(env: BenchEnv, spec: ClusterSpec, run: string): Promise<Cluster> {
  const idleStart = idleStartMs();
  const replicas = Array.from({ length: spec.replicas }, (_, i) => {
    const config: LibraryReplicaConfig = {
      kind: 'library',
      redisUrl: `redis://${env.redisHost}:${env.redisPort}`,
      scheduler: run,
      replicaId: `r${i}`,
      tasks: spec.tasks,
      mode: spec.mode,
      idleStartMs: idleStart,
      // A fresh store opens a recovery window before the first claim; 1 s instead of the default 5 s
      // keeps start-up short. It only delays the first fires, which the warm-up skips.
      recoveryWindowMs: 1_000,
      reportSync: spec.reportSync ?? false,
    };
    return Child.node(`taskino replica r${i}`, env.bundles.library, config);
  });
  await startAll(replicas, READY_MS(spec.tasks));
  let version = 1;
  return {
    kind: 'taskino',
    replicas,
    reporters: replicas,
    reload: async (k) => {
      const reply = await replicas[0]!.ask<Extract<FromChild, { type: 'reloaded' }>>((id) => ({ type: 'reload', id, k, version: ++version }), 'reloaded', 10_000);
      return { publishedAtMs: reply.publishedAtMs };
    },
    stop: () => stopAll(replicas),
  };
}

async function startBullmq(env: BenchEnv, spec: ClusterSpec, run: string): Promise<Cluster> {
  const replicas = Array.from({ length: spec.replicas }, (_, i) => {
    const config: BullmqReplicaConfig = { kind: 'bullmq', host: env.redisHost, port: env.redisPort, queue: run, replicaId: `b${i}`, concurrency: 100, reportSync: spec.reportSync ?? false };
    return Child.node(`bullmq replica b${i}`, env.bundles.bullmq, config);
  });
  await startAll(replicas, READY_MS(0));
  // Job schedulers are upserted from one process; they start on a whole second, like taskino's grid.
  const everyMs = spec.mode === 'loaded' ? 1_000 : 3_600_000;
  const startDateMs = spec.mode === 'loaded' ? Math.ceil((Date.now() + 2_000 + spec.tasks * 0.5) / 1_000) * 1_000 : idleStartMs();
  const notes: string[] = [];
  try {
    const upserted = await replicas[0]!.ask<Extract<FromChild, { type: 'upserted' }>>(
      (id) => ({ type: 'upsert', id, tasks: spec.tasks, everyMs, startDateMs }),
      'upserted',
      READY_MS(spec.tasks),
    );
    if (spec.mode === 'loaded' && upserted.endedMs > startDateMs) {
      notes.push(`the upserts ended ${upserted.endedMs - startDateMs} ms after the first scheduled time: early fires may be off the grid`);
    }
  } catch (error) {
    await Promise.all(replicas.map((c) => c.kill()));
    throw error;
  }
  return { kind: 'bullmq', replicas, reporters: replicas, notes, stop: () => stopAll(replicas) };
}

function taskFile(spec: ClusterSpec, idleStart: number, added: number[]): string {
  const schedule = spec.mode === 'loaded' ? 'every: 1s' : `every: 1h, startAt: "${new Date(idleStart).toISOString()}"`;
  const lines = ['tasks:'];
  for (let i = 0; i < spec.tasks; i++) lines.push(`  - {name: t-${i}, ${schedule}, http: {path: /t}}`);
  for (const k of added) lines.push(`  - {name: r-${k}, every: 1s, http: {path: /t}}`);
  return `${lines.join('\n')}\n`;
}

/** The environment of the machine without TASKINO_* variables, which `taskino run` would read. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TASKINO_')));
}

/** A sidecar is ready when its /readyz answers 200 (Redis connected, definitions loaded). */
async function waitReadyz(port: number, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.alive) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return child.markReady();
    } catch {
      // not listening yet, or too busy to answer
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (child.alive) throw new NoAnswer(`${child.name}: /readyz did not answer 200 within ${timeoutMs} ms`);
}

async function startSidecars(env: BenchEnv, spec: ClusterSpec, run: string): Promise<Cluster> {
  const appPort = await freePort();
  const app = Child.node('app', env.bundles.app, { kind: 'app', port: appPort });
  await startAll([app], 10_000);
  const idleStart = idleStartMs();
  const dir = join(env.tmp, run);
  const replicas: Child[] = [];
  const ports: number[] = [];
  for (let i = 0; i < spec.replicas; i++) {
    // Each replica reads its own copy of the task file, as each pod mounts its own ConfigMap volume.
    const replicaDir = join(dir, `s${i}`);
    mkdirSync(replicaDir, { recursive: true });
    writeFileSync(join(replicaDir, 'tasks.yaml'), taskFile(spec, idleStart, []));
    const httpPort = await freePort();
    ports.push(httpPort);
    const args = ['run', '--config', join(replicaDir, 'tasks.yaml'), '--redis', `redis://${env.redisHost}:${env.redisPort}`, '--scheduler', run];
    args.push('--app-url', `http://127.0.0.1:${appPort}`, '--http-port', String(httpPort), '--admin-socket', join(replicaDir, 'admin.sock'));
    args.push('--log-level', spec.infoLogs ? 'info' : 'warn', '--shutdown-grace', '2s');
    const child = Child.node(`sidecar s${i}`, join(ROOT, 'bin', 'taskino.js'), {}, ['--import', env.bundles.sidecarPreload], args, cleanEnv());
    const keep = child.onLine;
    child.onLine = (line) => {
      if (line.includes('"definition set switched"')) {
        const arrivedMs = Date.now();
        try {
          const parsed = JSON.parse(line) as { time?: string; generation?: number };
          child.switched.push({ atMs: Date.parse(parsed.time ?? '') || arrivedMs, generation: parsed.generation ?? 0 });
        } catch {
          child.switched.push({ atMs: arrivedMs, generation: 0 });
        }
      } else if (!line.includes('"task run succeeded"')) keep(line);
    };
    replicas.push(child);
  }
  const notes: string[] = [];
  try {
    await Promise.all(
      replicas.map((child, i) =>
        waitReadyz(ports[i]!, child, READY_MS(spec.tasks)).catch((error: unknown) => {
          // A sidecar busy with thousands of calls a second may not answer its probe in time; if the
          // app is getting calls, it runs: measure it, and say that the probe did not answer.
          if (!(error instanceof NoAnswer) || app.fires.length === 0) throw error;
          notes.push(`${(error as Error).message} (the app was getting calls: measured anyway)`);
          child.markReady();
        }),
      ),
    );
    await startAll(replicas, 1_000);
  } catch (error) {
    await Promise.all([...replicas, app].map((c) => c.kill()));
    throw error;
  }
  const added: number[] = [];
  return {
    kind: 'sidecar',
    replicas,
    reporters: [app],
    notes,
    // The edit lands in replica 0's file only: the others learn it through Redis, as a pod whose
    // mounted ConfigMap lags behind does.
    reload: async (k) => {
      added.push(k);
      const publishedAtMs = Date.now();
      writeFileSync(join(dir, 's0', 'tasks.yaml'), taskFile(spec, idleStart, added));
      return { publishedAtMs };
    },
    skipCounts: async () => {
      const skips: Record<string, number> = {};
      await Promise.all(
        replicas.map(async (child, i) => {
          if (!child.alive) return;
          const text = await fetch(`http://127.0.0.1:${ports[i]}/metrics`, { signal: AbortSignal.timeout(3_000) }).then((r) => r.text(), () => '');
          for (const m of text.matchAll(/^taskino_fires_skipped_total\{[^}]*reason="([a-z]+)"[^}]*\} (\d+)/gm)) skips[m[1]!] = (skips[m[1]!] ?? 0) + Number(m[2]);
        }),
      );
      return skips;
    },
    stop: async () => {
      await stopAll(replicas);
      await app.stop(2_000);
    },
  };
}
