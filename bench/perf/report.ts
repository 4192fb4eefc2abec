// The Markdown report: machine and command, the loaded matrix, taskino and BullMQ side by side,
// idle cost, throughput ceiling, reload and failover, and the issue's targets with met / not met.
import { derive, deriveIdle, fmt, ms } from './derive.js';
import type { RunResult } from './measure.js';
import type { Plan } from './options.js';
import { CEILING_P99_MS, type CeilingResult, type FailoverResult, type ReloadResult } from './scenarios.js';
import { percentile } from './stats.js';
import { LABEL } from './systems.js';

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  redis: string;
  os: string;
}

export interface BenchResults {
  plan: Plan;
  machine: Machine;
  startedAt: Date;
  seconds: number;
  matrix: RunResult[];
  idle: RunResult[];
  ceilings: CeilingResult[];
  reloads: ReloadResult[];
  failovers: FailoverResult[];
}

const table = (head: string[], rows: string[][]): string =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

const ratio = (peer: number, ours: number): string => (Number.isFinite(peer) && Number.isFinite(ours) && ours > 0 ? `${(peer / ours).toFixed(1)}x` : 'n/a');

function firesCell(r: RunResult): string {
  if (r.error) return `error: ${r.error}`;
  const f = r.fires;
  return f ? `${f.ranOnce} / ${f.expected}` : 'n/a';
}

export function matrixTable(runs: RunResult[]): string {
  const rows = runs.map((r) => {
    const d = derive(r);
    const f = r.fires;
    return [
      LABEL[r.kind],
      String(r.replicas),
      String(r.tasks),
      firesCell(r),
      f ? String(f.missed) : 'n/a',
      f ? (f.duplicates > 0 ? `**${f.duplicates}**` : '0') : 'n/a',
      f ? `${ms(f.p50)} / ${ms(f.p99)} / ${ms(f.max)}` : 'n/a',
      f ? ms(f.firstP50) : 'n/a',
      fmt(d.commandsPerFire, 2),
      fmt(d.opsPerFire, 1),
      fmt(d.redisCpuMsPer1000, 1),
      fmt(d.replicaCpuSPer1000, 3),
      fmt(d.rssMaxMb, 0),
      r.kind === 'bullmq' ? '' : fmt(d.originalCommandsPerFire, 2),
    ];
  });
  return table(
    ['system', 'replicas', 'tasks (fires/s)', 'ran once / expected', 'missed', 'dup', 'lateness p50 / p99 / max (ms)', 'first start of each second, p50 (ms)', 'commands/fire', 'Redis ops/fire (incl. in scripts)', 'Redis CPU ms/1000 fires', 'replica CPU s/1000 fires (all replicas)', 'RSS MB (max replica)', 'original design commands/fire'],
    rows,
  );
}

export function sideBySide(runs: RunResult[]): string {
  const rows: string[][] = [];
  for (const ours of runs.filter((r) => r.kind === 'taskino')) {
    const peer = runs.find((r) => r.kind === 'bullmq' && r.replicas === ours.replicas && r.tasks === ours.tasks);
    if (!peer) continue;
    const a = derive(ours);
    const b = derive(peer);
    const p99a = ours.fires?.p99 ?? NaN;
    const p99b = peer.fires?.p99 ?? NaN;
    rows.push([
      String(ours.replicas),
      String(ours.tasks),
      `${ms(p99a)} / ${ms(p99b)}`,
      ratio(p99b, p99a),
      `${msOrNever(ours.fires?.p99OfExpected)} / ${msOrNever(peer.fires?.p99OfExpected)}`,
      `${fmt(a.commandsPerFire, 2)} / ${fmt(b.commandsPerFire, 2)}`,
      ratio(b.commandsPerFire, a.commandsPerFire),
      `${fmt(a.opsPerFire, 1)} / ${fmt(b.opsPerFire, 1)}`,
      `${fmt(a.redisCpuMsPer1000, 1)} / ${fmt(b.redisCpuMsPer1000, 1)}`,
      ratio(b.redisCpuMsPer1000, a.redisCpuMsPer1000),
      `${fmt(a.replicaCpuSPer1000, 3)} / ${fmt(b.replicaCpuSPer1000, 3)}`,
      ratio(b.replicaCpuSPer1000, a.replicaCpuSPer1000),
      `${ours.fires?.missed ?? 'n/a'} / ${peer.fires?.missed ?? 'n/a'}`,
    ]);
  }
  if (rows.length === 0) return '_no configuration measured for both taskino and BullMQ_';
  return table(
    ['replicas', 'tasks', 'p99 ms taskino / BullMQ', 'BullMQ ÷ taskino', 'p99 ms of all expected fires (a missed one never starts)', 'commands/fire taskino / BullMQ', 'ratio', 'Redis ops/fire', 'Redis CPU ms/1000 fires', 'ratio', 'replica CPU s/1000 fires', 'ratio', 'missed'],
    rows,
  );
}

const msOrNever = (n: number | undefined): string => (n === Number.POSITIVE_INFINITY ? 'never (> 1 % missed)' : ms(n));

export function idleTable(runs: RunResult[]): string {
  const rows = runs.map((r) => {
    const d = deriveIdle(r);
    return [LABEL[r.kind], String(r.replicas), String(r.tasks), r.error ? `error: ${r.error}` : `${fmt(d.rssMeanMb, 0)} / ${fmt(d.rssMaxMb, 0)}`, fmt(d.cpuPercentPerReplica, 2), fmt(d.commandsPerSecond, 1), fmt(d.opsPerSecond, 1), fmt(d.redisCpuPercent, 2)];
  });
  const replicas = runs[0]?.replicas;
  if (replicas !== undefined) rows.push(['original design (computed)', String(replicas), '', '', '', `${replicas.toFixed(1)} (one version poll per process per second)`, '', '']);
  return table(['system', 'replicas', 'tasks (none due)', 'RSS MB per replica (mean / max)', 'CPU % of a core per replica', 'commands/s (cluster)', 'Redis ops/s', 'Redis CPU %'], rows);
}

export function ceilingTable(ceilings: CeilingResult[]): string {
  const rows = ceilings.map((c) => [
    LABEL[c.kind],
    String(c.replicas),
    c.steps.map(({ result: r, pass }) => `${r.tasks}: ${r.error ? `error` : `p99 ${ms(r.fires?.p99)} ms, missed ${r.fires?.missed ?? 'n/a'}`} ${pass ? 'pass' : 'FAIL'}`).join('; '),
    c.highestPassing === undefined ? `below ${c.steps[0]?.result.tasks ?? '?'}` : `${c.open ? '≥ ' : ''}${c.highestPassing}`,
  ]);
  return table(['system', 'replicas', `steps (tasks every 1 s: p99, misses; pass = p99 ≤ ${CEILING_P99_MS} ms and no miss)`, 'ceiling (fires/s)'], rows);
}

export function reloadTable(reloads: ReloadResult[]): string {
  const rows = reloads.map((r) => {
    if (r.run.error) return [LABEL[r.kind], String(r.replicas), String(r.tasks), `error: ${r.run.error}`, '', ''];
    const slowest = r.samples.map((s) => Math.max(...s.map((x) => (Number.isNaN(x) ? Infinity : x))));
    const all = r.samples.flat().filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    const sortedSlowest = [...slowest].sort((a, b) => a - b);
    return [
      LABEL[r.kind],
      String(r.replicas),
      String(r.tasks),
      String(r.samples.length),
      `${ms(percentile(sortedSlowest, 0.5))} / ${ms(sortedSlowest.at(-1))}${slowest.some((x) => x === Infinity) ? ' (some replica did not switch within 10 s)' : ''}`,
      `${ms(percentile(all, 0.5))}`,
    ];
  });
  return table(['system', 'replicas', 'tasks', 'changes', 'publish → every replica switched, p50 / max (ms)', 'per replica p50 (ms)'], rows);
}

export function failoverTable(failovers: FailoverResult[]): string {
  const rows = failovers.map((f) => {
    if (f.run.error || !f.after || !f.before) return [LABEL[f.kind], String(f.replicas), String(f.tasks), `error: ${f.run.error ?? 'no result'}`, '', '', '', ''];
    const skips = Object.entries(f.run.skips).map(([k, v]) => `${k} ${v}`).join(', ') || '-';
    return [
      LABEL[f.kind],
      String(f.replicas),
      String(f.tasks),
      `${ms(f.before.p99)} / ${ms(f.before.max)}`,
      `${ms(f.killOffsetMs)} ms`,
      `${f.after.expected} fires, ${f.after.missed} not run within ${f.graceMs / 1000} s, ${f.after.duplicates} dup`,
      `${ms(f.after.p99)} / **${ms(f.after.max)}**`,
      skips,
    ];
  });
  return table(['system', 'replicas', 'tasks', 'before the kill p99 / max (ms)', 'killed after the fire time', `after the SIGKILL (fires of the next seconds)`, 'after p99 / worst lateness (ms)', 'skips reported'], rows);
}

type Verdict = 'met' | 'NOT MET' | 'not measured';

export function targets(results: BenchResults): Array<{ target: string; value: string; verdict: Verdict }> {
  const lib = results.matrix.filter((r) => r.kind === 'taskino' && !r.error && r.fires);
  const out: Array<{ target: string; value: string; verdict: Verdict }> = [];
  const at = lib.find((r) => r.replicas === 3 && r.tasks === 1000);
  out.push({
    target: 'p99 lateness ≤ 10 ms at 1,000 tasks on 3 replicas (library)',
    value: at?.fires ? `${ms(at.fires.p99)} ms` : 'n/a',
    verdict: at?.fires ? (at.fires.p99 <= 10 ? 'met' : 'NOT MET') : 'not measured',
  });
  const cmds = lib.map((r) => ({ r, c: derive(r).commandsPerFire })).filter((x) => Number.isFinite(x.c));
  const worst = cmds.reduce<{ r: RunResult; c: number } | undefined>((w, x) => (!w || x.c > w.c ? x : w), undefined);
  out.push({
    target: '≤ 1.5 Redis commands per fire cluster-wide, whatever the replicas (library)',
    value: worst ? `worst ${fmt(worst.c, 2)} (${worst.r.replicas} replicas, ${worst.r.tasks} tasks); ${cmds.map((x) => `${x.r.replicas}r/${x.r.tasks}t ${fmt(x.c, 2)}`).join(', ')}` : 'n/a',
    verdict: worst ? (worst.c <= 1.5 ? 'met' : 'NOT MET') : 'not measured',
  });
  const idle = results.idle.find((r) => r.kind === 'taskino' && !r.error);
  const rss = idle ? deriveIdle(idle).rssMaxMb : NaN;
  out.push({ target: 'idle RSS < 80 MB per replica (library)', value: Number.isFinite(rss) ? `${fmt(rss, 0)} MB` : 'n/a', verdict: Number.isFinite(rss) ? (rss < 80 ? 'met' : 'NOT MET') : 'not measured' });
  const pairs = lib.flatMap((ours) => {
    const peer = results.matrix.find((p) => p.kind === 'bullmq' && !p.error && p.replicas === ours.replicas && p.tasks === ours.tasks);
    return peer ? [{ ours, peer }] : [];
  });
  // Judged over every expected fire: a peer that drops fires is not earlier on the ones it drops.
  // The p99 of the fires that ran alone is reported beside it.
  const wins = (p99: (f: NonNullable<RunResult['fires']>) => number) =>
    pairs.filter(({ ours, peer }) => (ours.fires ? p99(ours.fires) : Infinity) < (peer.fires ? p99(peer.fires) : Infinity)).length;
  const latenessWins = wins((f) => f.p99OfExpected);
  out.push({
    target: 'better than BullMQ on p99 lateness (over all expected fires: a missed fire never starts)',
    value: pairs.length
      ? `better in ${latenessWins} of ${pairs.length} configurations; over the fires that ran only, in ${wins((f) => f.p99)} of ${pairs.length}`
      : 'n/a',
    verdict: pairs.length ? (latenessWins === pairs.length ? 'met' : 'NOT MET') : 'not measured',
  });
  const cmdWins = pairs.filter(({ ours, peer }) => derive(ours).commandsPerFire < derive(peer).commandsPerFire);
  out.push({
    target: 'better than BullMQ on commands per fire',
    value: pairs.length ? `better in ${cmdWins.length} of ${pairs.length} configurations` : 'n/a',
    verdict: pairs.length ? (cmdWins.length === pairs.length ? 'met' : 'NOT MET') : 'not measured',
  });
  return out;
}

export function duplicateRuns(results: BenchResults): Array<{ where: string; kind: string; duplicates: number }> {
  const found: Array<{ where: string; kind: string; duplicates: number }> = [];
  const add = (where: string, kind: string, n: number | undefined): void => {
    if (n) found.push({ where, kind, duplicates: n });
  };
  for (const r of [...results.matrix, ...results.ceilings.flatMap((c) => c.steps.map((s) => s.result))]) add(`${r.replicas} replicas x ${r.tasks} tasks`, r.kind, r.fires?.duplicates);
  for (const f of results.failovers) add(`failover, ${f.replicas} replicas x ${f.tasks} tasks`, f.kind, (f.before?.duplicates ?? 0) + (f.after?.duplicates ?? 0));
  return found;
}

/** Runs that could not be measured: `timeout` ones are findings (too slow to start or answer), `failure` ones harness or process failures. */
export function errorRuns(results: BenchResults, kind: 'timeout' | 'failure'): string[] {
  const runs = [...results.matrix, ...results.idle, ...results.ceilings.flatMap((c) => c.steps.map((s) => s.result)), ...results.reloads.map((r) => r.run), ...results.failovers.map((f) => f.run)];
  return runs.filter((r) => r.error && r.errorKind === kind).map((r) => `${LABEL[r.kind]} ${r.replicas} replicas x ${r.tasks} tasks (${r.mode}): ${r.error}`);
}
