import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ROOT } from './cli.js';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

type Model = new (data: never) => { validate(): void };
const MODELS: Record<string, Model> = {
  'apps/v1/Deployment': Deployment as unknown as Model,
  'apps/v1/StatefulSet': StatefulSet as unknown as Model,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as Model,
  'rbac.authorization.k8s.io/v1/Role': Role as unknown as Model,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding as unknown as Model,
  'v1/ConfigMap': ConfigMap as unknown as Model,
  'v1/Secret': Secret as unknown as Model,
  'v1/Service': Service as unknown as Model,
  'v1/ServiceAccount': ServiceAccount as unknown as Model,
};
/** prometheus-operator kinds are not in kubernetes-models: checked for their required fields only. */
const CRDS: Record<string, string[]> = {
  'monitoring.coreos.com/v1/ServiceMonitor': ['selector', 'endpoints'],
  'monitoring.coreos.com/v1/PrometheusRule': ['groups'],
};

/** Directory of the cached helm and kubectl binaries (scripts/fetch-helm.sh fills it). */
export function toolsDir(): string {
  return execFileSync('bash', [`${ROOT}/scripts/fetch-helm.sh`], { encoding: 'utf8' }).trim();
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null);
}

/** Validates a manifest against the Kubernetes OpenAPI schema (kubernetes-models); throws on errors. */
export function validateManifest(m: Manifest): void {
  const key = `${m.apiVersion}/${m.kind}`;
  const model = MODELS[key];
  if (model) return new model(m as never).validate();
  const required = CRDS[key];
  if (!required) throw new Error(`no validator for ${key} (${m.metadata.name})`);
  const spec = (m.spec ?? {}) as Record<string, unknown>;
  for (const field of required) if (spec[field] === undefined) throw new Error(`${key} ${m.metadata.name}: spec.${field} is required`);
}
