import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SidecarProcess } from '../support/cli.js';
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
