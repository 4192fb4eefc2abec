// npm run chaos -- [--scenario kill,netcut,...|all|mix] [--seconds 60] [--mix-seconds 600] [--seed N]
// Each scenario runs alone on a fresh Redis; "mix" runs every fault kind at random in one run.
// Prints one table and exits 1 on any duplicate, unexplained miss or overlap.
import { mkdirSync, writeFileSync } from 'node:fs';
import { runChaos, SCENARIOS, table, TOPOLOGY_SCENARIOS, type ChaosRow, type Scenario } from './harness.js';

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const chosen = (arg('scenario') ?? 'all').split(',');
const seconds = Number(arg('seconds') ?? 40);
const mixSeconds = Number(arg('mix-seconds') ?? seconds);
const seed = Number(arg('seed') ?? Date.now() % 100_000);
const unknown = chosen.filter((c) => c !== 'all' && c !== 'mix' && !(SCENARIOS as readonly string[]).includes(c));
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}: use ${SCENARIOS.join(', ')}, all or mix`);
  process.exit(2);
}
const single: Scenario[] = chosen.includes('all') ? [...SCENARIOS] : (chosen.filter((c) => c !== 'mix') as Scenario[]);
const rows: ChaosRow[] = [];
for (const scenario of single) {
  rows.push(await runChaos(scenario, [scenario], scenario === 'redis-pause-long' ? Math.max(seconds, 45) : seconds, seed));
  console.error(`done: ${scenario}`);
}
const mixed = SCENARIOS.filter((s) => s !== 'redis-pause-long' && !TOPOLOGY_SCENARIOS.includes(s));
if (chosen.includes('mix') || chosen.includes('all')) rows.push(await runChaos(`mix (${mixSeconds} s)`, mixed, mixSeconds, seed));
const output = `${table(rows)}\n\nseed ${seed}; reproduce: npm run chaos -- --scenario=${chosen.join(',')} --seconds=${seconds} --mix-seconds=${mixSeconds} --seed=${seed}\n`;
console.log(output);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/chaos.md', `# Chaos run (${new Date().toISOString()})\n\n${output}`);
process.exitCode = rows.some((r) => r.duplicates > 0 || r.unexplainedMisses > 0 || r.overlaps > 0) ? 1 : 0;
