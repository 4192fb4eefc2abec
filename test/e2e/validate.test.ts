import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../support/cli.js';

const corpus = join(ROOT, 'test/fixtures/invalid');
const files = readdirSync(corpus).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();

function expectation(file: string): RegExp {
  const path = join(corpus, file);
  const text = file.endsWith('.json') ? readFileSync(`${path}.expect`, 'utf8') : (/^# expect: (.*)$/m.exec(readFileSync(path, 'utf8'))?.[1] ?? '');
  return new RegExp(text.trim());
}

describe('taskino validate (the real binary)', () => {
  it(`the corpus holds at least 25 invalid files (${files.length})`, () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
  });

  it.each(files)('rejects %s with exit 1 and names file, task and field', async (file) => {
    const result = await runCli(['validate', join(corpus, file)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(expectation(file));
    expect(result.stderr).toContain(file);
  });

  it('lists every problem of a file, not just the first', async () => {
    const result = await runCli(['validate', join(corpus, 'negative-timeout.yaml'), join(corpus, 'bad-zone.yaml'), join(corpus, 'bad-method.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^invalid: 3 problems/);
    expect(result.stderr.trim().split('\n')).toHaveLength(4);
  });

  it('accepts the example task file', async () => {
    const result = await runCli(['validate', join(ROOT, 'examples/tasks.yaml')], { env: { DEMO_TOKEN: 'x' } });
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: 'valid: 4 tasks in 1 file\n' });
  });

  it('checks hosts against --allow-host and the app URL', async () => {
    const file = join(corpus, 'disallowed-host.yaml');
    expect((await runCli(['validate', file, '--allow-host', 'evil.example.com'])).code).toBe(0);
    expect((await runCli(['validate', file], { env: { TASKINO_ALLOW_HOST: 'evil.example.com' } })).code).toBe(0);
  });

  it('previews fire times offline with next, and exits 3 for an unknown task', async () => {
    const file = join(ROOT, 'examples/tasks.yaml');
    const next = await runCli(['next', 'heartbeat', '--config', file, '--count', '3'], { env: { DEMO_TOKEN: 'x' } });
    expect(next.code).toBe(0);
    const times = next.stdout.trim().split('\n').map(Date.parse);
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBe(2000);
    const unknown = await runCli(['next', 'nope', '--config', file], { env: { DEMO_TOKEN: 'x' } });
    expect([unknown.code, unknown.stderr]).toEqual([3, 'taskino: no task named "nope" is scheduled here\n']);
  });

  it('answers usage errors with exit 2', async () => {
    expect((await runCli(['validate'])).code).toBe(2);
    expect((await runCli(['frobnicate'])).stderr).toMatch(/unknown command "frobnicate"/);
    const bad = await runCli(['list', '--bogus']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/Unknown option '--bogus'/)]);
    expect((await runCli(['--version'])).stdout).toMatch(/^taskino \d+\.\d+\.\d+\n$/);
  });
});
