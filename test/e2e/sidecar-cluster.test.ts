import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, SidecarProcess } from '../support/cli.js';
import { CountingApp } from '../support/counting-app.js';
import { RedisServer } from '../support/redis-server.js';
import { delay, waitFor } from '../support/wait.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(async () => {
  await redis.stop();
});

describe('taskino run: Redis credentials', () => {
  it('connects with an ACL user and password from the URL; with a wrong password it stays up, not ready, and never logs the password', async () => {
    const admin = redis.client();
    await admin.call('ACL', 'SETUSER', 'taskino', 'on', '>s3cret-pass', '~*', '&*', '+@all');
    admin.disconnect();
    const dir = mkdtempSync(join(tmpdir(), 'taskino-acl-'));
    writeFileSync(join(dir, 'tasks.yaml'), 'tasks:\n  - {name: t, every: 1s, http: {path: /ok}}\n');
    const app = await CountingApp.start();
    const start = (password: string, i: number) =>
      SidecarProcess.start(`acl-${i}`, ['--config', join(dir, 'tasks.yaml'), '--app-url', app.url, '--http-port', '0', '--admin-socket', join(dir, `a${i}.sock`), '--scheduler', 'acl'], {
        TASKINO_REDIS_URL: `redis://taskino:${password}@127.0.0.1:${redis.port}`,
      });
    const good = start('s3cret-pass', 1);
    const bad = start('wrong-pass', 2);
    try {
      await good.waitForLog((l) => l.msg === 'taskino is running');
      await waitFor(() => app.callsOf('t').length > 0, { timeoutMs: 10_000, what: 'a run through the ACL user' });
      const warned = await bad.waitForLog((l) => String(l.msg).startsWith('redis connection error'));
      expect(String(warned.error)).toMatch(/WRONGPASS/);
      const probes = await bad.waitForLog((l) => l.msg === 'serving /metrics, /healthz and /readyz');
      const ready = await fetch(`http://127.0.0.1:${String(probes.port)}/readyz`);
      expect([ready.status, await ready.text()]).toEqual([503, expect.stringMatching(/^not ready: redis is \w+; definitions not loaded/)]);
      expect((await fetch(`http://127.0.0.1:${String(probes.port)}/healthz`)).status).toBe(200);
      await delay(500);
      expect(JSON.stringify(bad.logs) + bad.stderr).not.toContain('wrong-pass');
    } finally {
      await Promise.all([good.stop(), bad.stop()]);
      await app.stop();
    }
  }, 40_000);
});

describe('taskino run: three replicas on one Redis (real binaries)', () => {
  it('runs each cluster fire once across replicas and each pod fire on every live replica, through a SIGKILL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskino-e2e-'));
    const config = join(dir, 'tasks.yaml');
    writeFileSync(
      config,
      ['tasks:', '  - name: cluster-tick', '    every: 1s', '    http: {path: /ok}', '  - name: pod-tick', '    every: 1s', '    scope: pod', '    http: {path: /ok}', ''].join('\n'),
    );
    const apps = await Promise.all([0, 1, 2].map(() => CountingApp.start()));
    const sidecars = apps.map((app, i) =>
      SidecarProcess.start(`replica-${i}`, ['--config', config, '--redis', redis.url, '--scheduler', 'e2e', '--app-url', app.url, '--http-port', '0', '--admin-socket', join(dir, `admin-${i}.sock`)]),
    );
    try {
      await Promise.all(sidecars.map((s) => s.waitForLog((l) => l.msg === 'taskino is running')));
      const windowStart = Math.ceil((Date.now() + 6_000) / 1000) * 1000; // after the first recovery window
      await delay(windowStart + 4_500 - Date.now());
      const killedAt = Date.now();
      await sidecars[2]!.stop('SIGKILL');
      await delay(6_000);
      const windowEnd = Math.floor((Date.now() - 1_500) / 1000) * 1000;

      const fires: number[] = [];
      for (let t = windowStart; t <= windowEnd; t += 1000) fires.push(t);
      expect(fires.length).toBeGreaterThanOrEqual(9);
      const clusterCount = (t: number) => apps.reduce((n, app) => n + app.callsOf('cluster-tick').filter((c) => Date.parse(c.scheduled) === t).length, 0);
      expect(fires.filter((t) => clusterCount(t) !== 1)).toEqual([]);
      const podCount = (app: CountingApp, t: number) => app.callsOf('pod-tick').filter((c) => Date.parse(c.scheduled) === t).length;
      for (const app of apps.slice(0, 2)) expect(fires.filter((t) => podCount(app, t) !== 1)).toEqual([]);
      // The killed replica ran every pod fire before its death and none after.
      expect(fires.filter((t) => t < killedAt - 1000 && podCount(apps[2]!, t) !== 1)).toEqual([]);
      expect(fires.filter((t) => t > killedAt && podCount(apps[2]!, t) !== 0)).toEqual([]);
    } finally {
      await Promise.all(sidecars.map((s) => s.stop()));
      await Promise.all(apps.map((a) => a.stop()));
    }
  }, 60_000);
});

describe('taskino run: a replica that lacks a task\'s environment variable', () => {
  it('runs none of its fires (the replica that has it runs them all, with the value), and says so once in the log and in `taskino list`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskino-env-'));
    const older = join(dir, 'old.yaml');
    const newer = join(dir, 'new.yaml');
    writeFileSync(older, 'tasks:\n  - {name: plain, every: 1s, http: {path: /ok}}\n');
    writeFileSync(
      newer,
      'tasks:\n  - {name: plain, every: 1s, http: {path: /ok}}\n  - {name: secret, every: 1s, http: {path: /ok, headers: {Authorization: "Bearer ${ONLY_R3}"}}}\n',
    );
    utimesSync(older, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000)); // the rollout's new file is the newer version
    const app = await CountingApp.start();
    const args = (config: string, i: number) => ['--config', config, '--redis', redis.url, '--scheduler', 'env-rollout', '--app-url', app.url, '--http-port', '0', '--admin-socket', join(dir, `a${i}.sock`)];
    const withSecret = SidecarProcess.start('with-secret', args(newer, 1), { ONLY_R3: 'sesame' });
    const without = SidecarProcess.start('without', args(older, 2));
    try {
      await Promise.all([withSecret, without].map((s) => s.waitForLog((l) => l.msg === 'taskino is running')));
      await without.waitForLog((l) => l.msg === 'definition set switched' || l.msg === 'adopted newer definitions published by another replica');
      const from = Date.now() + 1_000;
      await delay(6_000);
      const to = Date.now() - 1_500;
      const calls = app.callsOf('secret');
      expect(calls.map((c) => c.authorization).filter((a) => a !== 'Bearer sesame')).toEqual([]); // was 'Bearer ' from the replica without it
      const fires: number[] = [];
      for (let t = Math.ceil(from / 1000) * 1000; t <= to; t += 1000) fires.push(t);
      expect(fires.filter((t) => calls.filter((c) => Date.parse(c.scheduled) === t).length !== 1)).toEqual([]);
      const told = without.logs.filter((l) => l.msg === 'cannot run a published task on this replica');
      expect(told).toHaveLength(1);
      expect(String(told[0]!.error)).toContain('${ONLY_R3}');
      const list = await runCli(['list', '--admin-socket', join(dir, 'a2.sock')]);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/^secret .*needs \$\{ONLY_R3\}, which this replica's environment lacks/m);
      expect(list.stdout).toMatch(/^plain /m);
    } finally {
      await Promise.all([withSecret.stop(), without.stop()]);
      await app.stop();
    }
  }, 60_000);
});
