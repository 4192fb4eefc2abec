import { createServer, type Server } from 'node:http';

export type AppFault = 'none' | 'slow' | 'hang' | '500' | 'reset' | 'huge';

export interface LedgerEntry {
  task: string;
  scheduledMs: number;
  attempt: number;
  trigger: string;
  startMs: number;
  endMs: number | undefined;
}

/** The app the replicas call: records every request (the ground truth) and misbehaves on demand. */
export class LedgerApp {
  readonly entries: LedgerEntry[] = [];
  fault: AppFault = 'none';
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<LedgerApp> {
    let app: LedgerApp | undefined;
    const server = createServer((req, res) => app?.handle(req, res));
    // Node's default keep-alive (5 s) is left alone. (A 1 s keepAliveTimeout, the fire period, was
    // set here before: undici then saw "Keep-Alive: timeout=1", below its 2 s safety threshold, and
    // opened a new connection for every call, so no stale socket was ever reused either way.)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    app = new LedgerApp(server, typeof address === 'object' && address ? address.port : 0);
    return app;
  }

  private handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
    const entry: LedgerEntry = {
      task: String(req.headers['x-taskino-task'] ?? ''),
      scheduledMs: Date.parse(String(req.headers['x-taskino-scheduled-time'] ?? '')),
      attempt: Number(req.headers['x-taskino-attempt'] ?? 0),
      trigger: String(req.headers['x-taskino-trigger'] ?? ''),
      startMs: Date.now(),
      endMs: undefined,
    };
    this.entries.push(entry);
    res.on('close', () => (entry.endMs ??= Date.now()));
    const path = (req.url ?? '/').split('?')[0];
    // The overlap-skip task is always slow: runs would overlap if the lease did not hold.
    if (path === '/slow') return void setTimeout(() => res.end(), 1_500);
    switch (path === '/faulty' ? this.fault : 'none') {
      case 'slow':
        return void setTimeout(() => res.end(), 800);
      case 'hang':
        return; // the sidecar's timeout aborts; 'close' records the end
      case '500':
        res.writeHead(500);
        return void res.end('chaos');
      case 'reset':
        return void req.socket.destroy();
      case 'huge':
        return void res.end(Buffer.alloc(10 * 1024 * 1024, 120));
      default:
        return void res.end();
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
