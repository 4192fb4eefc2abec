import { mkdtempSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, SidecarProcess } from '../support/cli.js';
import { CountingApp } from '../support/counting-app.js';
import { waitFor } from '../support/wait.js';

const NEVER = '"0 0 1 1 *"';

let app: CountingApp;
let dir: string;
let socket: string;
let sidecar: SidecarProcess;
let port = 0;
beforeAll(async () => {
  app = await CountingApp.start();
  dir = mkdtempSync(join(tmpdir(), 'taskino-sidecar-'));
  socket = join(dir, 'admin.sock');
  // Tasks that only run when triggered (their cron fires once a year), and a ticker that always runs.
  writeFileSync(
    join(dir, 'tasks.yaml'),
    `defaults:
  timeout: 1s
tasks:
  - {name: ok, cron: ${NEVER}, http: {path: /ok}}
  - {name: secret, cron: ${NEVER}, http: {path: /ok, method: POST, headers: {Authorization: "Bearer \${APP_TOKEN}"}}}
  - {name: fails, cron: ${NEVER}, retries: 2, http: {path: /fail}}
  - {name: hangs, cron: ${NEVER}, http: {path: /hang}}
  - {name: resets, cron: ${NEVER}, http: {path: /reset}}
  - {name: huge, cron: ${NEVER}, http: {path: /huge}}
  - {name: refused, cron: ${NEVER}, http: {url: "http://127.0.0.1:9/nothing-listens-here"}}
  - {name: ticker, every: 500ms, http: {path: /ok}}
`,
  );
  sidecar = SidecarProcess.start('sidecar', ['--config', join(dir, 'tasks.yaml'), '--app-url', app.url, '--http-port', '0', '--admin-socket', socket, '--allow-host', '127.0.0.1:9'], {
    APP_TOKEN: 'tok-123-secret',
  });
  const running = await sidecar.waitForLog((l) => l.msg === 'taskino is running');
  port = Number(String(running.metrics).replace(/\D/g, ''));
});
afterAll(async () => {
  await sidecar?.stop();
  await app.stop();
});

const cli = (...args: string[]) => runCli([...args, '--admin-socket', socket]);

describe('taskino run with the memory store (real binary)', () => {
  it('trigger waits for the outcome: exit 0 on success, with status, HTTP code, duration and replica', async () => {
    const result = await cli('trigger', 'ok');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok: success \(HTTP 200, \d+ ms, attempt 1\) on replica \S+\n$/);
    const call = app.callsOf('ok').at(-1)!;
    expect(call).toMatchObject({ trigger: 'manual', attempt: 1 });
    expect(call.idempotencyKey).toMatch(new RegExp(`^ok@${call.scheduled.replace(/\./g, '\\.')}/manual-[0-9a-f]{16}$`)); // a manual run's own key
  });

  it('trigger exits 1 on failure (after the retries), 3 for an unknown task, 4 when no sidecar listens', async () => {
    const failed = await cli('trigger', 'fails');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^fails: failure \(HTTP 500, \d+ ms, attempt 3\)/);
    expect(failed.stdout).toMatch(/unexpected status 500 \(expected any 2xx\)/);
    expect(app.callsOf('fails').map((c) => c.attempt)).toEqual([1, 2, 3]);
    const unknown = await cli('trigger', 'nope');
    expect([unknown.code, unknown.stderr]).toEqual([3, 'taskino: no task named "nope" is scheduled here\n']);
    const unreachable = await runCli(['trigger', 'ok', '--admin-socket', join(dir, 'nobody.sock')]);
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toMatch(/cannot reach the taskino sidecar at .*nobody\.sock \(ENOENT\)/);
  });

  it('ends a refused connection, a hung app, a reset and a 10 MB body each as a clear outcome, and goes on', async () => {
    const outcomes = Object.fromEntries(
      await Promise.all(['refused', 'hangs', 'resets', 'huge'].map(async (name) => [name, JSON.parse((await cli('trigger', name, '--json')).stdout)])),
    );
    expect(outcomes.refused).toMatchObject({ ran: true, outcome: 'failure', error: expect.stringMatching(/connection refused/) });
    expect(outcomes.hangs).toMatchObject({ ran: true, outcome: 'timeout', error: expect.stringMatching(/did not finish within its timeout of 1000 ms/) });
    expect(outcomes.resets).toMatchObject({ ran: true, outcome: 'failure', error: expect.stringMatching(/reset|socket|closed/i) });
    expect(outcomes.huge).toMatchObject({ ran: true, outcome: 'success', status: 200 });
    const history = JSON.parse((await cli('history', 'hangs', '--json')).stdout) as Array<{ outcome: string }>;
    expect(history[0]?.outcome).toBe('timeout');
    // The scheduler kept firing the ticker throughout.
    const before = app.callsOf('ticker').length;
    await waitFor(() => app.callsOf('ticker').length >= before + 2, { timeoutMs: 3_000, what: 'the ticker to keep firing' });
  });

  it('sends ${VAR} secrets to the app but never into logs, history or metrics', async () => {
    expect((await cli('trigger', 'secret')).code).toBe(0);
    expect(app.callsOf('secret').at(-1)?.authorization).toBe('Bearer tok-123-secret');
    const history = (await cli('history', 'secret', '--json')).stdout;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const text of [history, metrics, JSON.stringify(sidecar.logs), sidecar.stderr]) expect(text).not.toContain('tok-123-secret');
  });

  it('serves /metrics in Prometheus text format with every metric of the design, /healthz and /readyz', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const families = parsePrometheus(await response.text());
    const names = new Set(families.map((f) => f.name));
    for (const name of [
      'taskino_runs_total',
      'taskino_run_duration_seconds',
      'taskino_fire_lateness_seconds',
      'taskino_fires_skipped_total',
      'taskino_claims_total',
      'taskino_retries_total',
      'taskino_task_next_fire_timestamp_seconds',
      'taskino_task_last_success_timestamp_seconds',
      'taskino_task_running',
      'taskino_task_paused',
      'taskino_config_reloads_total',
      'taskino_config_generation',
      'taskino_redis_errors_total',
      'taskino_clock_offset_seconds',
      'process_cpu_seconds_total',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(names, name).toContain(name);
    }
    const runs = families.find((f) => f.name === 'taskino_runs_total')!;
    expect(runs.metrics.find((m) => m.labels?.task === 'fails' && m.labels.outcome === 'failure' && m.labels.trigger === 'manual')?.value).toBe('1');
    expect(families.find((f) => f.name === 'taskino_retries_total')!.metrics.find((m) => m.labels?.task === 'fails')?.value).toBe('2');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, 'ready\n']);
  });

  it('lists tasks as an aligned table and pauses and resumes them', async () => {
    const listed = await cli('list');
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TASK\s+SCHEDULE\s+SCOPE\s+NEXT FIRE\s+LAST OUTCOME\s+LAST RUN\s+PAUSED\s+RUNNING$/);
    expect(lines.find((l) => l.startsWith('ticker'))).toMatch(/^ticker\s+every 500 ms .*\s+cluster\s+in \d+ms\s+success\s+.*\s+no\s+\d$/);
    expect(lines[0]!.indexOf('SCOPE')).toBe(lines[1]!.indexOf(lines[1]!.split(/\s{2,}/)[2]!));
    expect((await cli('pause', 'ticker')).stdout).toBe('ticker: paused on every replica\n');
    const paused = JSON.parse((await cli('list', '--json')).stdout) as Array<{ name: string; paused: boolean }>;
    expect(paused.find((t) => t.name === 'ticker')?.paused).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const count = app.callsOf('ticker').length;
    await new Promise((r) => setTimeout(r, 1_200));
    expect(app.callsOf('ticker').length).toBe(count);
    expect((await cli('resume', 'ticker')).code).toBe(0);
    await waitFor(() => app.callsOf('ticker').length > count, { timeoutMs: 3_000, what: 'the ticker to resume' });
  });
});

describe('start-up (real binary)', () => {
  it('exits 1 at once on an invalid task file, leaving nothing running (review finding)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'taskino-bad-'));
    writeFileSync(join(d, 'tasks.yaml'), 'tasks:\n  - {name: a, every: soon, http: {path: /}}\n');
    const started = Date.now();
    const result = await runCli(['run', '--config', join(d, 'tasks.yaml'), '--http-port', '0', '--admin-socket', join(d, 's.sock')], { timeoutMs: 10_000 });
    expect([result.code, result.stderr]).toEqual([1, expect.stringMatching(/task "a": every: must be a duration/)]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('exits 0 on SIGTERM while start-up still waits for Redis (review finding)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'taskino-wait-'));
    writeFileSync(join(d, 'tasks.yaml'), 'tasks:\n  - {name: a, every: 1s, http: {path: /}}\n');
    const s = SidecarProcess.start('waiting', ['--config', join(d, 'tasks.yaml'), '--redis', 'redis://127.0.0.1:1', '--http-port', '0', '--admin-socket', join(d, 's.sock')]);
    await s.waitForLog((l) => l.msg === 'serving /metrics, /healthz and /readyz');
    const at = Date.now();
    expect(await s.stop('SIGTERM')).toBe(0);
    expect(Date.now() - at).toBeLessThan(3_000);
  });
});

describe('reload and shutdown (real binary)', () => {
  it('reloads an edited file, keeps the last good set on an invalid edit, and follows a kubelet ..data swap', async () => {
    const local = await CountingApp.start();
    const mount = mkdtempSync(join(tmpdir(), 'taskino-mount-'));
    const writeVersion = (name: string, body: string): void => {
      const data = join(mount, name);
      mkdirSync(data);
      writeFileSync(join(data, 'tasks.yaml'), body);
      symlinkSync(name, join(mount, '..data_tmp'));
      renameSync(join(mount, '..data_tmp'), join(mount, '..data')); // atomic swap, as the kubelet does
    };
    writeVersion('..v1', 'tasks:\n  - name: first\n    every: 300ms\n    http: {path: /ok}\n');
    symlinkSync('..data/tasks.yaml', join(mount, 'tasks.yaml'));
    const s = SidecarProcess.start('reloader', ['--config', mount, '--app-url', local.url, '--http-port', '0', '--admin-socket', join(mount, '..admin.sock')]);
    try {
      await s.waitForLog((l) => l.msg === 'taskino is running');
      await waitFor(() => local.callsOf('first').length > 0, { timeoutMs: 3_000, what: 'the first task to fire' });
      writeVersion('..v2', 'tasks:\n  - name: second\n    every: 300ms\n    http: {path: /ok}\n');
      await s.waitForLog((l) => l.msg === 'task definitions reloaded', 4_000);
      const switched = Date.now();
      await waitFor(() => local.callsOf('second').length > 0, { timeoutMs: 3_000, what: 'the second task to fire' });
      await new Promise((r) => setTimeout(r, 700));
      expect(local.callsOf('first').filter((c) => c.startedMs > switched + 100)).toEqual([]);

      writeVersion('..v3', 'tasks:\n  - name: second\n    every: never\n    http: {path: /ok}\n');
      const rejected = await s.waitForLog((l) => l.msg === 'task definitions rejected; the last good definitions keep running', 4_000);
      expect((rejected.problems as string[]).join("\n")).toMatch(/tasks\.yaml: task "second": every: must be a duration/);
      const count = local.callsOf('second').length;
      await waitFor(() => local.callsOf('second').length > count + 1, { timeoutMs: 3_000, what: 'the last good set to keep running' });
    } finally {
      expect(await s.stop()).toBe(0);
      await local.stop();
    }
  });

  it('on SIGTERM stops claiming, lets a slow call finish, and exits 0', async () => {
    const local = await CountingApp.start();
    const d = mkdtempSync(join(tmpdir(), 'taskino-term-'));
    writeFileSync(join(d, 'tasks.yaml'), 'tasks:\n  - name: slow\n    every: 1s\n    timeout: 10s\n    http: {path: "/slow?ms=2000"}\n');
    const s = SidecarProcess.start('terminator', ['--config', join(d, 'tasks.yaml'), '--app-url', local.url, '--http-port', '0', '--admin-socket', join(d, 'admin.sock')]);
    try {
      await s.waitForLog((l) => l.msg === 'taskino is running');
      await waitFor(() => local.callsOf('slow').length > 0, { timeoutMs: 3_000, what: 'the slow call to start' });
      const code = await s.stop('SIGTERM');
      const call = local.callsOf('slow')[0]!;
      expect(code).toBe(0);
      expect(call.endedMs).toBeDefined();
      expect(local.callsOf('slow')).toHaveLength(1); // no new claim after SIGTERM
      expect(s.logs.find((l) => l.msg === 'task run succeeded' && l.task === 'slow')).toBeDefined();
    } finally {
      await s.stop();
      await local.stop();
    }
  });
});
