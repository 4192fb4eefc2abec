// Puts the report's tables together into bench.md (or bench-quick.md), with how each figure is measured.
import type { RunResult } from './measure.js';
import { ceilingTable, duplicateRuns, errorRuns, failoverTable, idleTable, matrixTable, reloadTable, sideBySide, targets, type BenchResults } from './report.js';
import { LABEL } from './systems.js';

/** The replicas' own count of script calls should match what Redis counted (EVALSHA + EVAL). */
function crossCheck(r: RunResult): string | undefined {
  const c = r.costs;
  if (!c || !Number.isFinite(c.commands)) return undefined;
  const client = (c.commandsByName.evalsha ?? 0) + (c.commandsByName.eval ?? 0);
  const server = c.redis.scriptCalls;
  if (Math.abs(client - server) <= Math.max(20, 0.05 * server)) return undefined;
  return `script calls counted by the replicas (${client}) and by INFO commandstats (${server}) differ by more than 5%`;
}

function notes(results: BenchResults): string[] {
  const runs: RunResult[] = [...results.matrix, ...results.idle, ...results.ceilings.flatMap((c) => c.steps.map((s) => s.result)), ...results.reloads.map((r) => r.run), ...results.failovers.map((f) => f.run)];
  const lines: string[] = [];
  for (const r of runs) {
    const skips = Object.entries(r.skips).map(([k, v]) => `${k} ${v}`).join(', ');
    const head = `${LABEL[r.kind]} ${r.replicas}x${r.tasks} ${r.mode}`;
    if (skips) lines.push(`- ${head}: skips reported by the processes over the whole run (start-up included): ${skips}`);
    if (r.fires?.offGrid) lines.push(`- ${head}: ${r.fires.offGrid} starts off the 1 s grid`);
    const check = crossCheck(r);
    if (check) lines.push(`- ${head}: ${check}`);
    for (const n of r.notes.slice(0, 6)) lines.push(`- ${head}: \`${n.replace(/`/g, "'")}\``);
  }
  return lines;
}

export function renderMarkdown(results: BenchResults): string {
  const { plan, machine } = results;
  const t = plan.timing;
  const dups = duplicateRuns(results);
  const errors = errorRuns(results, 'failure');
  const timeouts = errorRuns(results, 'timeout');
  const parts: string[] = [
    `# Performance benchmark${plan.quick ? ' (quick)' : ''}`,
    '',
    `Command: \`${plan.command}\`  `,
    `Run on ${results.startedAt.toISOString()}, took ${Math.round(results.seconds)} s.  `,
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}; Node ${machine.node}; redis-server ${machine.redis} (one private server, FLUSHALL between configurations).  `,
    `Each configuration: fresh processes, warm-up ${t.warmupMs / 1000} s after the first fire, then a window of ${t.windowMs / 1000} s of scheduled times. A fire counts as missed when no process has reported starting it ${t.graceMs / 1000} s after the window (a replica whose event loop is behind gets up to 10 s more to report). n/a: not measurable, e.g. a replica too busy to report its command count within 5 s.`,
    '',
  ];
  if (dups.length > 0) {
    parts.push('## DUPLICATE FIRES', '', 'A fire that ran more than once:', '', ...dups.map((d) => `- **${d.kind}, ${d.where}: ${d.duplicates} fires ran twice or more**`), '');
  }
  if (errors.length > 0) parts.push('## Configurations that failed', '', ...errors.map((e) => `- ${e}`), '');
  if (timeouts.length > 0) parts.push('## Configurations too slow to measure', '', ...timeouts.map((e) => `- ${e}`), '');
  parts.push('## Targets', '', '| target | measured | verdict |', '|---|---|---|', ...targets(results).map((x) => `| ${x.target} | ${x.value} | ${x.verdict} |`), '');
  if (results.matrix.length > 0) {
    parts.push(
      '## Fire lateness and cost, every task firing every second',
      '',
      matrixTable(results.matrix),
      '',
      '- lateness: start − scheduled time; "first start of each second" is the median over the window\'s seconds of the earliest start in that second (timer plus one round trip, without the queueing of the burst); library and BullMQ: the no-op handler\'s first line (`Date.now()`); sidecar: arrival of the HTTP call at the app (same machine clock).',
      '- commands/fire: commands the replicas sent to Redis (a Lua script call counts once), counted in each replica process on every ioredis connection, over the window, divided by the fires scheduled in it. Redis ops/fire: every command Redis executed per fire, from `INFO commandstats` deltas, including the commands run inside scripts.',
      '- Redis CPU: `INFO cpu` (used_cpu_sys + used_cpu_user) delta; replica CPU: utime + stime from /proc of every replica process together; RSS: VmRSS at the end of the window.',
      '- original design: the seed library polled a version key once per second per process and each process made one claim per fire: (R × fires + R × seconds) / fires over the same window.',
      '',
      '## taskino (library) and BullMQ side by side',
      '',
      'BullMQ: one Queue and one Worker (no-op processor, concurrency 100) per replica process, `upsertJobScheduler("t-i", { every: 1000, startDate })` from one process, jobs removed on completion. Ratios are BullMQ ÷ taskino: above 1x, taskino is better. The p99 of the fires that ran leaves out the ones a system dropped; the p99 of all expected fires counts a missed fire as never started, so a system missing more than 1 % has none. The lateness target is judged on the latter.',
      '',
      sideBySide(results.matrix),
      '',
    );
  }
  if (results.idle.length > 0) {
    parts.push('## Idle cost (tasks registered, none due)', '', `Window: ${plan.idle.windowMs / 1000} s, after the same warm-up.`, '', idleTable(results.idle), '');
  }
  if (results.ceilings.length > 0) parts.push('## Throughput ceiling', '', ceilingTable(results.ceilings), '');
  if (results.reloads.length > 0) {
    parts.push(
      '## Reload propagation',
      '',
      reloadTable(results.reloads),
      '',
      '- measured on a cluster that keeps up with its fires (see the tasks column). Library: replica 0 calls `scheduler.reload()` with a task added under a higher version; each replica reports its `onReload`. Sidecar: the task file of replica 0 is rewritten (the others keep theirs, like pods whose ConfigMap mount lags) and each replica logs `definition set switched`. Measured while every task fires each second.',
      '',
    );
  }
  if (results.failovers.length > 0) {
    parts.push(
      '## Failover: one replica SIGKILLed',
      '',
      failoverTable(results.failovers),
      '',
      '- the replica is killed in the middle of a fire burst, at the median lateness of the seconds before (claims, fetches and runs in flight); the fires scheduled from that second on for the next seconds include every fire it would have run. Replicas report each fire synchronously on stdout in this scenario, so the killed one loses no report.',
      '',
    );
  }
  const extra = notes(results);
  if (extra.length > 0) parts.push('## Notes from the processes', '', ...extra.slice(0, 60), '');
  return parts.join('\n');
}
