import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'drop' | 'blackhole' | 'slow';

/**
 * A TCP proxy between one replica and Redis that the harness controls: pass traffic, drop it
 * (reset every connection and refuse new ones), blackhole it (connections stay open, nothing
 * flows), or slow it (each chunk delayed).
 *
 * Whatever the mode and however it changes, each direction of a connection delivers its bytes in
 * the order they were sent, as TCP does: a chunk that arrives after the mode went back to `pass`
 * still waits for the chunks delayed before it. (Writing delayed chunks from independent timers
 * reordered the stream at a slow-to-pass switch: a Redis client then matched a later command's
 * reply to an earlier command, a corruption no real network causes.)
 */
export class TcpProxy {
  mode: ProxyMode = 'pass';
  slowMs = 300;
  private readonly pairs = new Set<[Socket, Socket]>();
  /** One per direction of each connection: delivers what is due, in order. */
  private readonly pumps = new Set<() => void>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    proxy = new TcpProxy(server, typeof address === 'object' && address ? address.port : 0);
    return proxy;
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode;
    if (mode === 'drop') for (const [a, b] of this.pairs) (a.resetAndDestroy(), b.destroy());
    // Bytes held back while blackholed are delivered when the cut heals (as TCP retransmission would).
    if (mode !== 'blackhole') for (const pump of this.pumps) pump();
  }

  private accept(client: Socket, targetPort: number): void {
    if (this.mode === 'drop') return void client.resetAndDestroy();
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const pumps: Array<() => void> = [];
    const forward = (from: Socket, to: Socket): void => {
      const queue: Array<{ chunk: Buffer; dueMs: number }> = [];
      let timer: NodeJS.Timeout | undefined;
      const pump = (): void => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        while (queue.length > 0 && this.mode !== 'blackhole') {
          if (to.destroyed) return void (queue.length = 0);
          const waitMs = queue[0]!.dueMs - Date.now();
          if (waitMs > 0) {
            timer = setTimeout(pump, waitMs);
            return;
          }
          to.write(queue.shift()!.chunk);
        }
      };
      pumps.push(pump);
      this.pumps.add(pump);
      from.on('data', (chunk: Buffer) => {
        queue.push({ chunk, dueMs: this.mode === 'slow' ? Date.now() + this.slowMs : 0 });
        if (!timer) pump();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const close = (): void => {
      this.pairs.delete(pair);
      for (const pump of pumps) this.pumps.delete(pump);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  async stop(): Promise<void> {
    for (const [a, b] of this.pairs) (a.destroy(), b.destroy());
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
