import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileTrigger } from '../../src/index.js';
import { CronSchedule } from '../../src/core/triggers/cron.js';
import { wallOf, wallToMs } from '../../src/core/triggers/zoned-time.js';
import { parseTaskFile } from '../../src/sidecar/config/task-file.js';

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'America/Sao_Paulo', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham'];
// Instants a few hours before real DST transitions (and one ordinary day).
const AROUND = ['2026-03-29T00:00:00Z', '2026-10-25T00:00:00Z', '2026-03-08T05:00:00Z', '2026-11-01T04:00:00Z', '2026-04-05T13:00:00Z', '2026-10-04T14:00:00Z', '2026-06-15T00:00:00Z'].map(Date.parse);

const field = (values: number[]) => fc.oneof(
  fc.constant('*'),
  fc.constantFrom(...values).map(String),
  fc.tuple(fc.constantFrom(...values), fc.constantFrom(...values)).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
  fc.integer({ min: 2, max: 30 }).map((step) => `*/${step}`),
  fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 4 }).map((list) => list.join(',')),
);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const cronExpr = fc.tuple(field(range(0, 59)), field(range(0, 23)), fc.constant('*'), fc.constant('*'), fc.constant('*')).map((f) => f.join(' '));

/**
 * The DST rule, brute force: walk minute by minute; a wall time fires at its first occurrence;
 * wall times skipped by a spring-forward jump fire once, at the first instant after the jump.
 */
function oracle(expression: string, zone: string, fromMs: number, toMs: number): number[] {
  const schedule = new CronSchedule(expression, zone);
  const fires: number[] = [];
  const seen = new Set<number>();
  let previousWall = wallToMs(wallOf(fromMs, zone));
  for (let t = fromMs + 60_000; t <= toMs; t += 60_000) {
    const wall = wallToMs(wallOf(t, zone));
    let fire = false;
    for (let w = previousWall + 60_000; w <= wall; w += 60_000) {
      if (!seen.has(w) && schedule.matchesWall(wallOf(Date.UTC(1970, 0, 1) + w, 'UTC'))) fire = true;
      seen.add(w);
    }
    if (fire) fires.push(t);
    previousWall = Math.max(previousWall, wall);
  }
  return fires;
}

describe('trigger math (property-based)', () => {
  it('cron matches a brute-force oracle of the DST rule around real transitions, in many zones', () => {
    fc.assert(
      fc.property(cronExpr, fc.constantFrom(...ZONES), fc.constantFrom(...AROUND), (expression, zone, around) => {
        const from = around - 3_600_000 * 6;
        const to = around + 3_600_000 * 30;
        const trigger = compileTrigger({ kind: 'cron', expression, timezone: zone });
        const fires: number[] = [];
        for (let t = trigger.next(from); t !== undefined && t <= to; t = trigger.next(t)) fires.push(t);
        expect(fires).toEqual(oracle(expression, zone, from, to));
      }),
      { numRuns: 60 },
    );
  });

  it('next fire is strictly increasing and identical whoever asks from which instant', () => {
    fc.assert(
      fc.property(cronExpr, fc.constantFrom(...ZONES), fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }), fc.integer({ min: 0, max: 3_600_000 }), (expression, zone, start, offset) => {
        const trigger = compileTrigger({ kind: 'cron', expression, timezone: zone });
        let t = start;
        const fires: number[] = [];
        for (let i = 0; i < 8; i++) {
          const next = trigger.next(t);
          if (next === undefined) break;
          expect(next).toBeGreaterThan(t);
          fires.push(next);
          t = next;
        }
        // A replica asking from a later instant (inside the sequence) continues the same sequence.
        const later = start + offset;
        const resumed = trigger.next(later);
        expect(resumed).toBe(fires.find((f) => f > later) ?? resumed);
      }),
      { numRuns: 150 },
    );
  });

  it('every: fires are on the grid, strictly increasing, and the same in any zone', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 86_400_000 }), fc.integer({ min: 0, max: 2e12 }), fc.integer({ min: 0, max: 2e12 }), (everyMs, startAtMs, after) => {
        const trigger = compileTrigger({ kind: 'every', everyMs, startAtMs });
        const next = trigger.next(after)!;
        expect(next).toBeGreaterThan(after);
        expect((next - startAtMs) % everyMs).toBe(0);
        expect(next - everyMs <= after || next === startAtMs).toBe(true);
      }),
    );
  });

  it('UTC aliases agree', () => {
    fc.assert(
      fc.property(cronExpr, fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }), (expression, at) => {
        const a = compileTrigger({ kind: 'cron', expression, timezone: 'UTC' }).next(at);
        expect(compileTrigger({ kind: 'cron', expression, timezone: 'Etc/UTC' }).next(at)).toBe(a);
        expect(compileTrigger({ kind: 'cron', expression, timezone: 'Etc/GMT' }).next(at)).toBe(a);
      }),
      { numRuns: 50 },
    );
  });
});

const context = { env: { PRESENT: 'x' }, appUrl: new URL('http://127.0.0.1:8080'), allowHosts: [] };
const taskish = fc.record(
  {
    name: fc.oneof(fc.constantFrom('a', 'job-1', 'Bad Name', ''), fc.string()),
    cron: fc.oneof(fc.constantFrom('* * * * *', '61 * * * *', '*/5 * * * * *', '@daily'), fc.string()),
    every: fc.oneof(fc.constantFrom('1s', '0s', '-1s', 'soon', 5), fc.anything()),
    at: fc.oneof(fc.constantFrom('2026-12-01T03:00:00Z', 'tomorrow'), fc.anything()),
    timezone: fc.oneof(fc.constantFrom('UTC', 'Europe/Berlin', 'Mars/Base'), fc.anything()),
    timeout: fc.oneof(fc.constantFrom('30s', '-5s', 0, '1h'), fc.anything()),
    retries: fc.oneof(fc.integer({ min: -3, max: 200 }), fc.anything()),
    overlap: fc.oneof(fc.constantFrom('skip', 'allow', 'sometimes'), fc.anything()),
    http: fc.oneof(
      fc.record({ path: fc.constantFrom('/x', 'x', '/${PRESENT}', '/${MISSING}'), method: fc.constantFrom('GET', 'post', 'FETCH') }, { requiredKeys: [] }),
      fc.record({ url: fc.constantFrom('http://127.0.0.1:8080/x', 'http://evil.example/x', 'ftp://x', 'not a url') }),
      fc.anything(),
    ),
    unknownField: fc.anything(),
  },
  { requiredKeys: [] },
);

describe('task-file parser (property-based)', () => {
  it('any structured input either loads or gives problems that name the file and, inside a task, the task; it never throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.record({ tasks: fc.array(taskish, { maxLength: 4 }), defaults: fc.option(fc.anything()) }, { requiredKeys: ['tasks'] }), fc.anything()), (document) => {
        const result = parseTaskFile(JSON.stringify(document) ?? 'null', 'tasks.json', context);
        if (result.problems.length === 0) {
          expect(result.tasks.length).toBe((document as { tasks: unknown[] }).tasks.length);
          return;
        }
        expect(result.tasks).toEqual([]);
        for (const p of result.problems) {
          expect(p.file).toBe('tasks.json');
          expect(p.message.length).toBeGreaterThan(5);
          if (p.task !== undefined) expect(p.task.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('any text either loads or gives problems; it never throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('tasks:\n  - name: a\n    every: [\n', 'tasks: !!binary x', '&a [*a]', 'tasks:\n  - *x')), (text) => {
        const result = parseTaskFile(text, 'tasks.yaml', context);
        expect(result.problems.length > 0 || Array.isArray(result.tasks)).toBe(true);
        for (const p of result.problems) expect(p.message).toMatch(/\S/);
      }),
      { numRuns: 500 },
    );
  });
});
