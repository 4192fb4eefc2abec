// Issue-3 measurement: one `taskino run` (the built binary) with 100 tasks on a real Redis.
// Idle: 100 tasks scheduled but not due (yearly cron) -> RSS and CPU from /proc over 30 s.
// Loaded: 100 tasks every second -> RSS, CPU, and fire lateness as the app measures it
// (arrival time minus X-Taskino-Scheduled-Time). Writes bench/results/sidecar-footprint.md.
// RSS is sampled every second (issue 6): it is a sawtooth (V8 lets garbage build up in the old
// generation until a major GC), so one sample is min, median or max by chance. The end value is the
// figure earlier runs reported. For scale, it also measures Node itself running an empty script.
import { execFileSync } from 'node:child_process';
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
  const rss: number[] = [];
  for (let i = 0; i < seconds; i++) {
    await delay(1000);
    rss.push(sample(pid).rssMb);
  }
  const after = sample(pid);
  const to = Date.now();
  await sidecar.stop();
  const cpuPercent = ((after.cpuSeconds - before.cpuSeconds) / ((to - from) / 1000)) * 100;
  const lateness = app.calls
    .filter((c) => c.startedMs >= from && c.startedMs <= to && c.task.startsWith('task-'))
    .map((c) => c.startedMs - Date.parse(c.scheduled))
    .sort((a, b) => a - b);
  const pct = (p: number) => lateness[Math.min(lateness.length - 1, Math.floor(lateness.length * p))] ?? NaN;
  rss.sort((a, b) => a - b);
  const rssRange = `${rss[0]?.toFixed(1)} / ${rss[Math.floor(rss.length / 2)]?.toFixed(1)} / ${rss.at(-1)?.toFixed(1)}`;
  return { rssMb: after.rssMb.toFixed(1), rssRange, cpuPercent: cpuPercent.toFixed(2), calls: lateness.length, p50: pct(0.5), p99: pct(0.99), max: lateness.at(-1) ?? NaN };
}

/** RSS of `node -e` doing nothing for a second: what any Node process costs on this machine. */
function nodeBaselineMb(): string {
  const script = "setTimeout(() => console.log(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]), 1000)";
  return (Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) / 1024).toFixed(1);
}

const redis = await RedisServer.start();
const app = await CountingApp.start();
try {
  const idle = await measure('idle', 'cron: "0 0 1 1 *"', redis, app);
  const loaded = await measure('loaded', 'every: 1s', redis, app);
  const table = [
    '| sidecar, 100 tasks, Redis | RSS at the end (MB) | RSS min / median / max, sampled each second (MB) | CPU (% of one core) | calls seen by the app | lateness p50 / p99 / max (ms) |',
    '|---|---|---|---|---|---|',
    `| idle (no task due) | ${idle.rssMb} | ${idle.rssRange} | ${idle.cpuPercent} | ${idle.calls} | - |`,
    `| 100 tasks every 1 s | ${loaded.rssMb} | ${loaded.rssRange} | ${loaded.cpuPercent} | ${loaded.calls} | ${loaded.p50} / ${loaded.p99} / ${loaded.max} |`,
    `| for scale: \`node -e\` with an empty script | ${nodeBaselineMb()} | - | - | - | - |`,
  ].join('\n');
  console.log(table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/sidecar-footprint.md', `# Sidecar footprint (tsx bench/sidecar-footprint.ts)\n\nRun on ${new Date().toISOString()}, ${seconds} s per measurement, one replica, lateness measured by the app on arrival.\n\n${table}\n`);
} finally {
  await app.stop();
  await redis.stop();
}
