import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'drop' | 'blackhole' | 'slow';

/**
 * A TCP proxy between one replica and Redis that the harness controls: pass traffic, drop it
 * (reset every connection and refuse new ones), blackhole it (connections stay open, nothing
 * flows), or slow it (each chunk delayed).
 */
export class TcpProxy {
  mode: ProxyMode = 'pass';
  slowMs = 300;
  private readonly pairs = new Set<[Socket, Socket]>();
  /** Bytes held back while blackholed, delivered when the cut heals (as TCP retransmission would). */
  private held: Array<() => void> = [];
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
    if (mode !== 'blackhole') for (const deliver of this.held.splice(0)) deliver();
  }

  private accept(client: Socket, targetPort: number): void {
    if (this.mode === 'drop') return void client.resetAndDestroy();
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk) => {
        if (this.mode === 'blackhole') return void this.held.push(() => to.write(chunk));
        if (this.mode === 'slow') setTimeout(() => to.write(chunk), this.slowMs);
        else to.write(chunk);
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const close = (): void => {
      this.pairs.delete(pair);
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
