// The issue-2 measurement: 3 replica processes x 50 tasks firing every second for 60 s, with one
// SIGKILL (and a replacement) and one Redis restart; prints fires expected/run, duplicates, misses
// and Redis commands per fire (INFO commandstats), and writes bench/results/soak-core.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { RedisServer } from '../test/support/redis-server.js';
import { runSoak } from '../test/support/soak.js';

const arg = (name: string, fallback: number): number => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? Number(found.split('=')[1]) : fallback;
};
const plan = {
  processes: arg('processes', 3),
  tasks: arg('tasks', 50),
  everyMs: 1000,
  durationMs: arg('seconds', 60) * 1000,
  killAtMs: arg('kill-at', 20) * 1000,
  replaceAtMs: arg('replace-at', 25) * 1000,
  redisRestartAtMs: arg('redis-restart-at', 40) * 1000,
};
const server = await RedisServer.start();
try {
  const report = await runSoak(server, plan);
  const rows = [
    ['replicas x tasks x seconds', `${plan.processes} x ${plan.tasks} x ${plan.durationMs / 1000}`],
    ['faults', `SIGKILL p1 at ${plan.killAtMs / 1000} s (replacement at ${plan.replaceAtMs / 1000} s), Redis restart (empty) at ${plan.redisRestartAtMs / 1000} s`],
    ['fires expected', report.expectedFires],
    ['fires run exactly once', report.ranOnce],
    ['duplicates', report.duplicates],
    ['misses', report.misses],
    ['fires run (whole run, all tasks)', report.firesRun],
    ['commands sent by the replicas (EVALSHA/EVAL + plain)', report.clientCommands],
    ['commands sent per fire, cluster-wide', report.clientCommandsPerFire],
    ['operations Redis executed, incl. inside scripts', report.redisOperations],
    ['operations per fire, incl. inside scripts', report.redisOperationsPerFire],
    ['commandstats calls by name', Object.entries(report.commandsByName).filter(([, n]) => n > 0).map(([c, n]) => `${c} ${n}`).join(', ')],
    ['start lateness p50 / p99 / max (ms, wall clock, window incl. both recoveries)', `${report.p50LatenessMs} / ${report.p99LatenessMs} / ${report.maxLatenessMs}`],
  ];
  const table = ['| measure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
  console.log(table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/soak-core.md', `# Core soak (npm run soak)\n\nRun on ${new Date().toISOString()}.\n\n${table}\n`);
  process.exitCode = report.duplicates === 0 && report.misses === 0 ? 0 : 1;
} finally {
  await server.stop();
}
