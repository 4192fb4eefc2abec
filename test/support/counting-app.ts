import { createServer, type Server } from 'node:http';

export interface AppCall {
  path: string;
  task: string;
  scheduled: string;
  attempt: number;
  trigger: string;
  idempotencyKey: string;
  authorization: string | undefined;
  startedMs: number;
  endedMs?: number;
}

/**
 * The app container of a test pod: records every call taskino makes, and misbehaves on request:
 * /ok, /fail (500), /slow?ms=N, /hang (never answers), /reset (drops the connection), /huge (10 MB).
 */
export class CountingApp {
  readonly calls: AppCall[] = [];
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<CountingApp> {
    const calls: AppCall[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://app');
      const call: AppCall = {
        path: url.pathname,
        task: String(req.headers['x-taskino-task'] ?? ''),
        scheduled: String(req.headers['x-taskino-scheduled-time'] ?? ''),
        attempt: Number(req.headers['x-taskino-attempt'] ?? 0),
        trigger: String(req.headers['x-taskino-trigger'] ?? ''),
        idempotencyKey: String(req.headers['idempotency-key'] ?? ''),
        authorization: req.headers.authorization,
        startedMs: Date.now(),
      };
      calls.push(call);
      const done = (status: number, body = ''): void => {
        call.endedMs = Date.now();
        res.writeHead(status);
        res.end(body);
      };
      switch (url.pathname) {
        case '/fail':
          return done(500, 'boom');
        case '/slow':
          return void setTimeout(() => done(200), Number(url.searchParams.get('ms') ?? 1000));
        case '/hang':
          return;
        case '/reset':
          return void req.socket.destroy();
        case '/huge':
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.end(Buffer.alloc(10 * 1024 * 1024, 120));
          call.endedMs = Date.now();
          return;
        default:
          return done(req.method === 'POST' ? 204 : 200);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    const app = new CountingApp(server, typeof address === 'object' && address ? address.port : 0);
    (app as { calls: AppCall[] }).calls = calls;
    return app;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  callsOf(task: string): AppCall[] {
    return this.calls.filter((c) => c.task === task);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
