import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from '../../core/scheduler/types.js';
import { systemSleep, type Sleep } from '../../core/time.js';
import type { TaskText } from '../config/task-sources.js';

export const SCHEDULER_ANNOTATION = 'taskino.io/scheduler';
const TASK_KEY = /\.(ya?ml|json)$/;
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
/** The API server ends each watch after this long; the source resumes at once. Guards against silent streams. */
const WATCH_TIMEOUT_SECONDS = 290;

export interface ConfigMapSourceOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  scheduler: string;
  logger: Logger;
  sleep?: Sleep;
  /** Longest wait between two attempts after an error, in ms. Default 10000. */
  maxBackoffMs?: number;
}

/** --kube-namespace, else the pod's service-account namespace, else the kubeconfig context's, else "default". */
export function resolveNamespace(flag: string | undefined, kubeConfig: KubeConfig): string {
  if (flag) return flag;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
  } catch {
    return kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? 'default';
  }
}

/**
 * The ConfigMaps of one namespace annotated `taskino.io/scheduler: <scheduler>`, kept current by
 * list + watch. The watch resumes from the last resourceVersion after a dropped connection and
 * re-lists after `410 Gone`, with backoff; `problem()` says why it is not current.
 */
export class ConfigMapSource {
  private readonly configMaps = new Map<string, V1ConfigMap>();
  private readonly api: CoreV1Api;
  private readonly sleep: Sleep;
  private readonly stopSignal = new AbortController();
  private watchAbort: AbortController | undefined;
  private resourceVersion = '';
  private highestVersion = 0;
  private currentProblem: string | undefined = 'ConfigMaps not listed yet';
  private listener: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: ConfigMapSourceOptions) {
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.sleep = options.sleep ?? systemSleep;
  }

  /** Lists until it succeeds once (or stop()), then keeps watching in the background. */
  async start(onChange: () => void): Promise<void> {
    this.listener = onChange;
    let backoff = 500;
    while (!this.stopSignal.signal.aborted) {
      try {
        await this.list();
        break;
      } catch (error) {
        this.fail('list', error);
        await this.sleep(backoff, this.stopSignal.signal);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 10_000);
      }
    }
    this.loop = this.watchLoop();
  }

  async stop(): Promise<void> {
    this.stopSignal.abort();
    this.watchAbort?.abort();
    // A watch request still waiting for its response headers cannot be aborted through the
    // client library; do not let it hold up shutdown.
    await Promise.race([this.loop, this.sleep(1_000)]);
  }

  /** Why the source is not current, or undefined when it is. */
  problem(): string | undefined {
    return this.currentProblem;
  }

  /** The highest resourceVersion seen: rises with every change, so a newer set always wins. */
  version(): number {
    return this.highestVersion;
  }

  /** Annotated ConfigMaps without any task file key: most likely a renamed key, never an intent to delete every task. */
  emptyConfigMaps(): string[] {
    return [...this.configMaps.values()].filter((cm) => !Object.keys(cm.data ?? {}).some((k) => TASK_KEY.test(k))).map((cm) => cm.metadata?.name ?? '?');
  }

  texts(): TaskText[] {
    return [...this.configMaps.values()]
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
      .flatMap((cm) =>
        Object.entries(cm.data ?? {})
          .filter(([key]) => TASK_KEY.test(key))
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, text]) => ({ file: `configmap/${cm.metadata?.name ?? '?'}/${key}`, text })),
      );
  }

  private async list(): Promise<void> {
    const list = await this.api.listNamespacedConfigMap({ namespace: this.options.namespace });
    this.configMaps.clear();
    for (const cm of list.items) if (this.isOurs(cm)) this.configMaps.set(cm.metadata?.name ?? '', cm);
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    this.noteVersion(this.resourceVersion);
    this.currentProblem = undefined;
    this.listener?.();
  }

  private async watchLoop(): Promise<void> {
    let backoff = 250;
    while (!this.stopSignal.signal.aborted) {
      if (this.resourceVersion === '') {
        // Without a resourceVersion a watch only replays what exists: deletions would be missed.
        try {
          await this.list();
        } catch (error) {
          this.fail('list', error);
          await this.sleep(backoff, this.stopSignal.signal);
          backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 10_000);
          continue;
        }
      }
      const startedAt = Date.now();
      const outcome = await this.watchOnce().catch((error: unknown) => ({ error }));
      if (this.stopSignal.signal.aborted) return;
      if (outcome === 'relist' || (typeof outcome === 'object' && statusOf(outcome.error) === 410)) {
        this.options.logger.info('ConfigMap watch expired (410 Gone); listing again');
        try {
          await this.list();
          backoff = 250;
        } catch (error) {
          this.fail('list', error);
          this.resourceVersion = '';
        }
      } else if (typeof outcome === 'object') {
        this.fail('watch', outcome.error);
        await this.sleep(backoff, this.stopSignal.signal);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 10_000);
      } else if (Date.now() - startedAt < 1_000) {
        // A stream that ends at once (a proxy closing it) must not turn into a hot loop.
        await this.sleep(backoff, this.stopSignal.signal);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 10_000);
      } else {
        backoff = 250; // the server closed a healthy watch (its timeout): resume at once
      }
    }
  }

  /** One watch request; resolves when the stream ends. */
  private async watchOnce(): Promise<'relist' | 'ended'> {
    const path = `/api/v1/namespaces/${encodeURIComponent(this.options.namespace)}/configmaps`;
    let relist = false;
    return new Promise<'relist' | 'ended'>((resolve, reject) => {
      const done = (error: unknown): void => {
        if (relist) resolve('relist');
        else if (error && !this.stopSignal.signal.aborted) reject(error);
        else resolve('ended');
      };
      new Watch(this.options.kubeConfig)
        .watch(path, { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_SECONDS }, (type: string, object: unknown) => {
          if (type === 'ERROR') {
            const status = object as { code?: number; message?: string };
            if (status.code === 410) relist = true;
            else this.currentProblem = `ConfigMap watch error: ${status.message ?? JSON.stringify(status)}`;
            this.watchAbort?.abort();
            return;
          }
          this.onEvent(type, object as V1ConfigMap);
        }, done)
        .then((abort) => {
          this.watchAbort = abort;
          this.currentProblem = undefined;
        }, reject);
    });
  }

  private onEvent(type: string, cm: V1ConfigMap): void {
    const version = cm.metadata?.resourceVersion;
    if (version) {
      this.resourceVersion = version;
      this.noteVersion(version);
    }
    if (type === 'BOOKMARK') return;
    const name = cm.metadata?.name ?? '';
    const had = this.configMaps.has(name);
    // Un-annotating counts as removing: the ConfigMap no longer belongs to this scheduler.
    if (type !== 'DELETED' && this.isOurs(cm)) this.configMaps.set(name, cm);
    else this.configMaps.delete(name);
    if (had || this.configMaps.has(name)) this.listener?.();
  }

  private isOurs(cm: V1ConfigMap): boolean {
    return cm.metadata?.annotations?.[SCHEDULER_ANNOTATION] === this.options.scheduler;
  }

  private noteVersion(version: string): void {
    const numeric = Number(version);
    if (Number.isFinite(numeric)) this.highestVersion = Math.max(this.highestVersion, numeric);
  }

  private fail(operation: string, error: unknown): void {
    const status = statusOf(error);
    const hint = status === 403 ? ' (RBAC: the service account needs get, list and watch on configmaps in this namespace)' : '';
    this.currentProblem = `ConfigMap ${operation} failed: ${status ? `HTTP ${status}` : (error as Error).message}${hint}`;
    this.options.logger.warn(this.currentProblem, { namespace: this.options.namespace });
  }
}

function statusOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; statusCode?: unknown; body?: unknown } | undefined;
  for (const candidate of [e?.code, e?.statusCode]) if (typeof candidate === 'number') return candidate;
  return undefined;
}
