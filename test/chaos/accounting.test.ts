import { describe, expect, it } from 'vitest';
import { account, MISSED_HISTORY_ENTRIES, type AccountInput } from '../../bench/chaos/accounting.js';
import type { LedgerEntry } from '../../bench/chaos/ledger-app.js';
import { HistoryArchive, MissLog } from '../../bench/chaos/records.js';

// The chaos harness's accounting rules on hand-made inputs (no processes): what counts as ran,
// duplicate, explained and recorded, unrecorded, skipped for overlap, unexplained.
const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const s = (n: number): number => T0 + n * 1000;
const A = 'host-101-aaaaaa'; // replica ids: <hostname>-<pid>-<random>
const B = 'host-202-bbbbbb';

function request(task: string, fire: number, attempt = 1, start = fire + 5, end = start + 10): LedgerEntry {
  return { task, scheduledMs: fire, attempt, trigger: 'schedule', startMs: start, endMs: end };
}

function historyWith(records: Array<Record<string, unknown>>): HistoryArchive {
  const archive = new HistoryArchive(() => ['c-0']);
  for (const r of records) archive.add(JSON.stringify({ trigger: 'schedule', attempts: 1, durationMs: 10, ...r }));
  return archive;
}
const ran = (fire: number, replica = A, outcome = 'success'): Record<string, unknown> => ({ task: 'c-0', scheduledAt: new Date(fire).toISOString(), startedAt: new Date(fire + 3).toISOString(), outcome, replica });
const missed = (fire: number, replica = A): Record<string, unknown> => ({ task: 'c-0', scheduledAt: new Date(fire).toISOString(), startedAt: null, durationMs: null, outcome: 'missed', attempts: 0, replica });

function input(over: Partial<AccountInput>): AccountInput {
  return {
    scenario: 't',
    from: s(0),
    to: s(0),
    tasks: ['c-0'],
    periodMs: 1000,
    deadlineMs: 10_000,
    ledger: [],
    outages: [],
    history: historyWith([]),
    missLog: new MissLog(),
    missedCounters: new Map(),
    restarts: [],
    faults: [],
    overlapTask: 'slow',
    log: () => {},
    ...over,
  };
}

describe('chaos accounting', () => {
  it('a fire the app saw once ran once; one a replica started whose call never reached the app ran once too', () => {
    const row = account(input({ to: s(1), ledger: [request('c-0', s(0))], history: historyWith([ran(s(1), A, 'failure')]) }));
    expect(row).toMatchObject({ expected: 2, ranOnce: 2, appNotReached: 1, duplicates: 0, unexplainedMisses: 0 });
  });

  it('two starts are a duplicate, whether the app saw both or history has runs by two replicas', () => {
    const row = account(input({ to: s(1), ledger: [request('c-0', s(0)), request('c-0', s(0))], history: historyWith([ran(s(1), A), ran(s(1), B)]) }));
    expect(row).toMatchObject({ expected: 2, duplicates: 2 });
    // The same run written twice (a retried history write) is one run.
    const again = historyWith([ran(s(0))]);
    again.add(JSON.stringify({ trigger: 'schedule', attempts: 1, durationMs: 10, ...ran(s(0)) }));
    expect(account(input({ history: again }))).toMatchObject({ ranOnce: 1, duplicates: 0 });
  });

  it('a miss inside an outage longer than the deadline is explained only when history and the metric recorded it', () => {
    const outages: Array<[number, number]> = [[s(-1), s(12)]];
    const recorded = account(input({ outages, history: historyWith([missed(s(0))]), missedCounters: new Map([[101, new Map([['c-0', 1]])]]) }));
    expect(recorded).toMatchObject({ explainedMisses: 1, unrecordedMisses: 0 });
    const noHistory = account(input({ outages, missedCounters: new Map([[101, new Map([['c-0', 1]])]]) }));
    expect(noHistory).toMatchObject({ explainedMisses: 0, unrecordedMisses: 1 });
    const noMetric = account(input({ outages, history: historyWith([missed(s(0))]), missedCounters: new Map([[101, new Map([['c-0', 0]])]]) }));
    expect(noMetric).toMatchObject({ explainedMisses: 0, unrecordedMisses: 1 });
    // The metric of the process that wrote the entry counts, not another one's.
    const otherProcess = account(input({ outages, history: historyWith([missed(s(0))]), missedCounters: new Map([[202, new Map([['c-0', 5]])]]) }));
    expect(otherProcess).toMatchObject({ unrecordedMisses: 1 });
  });

  it('a gap longer than the history keeps counts as recorded when enough later fires of it are', () => {
    const gap = MISSED_HISTORY_ENTRIES + 3;
    const entries = Array.from({ length: MISSED_HISTORY_ENTRIES }, (_, i) => missed(s(3 + i)));
    const row = account(input({ to: s(gap - 1), outages: [[s(-1), s(gap + 11)]], history: historyWith(entries), missedCounters: new Map([[101, new Map([['c-0', gap]])]]) }));
    expect(row).toMatchObject({ expected: gap, explainedMisses: gap, unrecordedMisses: 0, recordedVia: { entry: MISSED_HISTORY_ENTRIES, capped: 3, erased: 0 } });
  });

  it('a missed entry erased by a Redis restart counts when the replica warned just before the kill', () => {
    const missLog = new MissLog();
    missLog.feed(101, JSON.stringify({ msg: 'fires missed: no replica could start them within their deadline', task: 'c-0', count: 2, latest: new Date(s(1)).toISOString() }));
    const seen = missLog.lines[0]!.seenMs;
    const base = { to: s(1), outages: [[s(-1), s(12)]] as Array<[number, number]>, missLog, missedCounters: new Map([[101, new Map([['c-0', 2]])]]) };
    expect(account(input({ ...base, restarts: [{ snapshotMs: seen - 5, killedMs: seen + 2 }] }))).toMatchObject({ explainedMisses: 2, recordedVia: { erased: 2 } });
    expect(account(input({ ...base, restarts: [{ snapshotMs: seen + 5_000, killedMs: seen + 5_002 }] }))).toMatchObject({ unrecordedMisses: 2 });
  });

  it('a fire due while a run of the task was in progress is an overlap skip; one without any run is unexplained', () => {
    const longRun = request('c-0', s(-1), 1, s(-1) + 5, s(1) + 500); // hung until after s(1)
    const row = account(input({ to: s(2), ledger: [longRun, request('c-0', s(2))] }));
    expect(row).toMatchObject({ expected: 3, overlapSkips: 2, ranOnce: 1, unexplainedMisses: 0 });
    const dead = account(input({ to: s(1), faults: [{ kind: 'kill', detail: 'r1', startMs: s(-3), endMs: s(-2) }] }));
    expect(dead).toMatchObject({ unexplainedMisses: 2 });
    expect(dead.unexplained[0]).toMatchObject({ task: 'c-0', near: ['kill'] });
  });

  it('fires held back by an outage until their next fire was due are coalesced (only the latest runs); without a later run they are unexplained', () => {
    const outages: Array<[number, number]> = [[s(0) - 200, s(3)]];
    const row = account(input({ to: s(4), outages, ledger: [request('c-0', s(4), 1, s(3) + 300)] }));
    expect(row).toMatchObject({ expected: 5, ranOnce: 1, overlapSkips: 4, overlapSkipsAfterOutage: 4, unexplainedMisses: 0 });
    expect(account(input({ to: s(4), outages }))).toMatchObject({ overlapSkipsAfterOutage: 0, unexplainedMisses: 5 });
  });

  it('overlapping runs of the overlap-skip task are counted', () => {
    const slow = (start: number, end: number): LedgerEntry => ({ task: 'slow', scheduledMs: start, attempt: 1, trigger: 'schedule', startMs: start, endMs: end });
    expect(account(input({ ledger: [request('c-0', s(0)), slow(s(0), s(0) + 1500), slow(s(1), s(1) + 1500)] })).overlaps).toBe(1);
    expect(account(input({ ledger: [request('c-0', s(0)), slow(s(0), s(0) + 900), slow(s(1), s(1) + 900)] })).overlaps).toBe(0);
  });

  it('a fire of the overlap task started twice is a duplicate too', () => {
    const slow = (fire: number, start: number): LedgerEntry => ({ task: 'slow', scheduledMs: fire, attempt: 1, trigger: 'schedule', startMs: start, endMs: start + 1500 });
    const row = account(input({ ledger: [request('c-0', s(0)), slow(s(0), s(0) + 10), slow(s(0), s(0) + 2000)] }));
    expect(row).toMatchObject({ duplicates: 1, overlapTaskDuplicates: 1, ranOnce: 1 });
  });
});
