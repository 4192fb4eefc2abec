// Issue-3 measurement: one `taskino run` (the built binary) with 100 tasks on a real Redis.
// Idle: 100 tasks scheduled but not due (yearly cron) -> RSS and CPU from /proc over 30 s.
// Loaded: 100 tasks every second -> RSS, CPU, and fire lateness as the app measures it
// (arrival time minus X-Taskino-Scheduled-Time). Writes bench/results/sidecar-footprint.md.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SidecarProcess } from '../test/support/cli.js';
import { CountingApp } from '../test/support/counting-app.js';
import { RedisServer } from '../test/support/redis-server.js';
import { delay } from '../test/support/wait.js';

const TICKS_PER_SECOND = 100; // Linux USER_HZ
const seconds = Number(process.argv.find((a) => a.startsWith('--seconds='))?.split('=')[1] ?? 30);

function sample(pid: number): { cpuSeconds: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime + stime
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuSeconds, rssMb: rssKb / 1024 };
}

async function measure(name: string, schedule: string, redis: RedisServer, app: CountingApp) {
  const dir = mkdtempSync(join(tmpdir(), 'taskino-bench-'));
  const tasks = Array.from({ length: 100 }, (_, i) => `  - {name: task-${i}, ${schedule}, http: {path: /ok}}`).join('\n');
  writeFileSync(join(dir, 'tasks.yaml'), `tasks:\n${tasks}\n`);
  const sidecar = SidecarProcess.start(name, ['--config', join(dir, 'tasks.yaml'), '--redis', redis.url, '--scheduler', name, '--app-url', app.url, '--http-port', '0', '--admin-socket', join(dir, 'admin.sock'), '--log-level', 'warn']);
  const pid = sidecar.child.pid!;
  await delay(8_000); // start-up, first recovery window, JIT warm-up
  const before = sample(pid);
  const from = Date.now();
  await delay(seconds * 1000);
  const after = sample(pid);
  const to = Date.now();
  await sidecar.stop();
  const cpuPercent = ((after.cpuSeconds - before.cpuSeconds) / ((to - from) / 1000)) * 100;
  const lateness = app.calls
    .filter((c) => c.startedMs >= from && c.startedMs <= to && c.task.startsWith('task-'))
    .map((c) => c.startedMs - Date.parse(c.scheduled))
    .sort((a, b) => a - b);
  const pct = (p: number) => lateness[Math.min(lateness.length - 1, Math.floor(lateness.length * p))] ?? NaN;
  return { rssMb: after.rssMb.toFixed(1), cpuPercent: cpuPercent.toFixed(2), calls: lateness.length, p50: pct(0.5), p99: pct(0.99), max: lateness.at(-1) ?? NaN };
}

const redis = await RedisServer.start();
const app = await CountingApp.start();
try {
  const idle = await measure('idle', 'cron: "0 0 1 1 *"', redis, app);
  const loaded = await measure('loaded', 'every: 1s', redis, app);
  const table = [
    '| sidecar, 100 tasks, Redis | RSS (MB) | CPU (% of one core) | calls seen by the app | lateness p50 / p99 / max (ms) |',
    '|---|---|---|---|---|',
    `| idle (no task due) | ${idle.rssMb} | ${idle.cpuPercent} | ${idle.calls} | - |`,
    `| 100 tasks every 1 s | ${loaded.rssMb} | ${loaded.cpuPercent} | ${loaded.calls} | ${loaded.p50} / ${loaded.p99} / ${loaded.max} |`,
  ].join('\n');
  console.log(table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/sidecar-footprint.md', `# Sidecar footprint (tsx bench/sidecar-footprint.ts)\n\nRun on ${new Date().toISOString()}, ${seconds} s per measurement, one replica, lateness measured by the app on arrival.\n\n${table}\n`);
} finally {
  await app.stop();
  await redis.stop();
}
