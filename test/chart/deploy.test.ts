import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { parseManifests, toolsDir, validateManifest, type Manifest } from '../support/manifests.js';

let kubectl: string;
beforeAll(() => {
  kubectl = join(toolsDir(), 'kubectl');
}, 120_000);

function kustomize(dir: string): Manifest[] {
  const result = spawnSync(kubectl, ['kustomize', join(ROOT, dir)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return parseManifests(result.stdout);
}

type Pod = { spec: { template: { spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string; valueFrom?: unknown }> }> } } } };
const sidecarEnv = (manifests: Manifest[]) =>
  Object.fromEntries(
    ((manifests.find((m) => m.kind === 'Deployment') as unknown as Pod).spec.template.spec.containers.find((c) => c.name === 'taskino')!.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]),
  );

describe('deploy/ (kustomize, rendered by the real kubectl)', () => {
  it.each(['deploy/base', 'deploy/overlays/existing-redis'])('%s renders manifests that validate against the Kubernetes schemas', (dir) => {
    const manifests = kustomize(dir);
    expect(manifests.length).toBeGreaterThanOrEqual(6);
    for (const m of manifests) expect(() => validateManifest(m), `${m.kind} ${m.metadata.name}`).not.toThrow();
  });

  it('base: demo app + sidecar watching its annotated ConfigMap, with a bundled Redis and least-privilege RBAC', () => {
    const manifests = kustomize('deploy/base');
    expect(manifests.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Role', 'RoleBinding', 'Service', 'Service', 'ServiceAccount', 'StatefulSet']);
    expect(manifests.find((m) => m.kind === 'ConfigMap')?.metadata.annotations).toEqual({ 'taskino.io/scheduler': 'demo' });
    expect((manifests.find((m) => m.kind === 'Role') as unknown as { rules: unknown }).rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }]);
    expect(sidecarEnv(manifests)).toMatchObject({ TASKINO_SCHEDULER: 'demo', TASKINO_REDIS_URL: 'redis://redis:6379' });
  });

  it('overlay: no bundled Redis, the URL from a Secret', () => {
    const manifests = kustomize('deploy/overlays/existing-redis');
    expect(manifests.find((m) => m.kind === 'StatefulSet')).toBeUndefined();
    expect(manifests.filter((m) => m.kind === 'Service').map((m) => m.metadata.name)).toEqual(['demo-metrics']);
    expect(sidecarEnv(manifests).TASKINO_REDIS_URL).toEqual({ secretKeyRef: { name: 'redis-credentials', key: 'url' } });
  });

  it('the tasks in deploy/base are valid for taskino', () => {
    const cm = kustomize('deploy/base').find((m) => m.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    const dir = mkdtempSync(join(tmpdir(), 'taskino-deploy-'));
    writeFileSync(join(dir, 'tasks.yaml'), cm.data['tasks.yaml']!);
    const result = spawnSync(process.execPath, [join(ROOT, 'bin/taskino.js'), 'validate', join(dir, 'tasks.yaml')], { encoding: 'utf8' });
    expect([result.status, result.stdout]).toEqual([0, 'valid: 2 tasks in 1 file\n']);
  });
});
