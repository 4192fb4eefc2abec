import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  /** What is not ready, for a person reading the probe's output. */
  reasons: string[];
}

/** `/metrics`, `/healthz` (the process answers) and `/readyz` (store reachable, definitions loaded). */
export class HealthServer {
  private server: Server | undefined;

  constructor(
    private readonly port: number,
    private readonly registry: Registry,
    private readonly readiness: () => Promise<Readiness>,
    /** Default: every address, IPv4 and IPv6. */
    private readonly host?: string,
  ) {}

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      void (async () => {
        if (path === '/metrics') {
          const body = await this.registry.metrics();
          res.writeHead(200, { 'content-type': this.registry.contentType });
          res.end(body);
        } else if (path === '/healthz') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('ok\n');
        } else if (path === '/readyz') {
          const state = await this.readiness();
          res.writeHead(state.ready ? 200 : 503, { 'content-type': 'text/plain' });
          res.end(state.ready ? 'ready\n' : `not ready: ${state.reasons.join('; ')}\n`);
        } else {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('not found: try /metrics, /healthz or /readyz\n');
        }
      })().catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`error: ${error.message}\n`);
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    const address = server.address();
    return typeof address === 'object' && address ? address.port : this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
