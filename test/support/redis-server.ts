import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { waitFor } from './wait.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A real redis-server owned by a test: no persistence (a restart loses everything, as in a pod
 * without a volume), on a free loopback port, and at the test's mercy (kill, restart, pause).
 */
export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
    /** Private data directory: a replica saves the RDB it receives there, and a server loads any RDB it finds there at start. */
    private readonly dir: string,
  ) {}

  /** `extraArgs` are appended to the command line (e.g. --replicaof, --cluster-enabled yes). */
  static async start(extraArgs: string[] = [], dir?: string): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), extraArgs, dir ?? mkdtempSync(join(tmpdir(), 'taskino-redis-')));
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A client for the test itself, failing fast instead of queueing while the server is down. */
  client(): Redis {
    const client = new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    client.on('error', () => {});
    return client;
  }

  private async launch(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', this.dir, '--dbfilename', `dump-${this.port}.rdb`, ...this.extraArgs],
      { stdio: 'ignore', cwd: this.dir },
    );
    this.child = child;
    const probe = new Redis(this.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await waitFor(
        async () => {
          try {
            if (probe.status !== 'ready') await probe.connect();
            return (await probe.ping()) === 'PONG';
          } catch {
            probe.disconnect();
            return false;
          }
        },
        { timeoutMs: 10_000, what: `redis-server on port ${this.port} to answer PING` },
      );
    } finally {
      probe.disconnect();
    }
  }

  /** SIGKILL: every client sees the connection drop. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Kill and start again on the same port: all state is gone, as after a restart without persistence. */
  async restart(): Promise<void> {
    await this.kill();
    rmSync(join(this.dir, `dump-${this.port}.rdb`), { force: true }); // nothing may survive, even an RDB a replica received
    await this.launch();
  }

  /** SIGSTOP: connections stay open but nothing answers (a hung or partitioned server). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.resume();
    await this.kill();
  }
}
