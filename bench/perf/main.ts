// `npm run bench`: issue 6's performance harness. One private redis-server, real replica processes
// for taskino (library and sidecar) and BullMQ, measured one configuration after the other.
// Prints the Markdown report and writes it with an SVG chart under --out (default bench/results).
// Exit code: 0 when the harness ran (targets are reported, not asserted), 1 on a duplicate taskino
// fire or a harness error, 2 on a usage error.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, type } from 'node:os';
import { join, resolve } from 'node:path';
import { RedisServer } from '../../test/support/redis-server.js';
import { buildBundles, ensureDist, ROOT } from './build.js';
import { renderChart } from './chart.js';
import { killAllChildren } from './children.js';
import { derive, deriveIdle, fmt, ms } from './derive.js';
import { renderMarkdown } from './document.js';
import { measureIdle, measureLoaded, type MeasureContext, type RunResult } from './measure.js';
import { parsePlan, UsageRequest, USAGE, type Plan } from './options.js';
import { duplicateRuns, errorRuns, type BenchResults } from './report.js';
import { findCeiling, measureFailover, measureReload } from './scenarios.js';
import { serverPid, serverVersion } from './redis-stats.js';
import { LABEL } from './systems.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

function progress(r: RunResult): void {
  const head = `  ${LABEL[r.kind]} ${r.replicas} replica(s) x ${r.tasks} tasks ${r.mode}:`;
  if (r.error) return log(`${head} ERROR ${r.error}`);
  const f = r.fires;
  const d = derive(r);
  if (f) return log(`${head} ran ${f.ranOnce}/${f.expected}, missed ${f.missed}, dup ${f.duplicates}, p50/p99/max ${ms(f.p50)}/${ms(f.p99)}/${ms(f.max)} ms, ${fmt(d.commandsPerFire, 2)} commands/fire`);
  const idle = deriveIdle(r);
  log(`${head} RSS ${fmt(idle.rssMaxMb, 0)} MB (max replica), CPU ${fmt(idle.cpuPercentPerReplica, 2)} % per replica, ${fmt(idle.commandsPerSecond, 1)} commands/s`);
}

let redisPid = -1;
let tmp: string | undefined;
/** Last resort on any exit: no replica, sidecar, app or redis-server may outlive the benchmark. */
function emergencyCleanup(): void {
  killAllChildren();
  if (redisPid > 0) {
    try {
      process.kill(redisPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}

async function run(plan: Plan): Promise<number> {
  const started = Date.now();
  ensureDist(log);
  log('building the child processes (esbuild)...');
  const bundles = await buildBundles();
  tmp = mkdtempSync(join(tmpdir(), 'taskino-bench-'));
  const redis = await RedisServer.start();
  const admin = redis.client();
  redisPid = await serverPid(admin);
  const results: BenchResults = {
    plan,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, redis: await serverVersion(admin), os: `${type()} ${release()}` },
    startedAt: new Date(started),
    seconds: 0,
    matrix: [],
    idle: [],
    ceilings: [],
    reloads: [],
    failovers: [],
  };
  const ctx: MeasureContext = { env: { redisHost: '127.0.0.1', redisPort: redis.port, bundles, tmp }, admin, timing: plan.timing };
  try {
    if (plan.parts.has('matrix')) {
      log(`loaded matrix: ${plan.matrix.length} configurations`);
      for (const c of plan.matrix) {
        const result = await measureLoaded(ctx, c.kind, c.replicas, c.tasks);
        progress(result);
        results.matrix.push(result);
      }
    }
    if (plan.parts.has('idle')) {
      log('idle cost');
      for (const kind of plan.systems) {
        const result = await measureIdle(ctx, kind, plan.idle.replicas, plan.idle.tasks, plan.idle.windowMs);
        progress(result);
        results.idle.push(result);
      }
    }
    if (plan.parts.has('ceiling')) {
      for (const kind of plan.ceiling.systems) {
        log(`throughput ceiling: ${LABEL[kind]}`);
        results.ceilings.push(await findCeiling(ctx, kind, plan.ceiling.replicas, plan.ceiling.steps, results.matrix, progress));
      }
    }
    if (plan.parts.has('reload')) {
      for (const kind of plan.reload.systems) {
        log(`reload propagation: ${LABEL[kind]}`);
        const r = await measureReload(ctx, kind, plan.reload.replicas, plan.reload.tasks, plan.reload.count);
        log(r.run.error ? `  ERROR ${r.run.error}` : `  ms to every replica per change: ${r.samples.map((s) => ms(Math.max(...s))).join(', ')}`);
        results.reloads.push(r);
      }
    }
    if (plan.parts.has('failover')) {
      for (const kind of plan.failover.systems) {
        log(`failover: ${LABEL[kind]}`);
        const f = await measureFailover(ctx, kind, plan.failover.replicas, plan.failover.tasks, plan.failover.afterMs, plan.failover.graceMs);
        log(f.run.error ? `  ERROR ${f.run.error}` : `  after the kill: missed ${f.after?.missed}, worst lateness ${ms(f.after?.max)} ms`);
        results.failovers.push(f);
      }
    }
  } finally {
    admin.disconnect();
    await redis.stop();
    redisPid = -1;
  }

  results.seconds = (Date.now() - started) / 1000;
  const out = resolve(ROOT, plan.out);
  mkdirSync(out, { recursive: true });
  const base = plan.quick ? 'bench-quick' : 'bench';
  const markdown = renderMarkdown(results);
  writeFileSync(join(out, `${base}.md`), `${markdown}\n`);
  const svg = await renderChart(results.matrix, `taskino vs BullMQ: ${plan.quick ? 'quick run' : 'full run'}, ${results.machine.cores} cores`);
  if (svg) writeFileSync(join(out, `${base}-lateness.svg`), svg);
  process.stdout.write(`${markdown}\n`);
  log(`wrote ${join(out, `${base}.md`)}${svg ? ` and ${join(out, `${base}-lateness.svg`)}` : ''} in ${Math.round(results.seconds)} s`);

  const dups = duplicateRuns(results).filter((d) => d.kind !== 'bullmq');
  const errors = errorRuns(results, 'failure');
  if (dups.length > 0) log(`FAILED: taskino ran ${dups.reduce((n, d) => n + d.duplicates, 0)} fires more than once`);
  if (errors.length > 0) log(`FAILED: ${errors.length} configuration(s) could not be measured`);
  return dups.length > 0 || errors.length > 0 ? 1 : 0;
}

let plan: Plan;
try {
  plan = parsePlan(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageRequest) {
    log(USAGE);
    process.exit(0);
  }
  log((error as Error).message);
  process.exit(2);
}
process.on('exit', emergencyCleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping every process`);
    process.exit(130);
  });
}
try {
  process.exitCode = await run(plan);
} catch (error) {
  log(`bench failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
}
emergencyCleanup();
process.exit(); // a stray handle (a client, a timer) must not keep the finished benchmark alive
