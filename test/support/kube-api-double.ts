import { writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';

interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name: string; namespace: string; resourceVersion: string; annotations?: Record<string, string>; uid: string };
  data: Record<string, string>;
}

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: ConfigMap;
}

/**
 * A stand-in for the Kubernetes API server's ConfigMap list and watch, faithful where a client
 * can tell: lists carry the collection resourceVersion; `?watch=true&resourceVersion=N` streams
 * newline-delimited JSON events after N (or, without N, synthetic ADDED events first); a
 * resourceVersion older than the retained history gets an ERROR event with a 410 Expired Status;
 * `forbidden` answers 403 like missing RBAC; `dropConnections()` cuts streams mid-flight.
 */
export class KubeApiDouble {
  readonly namespace = 'apps';
  forbidden = false;
  /** While true, changes are recorded but not streamed to open watches (a stalled stream). */
  holdEvents = false;
  readonly requests: string[] = [];
  private rv = 1000;
  private readonly configMaps = new Map<string, ConfigMap>();
  private history: WatchEvent[] = [];
  private oldestRetained = 0;
  private readonly watches = new Set<{ res: ServerResponse; namespace: string }>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<KubeApiDouble> {
    let double: KubeApiDouble | undefined;
    const server = createServer((req, res) => double?.handle(req.method ?? 'GET', req.url ?? '/', req.headers.authorization, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    double = new KubeApiDouble(server, typeof address === 'object' && address ? address.port : 0);
    return double;
  }

  /** Creates or replaces a ConfigMap (kubectl apply). */
  apply(name: string, data: Record<string, string>, annotations?: Record<string, string>): number {
    const existed = this.configMaps.has(name);
    const cm: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: this.namespace, resourceVersion: String(++this.rv), uid: `uid-${name}`, ...(annotations ? { annotations } : {}) },
      data,
    };
    this.configMaps.set(name, cm);
    this.emit({ rv: this.rv, type: existed ? 'MODIFIED' : 'ADDED', object: cm });
    return this.rv;
  }

  delete(name: string): number {
    const cm = this.configMaps.get(name);
    if (!cm) throw new Error(`no ConfigMap ${name}`);
    this.configMaps.delete(name);
    const deleted = { ...cm, metadata: { ...cm.metadata, resourceVersion: String(++this.rv) } };
    this.emit({ rv: this.rv, type: 'DELETED', object: deleted });
    return this.rv;
  }

  /** Forgets the event history, as etcd compaction does: resuming from an older version gets 410. */
  compact(): void {
    this.history = [];
    this.oldestRetained = this.rv;
  }

  /** Cuts every open watch stream without a final event (a load balancer or API server restart). */
  dropConnections(): void {
    for (const w of this.watches) w.res.socket?.destroy();
    this.watches.clear();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  writeKubeconfig(dir: string): string {
    const path = join(dir, 'kubeconfig');
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: double\n  cluster:\n    server: http://127.0.0.1:${this.port}\n    insecure-skip-tls-verify: true`,
        'users:',
        '- name: taskino\n  user:\n    token: test-token',
        'contexts:',
        `- name: double\n  context:\n    cluster: double\n    user: taskino\n    namespace: ${this.namespace}`,
        'current-context: double',
        '',
      ].join('\n'),
    );
    return path;
  }

  async stop(): Promise<void> {
    this.dropConnections();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(method: string, rawUrl: string, authorization: string | undefined, res: ServerResponse): void {
    const url = new URL(rawUrl, 'http://api');
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps$/.exec(url.pathname);
    const watch = url.searchParams.get('watch') === 'true';
    this.requests.push(`${watch ? 'WATCH' : method} ${url.pathname}${url.search}`);
    if (authorization !== 'Bearer test-token') return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (!match || method !== 'GET') return status(res, 404, 'NotFound', `the server could not find the requested resource (${method} ${url.pathname})`);
    const namespace = decodeURIComponent(match[1]!);
    if (this.forbidden) {
      return status(res, 403, 'Forbidden', `configmaps is forbidden: User "system:serviceaccount:${namespace}:taskino" cannot ${watch ? 'watch' : 'list'} resource "configmaps" in API group "" in the namespace "${namespace}"`);
    }
    const items = namespace === this.namespace ? [...this.configMaps.values()] : [];
    if (!watch) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: String(this.rv) }, items }));
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders(); // the API server answers a watch at once, events or not
    const from = url.searchParams.get('resourceVersion');
    if (from && from !== '0' && Number(from) < this.oldestRetained) {
      const expired = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${from} (${this.oldestRetained})`, reason: 'Expired', code: 410 };
      res.write(`${JSON.stringify({ type: 'ERROR', object: expired })}\n`);
      return void res.end();
    }
    if (!from || from === '0') for (const cm of items) res.write(`${JSON.stringify({ type: 'ADDED', object: cm })}\n`);
    else for (const e of this.history) if (e.rv > Number(from) && e.object.metadata.namespace === namespace) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    const entry = { res, namespace };
    this.watches.add(entry);
    res.on('close', () => this.watches.delete(entry));
  }

  private emit(event: WatchEvent): void {
    this.history.push(event);
    if (this.holdEvents) return;
    for (const w of this.watches) if (w.namespace === event.object.metadata.namespace) w.res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
  }
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}
