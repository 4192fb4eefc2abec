// npm run chaos -- [--scenario kill,netcut,redis-restart+skew,...|all|mix] [--seconds 40] [--mix-seconds 660] [--seed N]
// Each named scenario runs alone on a fresh topology; "mix" runs every fault kind in one run, in
// three topology phases (single Redis, Sentinel, Cluster; see runMix). Prints one table and exits 1
// on any duplicate, unexplained miss, unrecorded miss or overlap.
// CHAOS_DEBUG=1 keeps replica logs (debug level), the fault timeline and the accounting log in the
// work directory it prints; CHAOS_MONITOR=1 adds a redis-cli MONITOR of the single Redis.
import { mkdirSync, writeFileSync } from 'node:fs';
import { ensureDist } from '../perf/build.js';
import { failed, runChaos, runMix, SCENARIOS, table, type ChaosRow, type Scenario } from './harness.js';

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const chosen = (arg('scenario') ?? 'all').split(',');
const seconds = Number(arg('seconds') ?? 40);
const mixSeconds = Number(arg('mix-seconds') ?? seconds);
const seed = Number(arg('seed') ?? Date.now() % 100_000);
// "a+b+c" runs one scenario that mixes those fault kinds (on the topology they need).
const unknown = chosen.flatMap((c) => c.split('+')).filter((c) => c !== 'all' && c !== 'mix' && !(SCENARIOS as readonly string[]).includes(c));
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}: use ${SCENARIOS.join(', ')}, all or mix`);
  process.exit(2);
}
// The replicas are real `taskino run` processes, which run dist/: build it if src/ is newer.
ensureDist((line) => console.error(line));
const single: string[] = chosen.includes('all') ? [...SCENARIOS] : chosen.filter((c) => c !== 'mix');
const rows: ChaosRow[] = [];
for (const scenario of single) {
  const faults = scenario.split('+') as Scenario[];
  rows.push(await runChaos(scenario, faults, faults.includes('redis-pause-long') ? Math.max(seconds, 45) : seconds, seed));
  console.error(`done: ${scenario}`);
}
if (chosen.includes('mix') || chosen.includes('all')) {
  const { total, phases } = await runMix(`mix (${mixSeconds} s)`, mixSeconds, seed);
  rows.push(...phases, total);
}
const output = `${table(rows)}\n\nseed ${seed}; reproduce: npm run chaos -- --scenario=${chosen.join(',')} --seconds=${seconds} --mix-seconds=${mixSeconds} --seed=${seed}\n`;
console.log(output);
mkdirSync('bench/results/tmp', { recursive: true }); // the curated bench/results/chaos.md is written by hand
writeFileSync('bench/results/tmp/chaos-last-run.md', `# Last chaos run (${new Date().toISOString()})\n\n${output}`);
process.exitCode = rows.some(failed) ? 1 : 0;
