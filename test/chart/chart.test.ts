import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { parseManifests, toolsDir, validateManifest, type Manifest } from '../support/manifests.js';

const CHART = join(ROOT, 'charts/taskino');
let helmBin: string;
beforeAll(() => {
  helmBin = join(toolsDir(), 'helm');
}, 120_000);

function helm(args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(helmBin, args, { encoding: 'utf8' });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

function render(...sets: string[]): Manifest[] {
  const result = helm(['template', 'shop', CHART, '--namespace', 'apps', ...sets.flatMap((s) => (s.endsWith('.yaml') ? ['-f', s] : ['--set', s]))]);
  if (result.code !== 0) throw new Error(result.stderr);
  return parseManifests(result.stdout);
}

const find = (manifests: Manifest[], kind: string, suffix = '') => manifests.find((m) => m.kind === kind && m.metadata.name.endsWith(suffix));
type Container = { name: string; env?: Array<{ name: string; value?: string; valueFrom?: unknown }>; securityContext?: Record<string, unknown>; restartPolicy?: string; args?: string[] };
const podSpec = (d: Manifest) => (d.spec as { template: { spec: { containers: Container[]; initContainers?: Container[]; securityContext: Record<string, unknown>; serviceAccountName: string } ; metadata: { annotations?: Record<string, string> } } }).template;
const env = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
const ciFiles = readdirSync(join(CHART, 'ci')).map((f) => join(CHART, 'ci', f));

describe('the Helm chart (real helm binary)', () => {
  it.each([['default values', ''], ...ciFiles.map((f) => [f.split('/').pop()!, f])])('helm lint is clean with %s', (_, file) => {
    const result = helm(['lint', CHART, '--strict', ...(file ? ['-f', file] : [])]);
    expect(result.stdout + result.stderr).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it.each([['default values', ''], ...ciFiles.map((f) => [f.split('/').pop()!, f])])('helm template output validates against the Kubernetes schemas with %s', (_, file) => {
    const manifests = file ? render(file) : render();
    expect(manifests.length).toBeGreaterThan(2);
    for (const m of manifests) expect(() => validateManifest(m), `${m.kind} ${m.metadata.name}`).not.toThrow();
  });

  it('grants the sidecar get, list and watch on configmaps in its namespace, and nothing else', () => {
    const manifests = render();
    expect((find(manifests, 'Role') as unknown as { rules: unknown }).rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }]);
    expect(manifests.filter((m) => m.kind.startsWith('Cluster'))).toEqual([]);
    const binding = find(manifests, 'RoleBinding') as unknown as { subjects: Array<{ name: string; namespace: string }> };
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'shop-taskino', namespace: 'apps' }]);
    expect(podSpec(find(manifests, 'Deployment')!).spec.serviceAccountName).toBe('shop-taskino');
  });

  it('runs the sidecar non-root with a read-only root filesystem, no capabilities, probes and limits', () => {
    const pod = podSpec(find(manifests(), 'Deployment')!).spec;
    const sidecar = pod.containers.find((c) => c.name === 'taskino')!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(sidecar.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(sidecar).toMatchObject({ livenessProbe: { httpGet: { path: '/healthz' } }, readinessProbe: { httpGet: { path: '/readyz' }, failureThreshold: 6 }, resources: { limits: { memory: '256Mi' } } });
    for (const c of pod.containers) expect(c.securityContext?.readOnlyRootFilesystem, c.name).toBe(true);
  });

  it('configures the sidecar through TASKINO_* env: --kube, scheduler, namespace, app URL, Redis', () => {
    const sidecar = podSpec(find(manifests(), 'Deployment')!).spec.containers.find((c) => c.name === 'taskino')!;
    expect(sidecar.args).toEqual(['run', '--kube']);
    expect(env(sidecar)).toMatchObject({
      TASKINO_SCHEDULER: 'shop-taskino',
      TASKINO_KUBE_NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } },
      TASKINO_APP_URL: 'http://127.0.0.1:8080',
      TASKINO_HTTP_PORT: '9464',
      TASKINO_REDIS_URL: 'redis://shop-taskino-redis:6379',
    });
    const withSecret = render(join(CHART, 'ci/native-sidecar-values.yaml'));
    const native = podSpec(find(withSecret, 'Deployment')!).spec;
    const nativeSidecar = native.initContainers?.find((c) => c.name === 'taskino');
    expect(nativeSidecar?.restartPolicy).toBe('Always');
    expect(native.containers.map((c) => c.name)).toEqual(['app']);
    expect(env(nativeSidecar!)).toMatchObject({
      TASKINO_SCHEDULER: 'shop',
      TASKINO_ALLOW_HOST: 'reports.internal:8443',
      TASKINO_REDIS_URL: { secretKeyRef: { name: 'shop-taskino-redis-url', key: 'url' } },
      CLEANUP_TOKEN: { secretKeyRef: { name: 'cleanup', key: 'token' } },
    });
    expect(find(withSecret, 'StatefulSet')).toBeUndefined();
    expect(env(podSpec(find(render('redis.existingSecret.name=creds'), 'Deployment')!).spec.containers[1]!).TASKINO_REDIS_URL).toEqual({ secretKeyRef: { name: 'creds', key: 'url' } });
  });

  it('renders the tasks ConfigMap with the scheduler annotation, valid for taskino, and no checksum on the pods', () => {
    const all = manifests();
    const tasks = find(all, 'ConfigMap', '-tasks') as Manifest & { data: Record<string, string> };
    expect(tasks.metadata.annotations).toEqual({ 'taskino.io/scheduler': 'shop-taskino' });
    const file = parse(tasks.data['tasks.yaml']!) as { tasks: Array<{ name: string }> };
    expect(file.tasks.map((t) => t.name)).toEqual(['heartbeat', 'cleanup']);
    const dir = mkdtempSync(join(tmpdir(), 'taskino-chart-'));
    writeFileSync(join(dir, 'tasks.yaml'), tasks.data['tasks.yaml']!);
    expect(execFileSync(process.execPath, [join(ROOT, 'bin/taskino.js'), 'validate', join(dir, 'tasks.yaml')], { encoding: 'utf8' })).toBe('valid: 2 tasks in 1 file\n');
    expect(JSON.stringify(podSpec(find(all, 'Deployment')!).metadata)).not.toMatch(/checksum/);
  });

  it('renders ServiceMonitor and PrometheusRule alerts when asked', () => {
    const all = render(join(CHART, 'ci/production-values.yaml'));
    expect(find(all, 'Deployment')).toBeUndefined();
    expect(find(all, 'ServiceMonitor')?.metadata.labels).toMatchObject({ release: 'prometheus' });
    const rule = find(all, 'PrometheusRule') as unknown as { spec: { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> } };
    const alerts = rule.spec.groups[0]!.rules;
    expect(alerts.map((a) => a.alert)).toEqual(['TaskinoTaskFailing', 'TaskinoFiresMissed', 'TaskinoNoRecentSuccess', 'TaskinoConfigReloadFailing']);
    expect(alerts[2]!.expr).toMatch(/> 21600$/);
  });

  it.each([
    ['an unknown key', ['sidecar.colour=blue'], /sidecar.*additional properties 'colour' not allowed|colour/],
    ['a bad log level', ['sidecar.logLevel=loud'], /logLevel.*(must be one of|value must be one of)/],
    ['a bad Redis URL', ['redis.url=http://redis:6379'], /redis.*url.*(does not match|pattern)/],
    ['a bad shutdown grace', ['sidecar.shutdownGrace=soon'], /shutdownGrace/],
    ['a fractional shutdown grace (review finding: it would round to 0)', ['sidecar.shutdownGrace=1.5m'], /shutdownGrace/],
    ['an invalid task name', ['tasks.list[0].name=Bad Name'], /name/],
  ])('refuses %s with a message naming the key', (_, sets, message) => {
    const result = helm(['template', 'shop', CHART, ...sets.flatMap((s) => ['--set', s])]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(result.stderr).toMatch(message);
  });

  it('refuses a setup without any Redis and a ServiceMonitor that would select nothing (review findings)', () => {
    const noRedis = helm(['template', 'shop', CHART, '--set', 'redis.bundled=false']);
    expect([noRedis.code, noRedis.stderr]).toEqual([1, expect.stringMatching(/set redis.url or redis.existingSecret.name when redis.bundled is false/)]);
    const blindMonitor = helm(['template', 'shop', CHART, '--set', 'demo.enabled=false,metrics.serviceMonitor.enabled=true']);
    expect(blindMonitor.stderr).toMatch(/metrics.serviceMonitor needs .*metrics.service.selector/);
    const service = find(render(join(CHART, 'ci/production-values.yaml')), 'Service', '-metrics') as unknown as { spec: { selector: unknown } };
    expect(service.spec.selector).toEqual({ app: 'shop' });
  });

  it('lets an app chart include the taskino.sidecar template', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskino-parent-'));
    cpSync(join(ROOT, 'test/fixtures/parent-chart'), dir, { recursive: true });
    cpSync(CHART, join(dir, 'charts/taskino'), { recursive: true });
    const result = helm(['template', 'myapp', dir]);
    expect(result.stderr).toBe('');
    const deployment = parseManifests(result.stdout).find((m) => m.kind === 'Deployment' && m.metadata.name === 'myapp')!;
    validateManifest(deployment);
    const containers = podSpec(deployment).spec.containers;
    expect(containers.map((c) => c.name)).toEqual(['web', 'taskino']);
    expect(env(containers[1]!)).toMatchObject({ TASKINO_SCHEDULER: 'myapp', TASKINO_APP_URL: 'http://127.0.0.1:3000' });
  });

  it('NOTES.txt tells how to trigger a task and where the metrics are', () => {
    const result = helm(['install', 'shop', CHART, '--dry-run=client', '--namespace', 'apps']);
    expect(result.stdout).toMatch(/kubectl exec -n apps deploy\/shop-taskino-demo -c taskino -- taskino trigger heartbeat/);
    expect(result.stdout).toMatch(/curl -s localhost:9464\/metrics/);
  });
});

function manifests(): Manifest[] {
  return render();
}
