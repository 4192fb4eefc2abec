import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SidecarProcess } from '../support/cli.js';
import { CountingApp } from '../support/counting-app.js';
import { KubeApiDouble } from '../support/kube-api-double.js';
import { RedisServer } from '../support/redis-server.js';
import { delay, waitFor } from '../support/wait.js';

const ours = { 'taskino.io/scheduler': 'shop' };
const file = (name: string, every = '500ms', path = '/ok') => ({ 'tasks.yaml': `tasks:\n  - {name: ${name}, every: ${every}, http: {path: ${path}}}\n` });

let api: KubeApiDouble;
let redis: RedisServer;
let dir: string;
let kubeconfig: string;
const running: SidecarProcess[] = [];
const apps: CountingApp[] = [];
beforeAll(async () => {
  redis = await RedisServer.start();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
  await Promise.all(apps.splice(0).map((a) => a.stop()));
  await api.stop();
});
afterAll(async () => {
  await redis.stop();
});

async function setup(): Promise<void> {
  api = await KubeApiDouble.start();
  dir = mkdtempSync(join(tmpdir(), 'taskino-kube-'));
  kubeconfig = api.writeKubeconfig(dir);
}

async function replica(i: number, extra: string[] = [], scheduler = 'shop'): Promise<{ sidecar: SidecarProcess; app: CountingApp }> {
  const app = await CountingApp.start();
  apps.push(app);
  const sidecar = SidecarProcess.start(`kube-${i}`, ['--kube', '--scheduler', scheduler, '--app-url', app.url, '--http-port', '0', '--admin-socket', join(dir, `a${i}.sock`), ...extra], { KUBECONFIG: kubeconfig });
  running.push(sidecar);
  return { sidecar, app };
}

const calledSince = (app: CountingApp, task: string, since: number) => app.callsOf(task).some((c) => c.startedMs > since);

describe('taskino run --kube against an API double', () => {
  it('loads only ConfigMaps annotated for its scheduler, merging several; a duplicate name or invalid file rejects the change', async () => {
    await setup();
    api.apply('first', file('alpha'), ours);
    api.apply('second', { 'more.yml': 'tasks:\n  - {name: beta, every: 500ms, http: {path: /ok}}\n', 'README.md': 'not a task file' }, ours);
    api.apply('unannotated', file('gamma'));
    api.apply('other-scheduler', file('delta'), { 'taskino.io/scheduler': 'billing' });
    const { sidecar, app } = await replica(0);
    await sidecar.waitForLog((l) => l.msg === 'taskino is running');
    await waitFor(() => app.callsOf('alpha').length > 0 && app.callsOf('beta').length > 0, { timeoutMs: 5_000, what: 'alpha and beta to fire' });
    await delay(600);
    expect(app.callsOf('gamma').length + app.callsOf('delta').length).toBe(0);

    api.apply('renamed', { 'tasks.yaml.bak': 'tasks: []\n' }, ours); // no task file at all: refused, not "delete everything"
    const empty = await sidecar.waitForLog((l) => l.msg === 'task definitions rejected; the last good definitions keep running');
    expect((empty.problems as string[]).join('\n')).toMatch(/configmap\/renamed: holds no .yaml, .yml or .json key/);
    api.delete('renamed');
    api.apply('third', file('alpha', '1s'), ours); // alpha again: the whole change is refused
    const rejected = await sidecar.waitForLog((l) => l.msg === 'task definitions rejected; the last good definitions keep running' && JSON.stringify(l.problems).includes('third'));
    expect((rejected.problems as string[]).join('\n')).toMatch(/configmap\/third\/tasks\.yaml: task "alpha": name: duplicate task name: "alpha" is also defined in configmap\/first\/tasks\.yaml/);
    const since = Date.now();
    await waitFor(() => calledSince(app, 'alpha', since) && calledSince(app, 'beta', since), { timeoutMs: 3_000, what: 'the last good set to keep running' });
  }, 40_000);

  it('applies an edit, an un-annotation and a deletion on three replicas within 2 s, and measures it', async () => {
    await setup();
    api.apply('tasks', file('alpha'), ours);
    const replicas = await Promise.all([0, 1, 2].map((i) => replica(i, ['--redis', redis.url])));
    await Promise.all(replicas.map((r) => r.sidecar.waitForLog((l) => l.msg === 'taskino is running')));
    await delay(1_500);
    const switchDelays = async (change: () => void, expectTasks: string[]): Promise<number[]> => {
      const marks = replicas.map((r) => r.sidecar.logs.length);
      const at = Date.now();
      change();
      return Promise.all(
        replicas.map(async (r, i) => {
          const line = await r.sidecar.waitForLog(
            (l) => r.sidecar.logs.indexOf(l) >= marks[i]! && l.msg === 'definition set switched' && JSON.stringify([...(l.tasks as string[])].sort()) === JSON.stringify(expectTasks),
            4_000,
          );
          return Date.parse(String(line.time)) - at;
        }),
      );
    };
    const edit = await switchDelays(() => api.apply('tasks', file('beta'), ours), ['beta']);
    const added = await switchDelays(() => api.apply('extra', file('gamma'), ours), ['beta', 'gamma']);
    const unannotated = await switchDelays(() => api.apply('extra', file('gamma')), ['beta']);
    const deleted = await switchDelays(() => api.delete('tasks'), []);
    const all = [...edit, ...added, ...unannotated, ...deleted];
    console.log(`ConfigMap change -> new schedule on each of 3 replicas (ms): edit ${edit.join(', ')}; add ${added.join(', ')}; un-annotate ${unannotated.join(', ')}; delete ${deleted.join(', ')}`);
    expect(Math.max(...all)).toBeLessThan(2_000);
  }, 60_000);

  it('recovers from dropped watch connections and 410 Gone (re-list), and reports missing RBAC on /readyz', async () => {
    await setup();
    api.forbidden = true;
    api.apply('tasks', file('alpha'), ours);
    const { sidecar, app } = await replica(0);
    const probes = await sidecar.waitForLog((l) => l.msg === 'serving /metrics, /healthz and /readyz');
    const readyz = `http://127.0.0.1:${String(probes.port)}/readyz`;
    await sidecar.waitForLog((l) => String(l.msg).includes('HTTP 403'));
    const notReady = await fetch(readyz);
    expect([notReady.status, await notReady.text()]).toEqual([503, expect.stringMatching(/ConfigMap list failed: HTTP 403 \(RBAC: the service account needs get, list and watch on configmaps/)]);
    api.forbidden = false;
    await sidecar.waitForLog((l) => l.msg === 'taskino is running', 15_000);
    expect((await fetch(readyz)).status).toBe(200);

    await waitFor(() => api.openWatches > 0, { timeoutMs: 5_000, what: 'a watch to open' });
    api.dropConnections();
    api.apply('tasks', file('beta'), ours);
    await waitFor(() => app.callsOf('beta').length > 0, { timeoutMs: 5_000, what: 'the change made while the watch was cut' });

    await waitFor(() => api.openWatches > 0, { timeoutMs: 5_000, what: 'the watch to resume' });
    api.holdEvents = true; // the client never sees this change on its stream...
    api.apply('tasks', file('gamma'), ours);
    api.compact(); // ...and its resourceVersion is compacted away before it reconnects
    api.dropConnections();
    api.holdEvents = false;
    await sidecar.waitForLog((l) => l.msg === 'ConfigMap watch expired (410 Gone); listing again', 10_000);
    await waitFor(() => app.callsOf('gamma').length > 0, { timeoutMs: 5_000, what: 'the change seen through the re-list' });
    expect(api.requests.filter((r) => r.startsWith('GET /api/v1/namespaces/apps/configmaps')).length).toBeGreaterThanOrEqual(2);
    expect(await sidecar.stop()).toBe(0);
  }, 60_000);
});
