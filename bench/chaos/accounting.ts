import type { LedgerEntry } from './ledger-app.js';
import { pidOfReplicaId, type HistoryArchive, type MissLog } from './records.js';

/**
 * A run holds its task's lease from its claim (a few ms before it starts, by the replica's clock)
 * until it is recorded (a few ms after its last attempt ends): the slack allowed when deciding
 * whether a run was in progress at a fire's due time.
 */
export const LEASE_SLACK_MS = 250;

/**
 * A replica asks again for a fire with a backoff capped at 1 s (the core's claim loop), so after an
 * outage it may take that long before it asks: a fire whose deadline ends within this of the
 * outage's end could not be claimed either, and its miss counts as explained.
 */
export const RESUME_GRACE_MS = 1_000;

/**
 * A replica killed or cut off while its run held a task's lease holds the task until it is judged
 * dead (5 missed beats plus a store timeout: 7 s with the sidecar's defaults) or comes back: fires due
 * meanwhile wait, and then only the latest due one runs (overlap: skip coalesces). This bounds that span.
 */
export const HELD_BY_LOST_REPLICA_MS = 9_000;


/** How many missed fires of one gap the history keeps (MISSED_HISTORY_ENTRIES in the core's fire-runner). */
export const MISSED_HISTORY_ENTRIES = 10;

export interface ChaosRow {
  scenario: string;
  expected: number;
  /** Started exactly once: the app saw it, or a replica recorded a run of it (its call then failed before reaching the app). */
  ranOnce: number;
  /** Of ranOnce: started by a replica (history says so) but no request reached the app. */
  appNotReached: number;
  /** Fires started twice or more: of the cluster tasks, plus those of the overlap task (overlapTaskDuplicates). */
  duplicates: number;
  overlapTaskDuplicates: number;
  unexplainedMisses: number;
  /** Not run, inside an outage of every replica beyond the deadline, and recorded as missed (history and metric). */
  explainedMisses: number;
  /** Not run, inside such an outage, but taskino did not record it as missed (history or metric): fails the run. */
  unrecordedMisses: number;
  /** Not run because a run of the same task was still in progress when it was due (`overlap: skip`, the default). */
  overlapSkips: number;
  /**
   * Of overlapSkips: coalesced after an outage. Its next fire was due before anyone could claim it
   * (it fell in an outage that lasted, give or take the resume grace, past the next fire), and
   * `overlap: skip` then runs only the latest due fire (docs/guarantees.md, promise 4).
   */
  overlapSkipsAfterOutage: number;
  overlaps: number;
  maxLatenessMs: number;
  /** For each unexplained miss: the fault kinds injected near it (from 20 s before the fire to its deadline). */
  unexplained: Array<{ task: string; fireMs: number; near: string[] }>;
  /** Fires that ran although a replica recorded them as missed (a false history entry; diagnostic only). */
  misrecorded: number;
  /** How the explained misses were found recorded in history: own entry, pushed out by the cap, erased by a restart. */
  recordedVia: { entry: number; capped: number; erased: number };
}

export interface FaultEvent {
  kind: string;
  detail: string;
  startMs: number;
  endMs: number;
}

export interface AccountInput {
  scenario: string;
  /** Scheduled times in [from, to] are classified. */
  from: number;
  to: number;
  tasks: readonly string[];
  periodMs: number;
  deadlineMs: number;
  ledger: readonly LedgerEntry[];
  /** Windows in which no replica could reach Redis (or claims were refused while it recovered). */
  outages: ReadonlyArray<[number, number]>;
  history: HistoryArchive;
  missLog: MissLog;
  /** pid → task → last scraped taskino_fires_skipped_total{reason="missed"} of that process lifetime. */
  missedCounters: ReadonlyMap<number, ReadonlyMap<string, number>>;
  /** Redis restarts: history written between the last snapshot and the kill is erased with Redis. */
  restarts: ReadonlyArray<{ snapshotMs: number; killedMs: number }>;
  faults: readonly FaultEvent[];
  overlapTask: string;
  log?: (line: string) => void;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Classifies every fire of every cluster task in the window.
 *
 * - ran: the app's ledger has its attempt 1 (or only a retry, when attempt 1 failed before reaching
 *   the app), or a replica's history has a run of it (taskino started it and the call failed before
 *   reaching the app: at most once is about starting, the app just failed it). Two or more distinct
 *   starts (ledger attempt-1 requests, or history runs by different replicas or start times) are a
 *   duplicate.
 * - not run, skipped for overlap: a run of the same task (any fire; from the ledger's requests and the
 *   history's start and duration) was in progress when it was due, within LEASE_SLACK_MS. That is
 *   what `overlap: skip` (the default, which the cluster tasks keep) promises; counted apart, it does
 *   not fail the run. So is a fire coalesced after an outage: it fell in an outage that lasted, within
 *   RESUME_GRACE_MS, until its next fire was due, and `overlap: skip` then runs only the latest due
 *   fire (counted apart in brackets). A run that died with its replica ends, in the
 *   ledger, when its connection closed: fires skipped behind its orphaned lease afterwards are not
 *   explained by it.
 * - not run, explained: every replica was cut off from Redis (or Redis was recovering) from the fire
 *   until past its deadline (less RESUME_GRACE_MS, the claim retry backoff). It must also be recorded as missed, both
 *   (a) in history: a `missed` entry for that fire, or, since one decision keeps only the latest
 *       MISSED_HISTORY_ENTRIES of a gap, at least that many later missed entries of the task before
 *       its next run; a record that a later Redis restart erased before the archive read it counts
 *       when the recording replica's "fires missed" warning was read between the last snapshot and
 *       the kill; and
 *   (b) in the metric: for each process lifetime and task, its last scraped
 *       `taskino_fires_skipped_total{reason="missed"}` is at least the number of window fires whose
 *       missed entry (or warning) that lifetime wrote.
 *   Otherwise it is an unrecorded miss, which fails the run.
 * - not run otherwise: an unexplained miss, which fails the run.
 */
export function account(input: AccountInput): ChaosRow {
  const { from, to, tasks, periodMs, deadlineMs, ledger, history } = input;
  // At most 12 lines of each kind (the word before the first colon); the counts are in the row.
  const sink = input.log ?? ((line: string) => console.error(line));
  const logged = new Map<string, number>();
  const log = (line: string): void => {
    const kind = line.split(':')[0]!;
    const n = (logged.get(kind) ?? 0) + 1;
    logged.set(kind, n);
    if (n <= 12) sink(line);
    else if (n === 13) sink(`${kind}: more lines of this kind left out`);
  };
  const firstAttempts = new Map<string, number>();
  const retried = new Set<string>();
  let maxLatenessMs = 0;
  for (const e of ledger) {
    if (e.trigger !== 'schedule') continue;
    const key = `${e.task}@${e.scheduledMs}`;
    if (e.attempt !== 1) {
      retried.add(key);
      continue;
    }
    firstAttempts.set(key, (firstAttempts.get(key) ?? 0) + 1);
    if (e.scheduledMs >= from && e.scheduledMs <= to && tasks.includes(e.task)) maxLatenessMs = Math.max(maxLatenessMs, e.startMs - e.scheduledMs);
  }
  const row: ChaosRow = {
    scenario: input.scenario,
    expected: 0,
    ranOnce: 0,
    appNotReached: 0,
    duplicates: 0,
    overlapTaskDuplicates: 0,
    unexplainedMisses: 0,
    explainedMisses: 0,
    unrecordedMisses: 0,
    overlapSkips: 0,
    overlapSkipsAfterOutage: 0,
    overlaps: 0,
    maxLatenessMs,
    unexplained: [],
    misrecorded: 0,
    recordedVia: { entry: 0, capped: 0, erased: 0 },
  };
  const merged = mergeWindows(input.outages);
  const outagesText = (): string => merged.map(([a, b]) => `${iso(a)}..${iso(b)}`).join(', ');
  const explained = (fire: number): boolean => merged.some(([a, b]) => a <= fire && fire + deadlineMs <= b + RESUME_GRACE_MS);
  // Claims held back until the next fire was due, by an outage or by a lost replica holding the
  // task's lease: only the latest due fire runs, and it must have run.
  const held = [
    ...merged,
    ...input.faults.filter((f) => f.kind === 'kill' || f.kind === 'netcut').map((f): [number, number] => [f.startMs, Math.max(f.endMs, f.startMs + HELD_BY_LOST_REPLICA_MS)]),
  ];
  const ranLater = (task: string, fire: number, until: number): boolean => {
    for (let later = fire + periodMs; later <= until + deadlineMs; later += periodMs) {
      const runs = runsOf(task, later);
      if (Math.max(runs.ledger, runs.history) > 0) return true;
    }
    return false;
  };
  const coalesced = (task: string, fire: number): boolean =>
    held.some(([a, b]) => a <= fire + RESUME_GRACE_MS && fire + periodMs <= b + RESUME_GRACE_MS && ranLater(task, fire, b + RESUME_GRACE_MS));
  const first = Math.ceil(from / periodMs) * periodMs;
  // Run intervals per task, from the ledger (first request to last request end, all attempts) and
  // history, each with how late the run started for its own fire.
  const intervals = new Map<string, Array<{ start: number; end: number; lateMs: number }>>();
  const addInterval = (task: string, start: number, end: number, fire: number): void => {
    intervals.set(task, [...(intervals.get(task) ?? []), { start, end, lateMs: start - fire }]);
  };
  const spans = new Map<string, { task: string; fire: number; start: number; end: number }>();
  for (const e of ledger) {
    if (!tasks.includes(e.task)) continue;
    const key = `${e.task}@${e.scheduledMs}@${e.trigger}`;
    const span = spans.get(key);
    const end = e.endMs ?? Infinity;
    spans.set(key, span ? { ...span, start: Math.min(span.start, e.startMs), end: Math.max(span.end, end) } : { task: e.task, fire: e.scheduledMs, start: e.startMs, end });
  }
  for (const span of spans.values()) addInterval(span.task, span.start, span.end, span.fire);
  for (const task of tasks) {
    for (const r of history.allRuns(task)) {
      if (r.startedAt === null) continue;
      const start = Date.parse(r.startedAt);
      addInterval(task, start, start + (r.durationMs ?? 0), Date.parse(r.scheduledAt));
    }
  }
  const runningAt = (task: string, fire: number): { lateMs: number } | undefined =>
    (intervals.get(task) ?? []).find(({ start, end }) => start - LEASE_SLACK_MS < fire && fire < end + LEASE_SLACK_MS);
  const runsOf = (task: string, fire: number): { ledger: number; history: number } => {
    const key = `${task}@${fire}`;
    return { ledger: firstAttempts.get(key) ?? (retried.has(key) ? 1 : 0), history: history.runs(task, fire).length };
  };
  /** Metric check: (pid, task) → window fires that lifetime recorded as missed. */
  const owed = new Map<string, number[]>();
  const owe = (pid: number | undefined, task: string, fire: number): void => {
    const key = `${pid ?? 'unknown'}\u0000${task}`;
    owed.set(key, [...(owed.get(key) ?? []), fire]);
  };

  for (const task of tasks) {
    for (let fire = first; fire <= to; fire += periodMs) {
      row.expected++;
      const runs = runsOf(task, fire);
      const started = Math.max(runs.ledger, runs.history);
      const missedRecord = history.missed(task, fire);
      if (started > 0 && missedRecord) {
        row.misrecorded++;
        log(`misrecorded: ${task} at ${iso(fire)} ran but ${missedRecord.replica} recorded it as missed`);
      }
      if (started === 1) {
        row.ranOnce++;
        if (runs.ledger === 0) row.appNotReached++;
        continue;
      }
      if (started > 1) {
        row.duplicates++;
        log(`duplicate: ${task} at ${iso(fire)}: ${runs.ledger} requests reached the app; history: ${JSON.stringify(history.runs(task, fire))}`);
        continue;
      }
      if (!explained(fire) && coalesced(task, fire)) {
        row.overlapSkips++;
        row.overlapSkipsAfterOutage++;
        continue;
      }
      const holder = explained(fire) ? undefined : runningAt(task, fire);
      if (holder) {
        row.overlapSkips++;
        continue;
      }
      if (!explained(fire)) {
        row.unexplainedMisses++;
        const near = input.faults.filter((f) => f.endMs >= fire - 20_000 && f.startMs <= fire + deadlineMs);
        row.unexplained.push({ task, fireMs: fire, near: [...new Set(near.map((f) => f.kind))] });
        log(
          `unexplained miss: ${task} at ${iso(fire)}; recorded: ${JSON.stringify(history.all(task, fire))}; faults near: ${near.map((f) => `${f.kind}(${f.detail}) ${iso(f.startMs)}..${iso(f.endMs)}`).join(', ') || 'none'}; outages: ${outagesText()}`,
        );
        continue;
      }
      // Explained by an outage: taskino must have recorded it as missed.
      const recorder = recordedMissed(input, task, fire, (f) => Math.max(runsOf(task, f).ledger, runsOf(task, f).history) > 0);
      if (!recorder) {
        row.unrecordedMisses++;
        log(`unrecorded miss: ${task} at ${iso(fire)} (inside an outage) has no missed entry in history nor a "fires missed" warning erased by a restart; outages: ${outagesText()}`);
        continue;
      }
      owe(recorder.pid, task, fire);
      row.recordedVia[recorder.via]++;
      row.explainedMisses++;
    }
  }

  // (b) the metric of each recording lifetime covers the fires it recorded.
  for (const [key, fires] of owed) {
    const [pidText, task] = key.split('\u0000') as [string, string];
    const have = input.missedCounters.get(Number(pidText))?.get(task) ?? 0;
    if (have >= fires.length) continue;
    const short = fires.length - have;
    row.explainedMisses -= short;
    row.unrecordedMisses += short;
    log(`unrecorded miss: replica pid ${pidText} recorded ${fires.length} missed fires of ${task} in the window (${fires.map(iso).join(', ')}) but its last scraped taskino_fires_skipped_total{reason="missed"} is ${have}`);
  }

  // The overlap task's fires are not classified (most are skipped by design), but none may run twice.
  const slowStarts = new Map<number, number>();
  for (const e of ledger) if (e.task === input.overlapTask && e.trigger === 'schedule' && e.attempt === 1) slowStarts.set(e.scheduledMs, (slowStarts.get(e.scheduledMs) ?? 0) + 1);
  for (const [fire, count] of slowStarts) {
    const runs = Math.max(count, history.runs(input.overlapTask, fire).length);
    if (fire < from || fire > to || runs < 2) continue;
    row.duplicates++;
    row.overlapTaskDuplicates++;
    log(`duplicate: ${input.overlapTask} at ${iso(fire)}: ${count} requests reached the app; history: ${JSON.stringify(history.runs(input.overlapTask, fire))}`);
  }

  // overlap: skip: no two runs of the overlap task may overlap in the app's ledger.
  const slow = ledger.filter((e) => e.task === input.overlapTask).sort((a, b) => a.startMs - b.startMs);
  for (let i = 1; i < slow.length; i++) {
    if (slow[i]!.startMs < (slow[i - 1]!.endMs ?? Infinity) && slow[i]!.attempt === 1) {
      row.overlaps++;
      log(`overlap: ${JSON.stringify(slow[i - 1])} then ${JSON.stringify(slow[i])}; outages: ${outagesText()}`);
    }
  }
  return row;
}

/**
 * Who recorded a fire as missed: the pid of the lifetime that wrote its missed history entry, of the
 * one whose entries of the same gap pushed it out (more than MISSED_HISTORY_ENTRIES in one gap), or
 * of the one whose "fires missed" warning came just before a Redis restart erased the history.
 * Undefined if nobody did.
 */
function recordedMissed(input: AccountInput, task: string, fire: number, ran: (fire: number) => boolean): { pid: number | undefined; via: 'entry' | 'capped' | 'erased' } | undefined {
  const { history, missLog, periodMs } = input;
  const own = history.missed(task, fire);
  if (own) return { pid: pidOfReplicaId(own.replica), via: 'entry' };
  // The gap this fire belongs to ends at the task's next run.
  let next = fire + periodMs;
  while (next <= input.to + 60_000 && !ran(next)) next += periodMs;
  const later = history.missedBetween(task, fire, next);
  if (later.length >= MISSED_HISTORY_ENTRIES) return { pid: pidOfReplicaId(later[0]!.record.replica), via: 'capped' };
  const line = missLog.covering(task, fire, periodMs);
  if (line && input.restarts.some((r) => line.seenMs >= r.snapshotMs - 100 && line.seenMs <= r.killedMs + 100)) return { pid: line.pid, via: 'erased' };
  return undefined;
}

/** Overlapping or touching outage windows merge: back-to-back outages are one long outage. */
export function mergeWindows(windows: ReadonlyArray<[number, number]>): Array<[number, number]> {
  const merged: Array<[number, number]> = [];
  for (const [a, b] of [...windows].sort((x, y) => x[0] - y[0])) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

export function combine(scenario: string, rows: readonly ChaosRow[]): ChaosRow {
  const sum = (f: (r: ChaosRow) => number): number => rows.reduce((n, r) => n + f(r), 0);
  return {
    scenario,
    expected: sum((r) => r.expected),
    ranOnce: sum((r) => r.ranOnce),
    appNotReached: sum((r) => r.appNotReached),
    duplicates: sum((r) => r.duplicates),
    overlapTaskDuplicates: sum((r) => r.overlapTaskDuplicates),
    unexplainedMisses: sum((r) => r.unexplainedMisses),
    explainedMisses: sum((r) => r.explainedMisses),
    unrecordedMisses: sum((r) => r.unrecordedMisses),
    overlapSkips: sum((r) => r.overlapSkips),
    overlapSkipsAfterOutage: sum((r) => r.overlapSkipsAfterOutage),
    overlaps: sum((r) => r.overlaps),
    maxLatenessMs: Math.max(0, ...rows.map((r) => r.maxLatenessMs)),
    unexplained: rows.flatMap((r) => r.unexplained),
    misrecorded: sum((r) => r.misrecorded),
    recordedVia: { entry: sum((r) => r.recordedVia.entry), capped: sum((r) => r.recordedVia.capped), erased: sum((r) => r.recordedVia.erased) },
  };
}

export function failed(row: ChaosRow): boolean {
  return row.duplicates > 0 || row.unexplainedMisses > 0 || row.unrecordedMisses > 0 || row.overlaps > 0;
}

export function table(rows: readonly ChaosRow[]): string {
  const header = '| scenario | fires expected | ran once | (call never reached the app) | duplicates | unexplained misses | explained misses (recorded) | unrecorded misses | skipped: overlap (coalesced after an outage) | overlaps | max lateness (ms) |';
  const lines = rows.map((r) => `| ${r.scenario} | ${r.expected} | ${r.ranOnce} | ${r.appNotReached} | ${r.duplicates} | ${r.unexplainedMisses} | ${r.explainedMisses} | ${r.unrecordedMisses} | ${r.overlapSkips} (${r.overlapSkipsAfterOutage}) | ${r.overlaps} | ${r.maxLatenessMs} |`);
  return [header, '|---|---|---|---|---|---|---|---|---|---|---|', ...lines].join('\n');
}
