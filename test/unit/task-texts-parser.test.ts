import { describe, expect, it } from 'vitest';
import { TaskTextsParser } from '../../src/sidecar/config/task-sources.js';
import type { LoadContext } from '../../src/sidecar/config/task-file.js';

const env = { APP_TOKEN: 'secret' };
const context = (appUrl = 'http://127.0.0.1:8080'): LoadContext => ({ env, appUrl: new URL(appUrl), allowHosts: [] });
const file = (every: string) => [{ file: 'tasks.yaml', text: `tasks:\n  - {name: report, every: ${every}, http: {path: /report}}\n` }];

// The sidecar re-reads its task files every few seconds; only a change may reach the scheduler,
// and a change must never be hidden by the previous result.
describe('re-reading unchanged task files', () => {
  it('gives the previous result while the files and the context are the same', () => {
    const parser = new TaskTextsParser();
    const first = parser.merge(file('10s'), context(), 1);
    expect(first.tasks.map((t) => t.trigger)).toMatchObject([{ kind: 'every', everyMs: 10_000 }]);
    expect(parser.merge(file('10s'), context(), 1)).toBe(first);
  });

  it('parses again when a file changes, and when the app URL does', () => {
    const parser = new TaskTextsParser();
    const first = parser.merge(file('10s'), context(), 1);
    const edited = parser.merge(file('20s'), context(), 2);
    expect(edited.tasks.map((t) => t.trigger)).toMatchObject([{ kind: 'every', everyMs: 20_000 }]);
    expect(edited.digest).not.toBe(first.digest);
    const moved = parser.merge(file('20s'), context('http://127.0.0.1:9090'), 2);
    expect(moved).not.toBe(edited);
  });

  it('keeps reporting a broken file until it is fixed', () => {
    const parser = new TaskTextsParser();
    const broken = [{ file: 'tasks.yaml', text: 'tasks:\n  - {name: report, every: often}\n' }];
    expect(parser.merge(broken, context(), 1).problems.length).toBeGreaterThan(0);
    expect(parser.merge(broken, context(), 1).problems.length).toBeGreaterThan(0);
    expect(parser.merge(file('10s'), context(), 2).problems).toEqual([]);
  });
});
