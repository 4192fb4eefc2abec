import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, RedisServer } from './redis-server.js';
import { waitFor } from './wait.js';

/** A primary, a replica and three sentinels on loopback, as a production user outgrows one Redis with. */
export class SentinelSetup {
  private constructor(
    readonly primary: RedisServer,
    readonly replica: RedisServer,
    readonly sentinelPorts: number[],
    private readonly sentinels: ChildProcess[],
  ) {}

  static readonly master = 'taskino';

  static async start(): Promise<SentinelSetup> {
    const primary = await RedisServer.start();
    const replica = await RedisServer.start(['--replicaof', '127.0.0.1', String(primary.port)]);
    const dir = mkdtempSync(join(tmpdir(), 'taskino-sentinel-'));
    const ports = [await freePort(), await freePort(), await freePort()];
    const sentinels = ports.map((port, i) => {
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', `sentinel monitor ${SentinelSetup.master} 127.0.0.1 ${primary.port} 2`, `sentinel down-after-milliseconds ${SentinelSetup.master} 1000`, `sentinel failover-timeout ${SentinelSetup.master} 2000`, ''].join('\n'));
      return spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    });
    const setup = new SentinelSetup(primary, replica, ports, sentinels);
    await waitFor(async () => (await setup.sentinelQuery(['SENTINEL', 'REPLICAS', SentinelSetup.master]).catch(() => [])).length > 0, { timeoutMs: 15_000, what: 'the sentinels to see the replica' });
    return setup;
  }

  get url(): string {
    return `redis+sentinel://${this.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${SentinelSetup.master}`;
  }

  /** The port of the primary the sentinels name now. */
  async primaryPort(): Promise<number> {
    const [, port] = (await this.sentinelQuery(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SentinelSetup.master])) as [string, string];
    return Number(port);
  }

  /**
   * A forced failover: the replica is promoted, the old primary becomes its replica. Sentinel only
   * fails over to a replica it sees connected with its link to the primary up, and it may accept the
   * command yet abort the failover (e.g. the last one still settling), so: wait for a good replica,
   * ask, wait up to 10 s for the promotion, and ask again until `timeoutMs`.
   */
  async failover(timeoutMs = 45_000): Promise<void> {
    const before = await this.primaryPort();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.replicaReady().catch(() => false)) {
        const accepted = await this.sentinelQuery(['SENTINEL', 'FAILOVER', SentinelSetup.master]).then(
          () => true,
          () => false, // INPROG or NOGOODSLAVE: ask again
        );
        const promotedBy = Math.min(deadline, Date.now() + 10_000);
        while (accepted && Date.now() < promotedBy) {
          if ((await this.primaryPort().catch(() => before)) !== before) return;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`Sentinel did not fail over from ${before} within ${timeoutMs} ms`);
  }

  /** Sentinel sees a replica of the primary, connected, with its replication link up. */
  private async replicaReady(): Promise<boolean> {
    const replicas = (await this.sentinelQuery(['SENTINEL', 'REPLICAS', SentinelSetup.master])) as string[][];
    return replicas.some((fields) => {
      const info = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) info.set(fields[i]!, fields[i + 1]!);
      return info.get('flags') === 'slave' && info.get('master-link-status') === 'ok';
    });
  }

  private async sentinelQuery(command: string[]): Promise<unknown[]> {
    const client = new Redis(this.sentinelPorts[0]!, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    try {
      await client.connect();
      return (await client.call(command[0]!, ...command.slice(1))) as unknown[];
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sentinels) s.kill('SIGKILL');
    await Promise.all([this.primary.stop(), this.replica.stop()]);
  }
}

/** A Redis Cluster of three primaries on loopback (redis-cli --cluster create). */
export class ClusterSetup {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(): Promise<ClusterSetup> {
    const dir = mkdtempSync(join(tmpdir(), 'taskino-cluster-'));
    const nodes: RedisServer[] = [];
    for (let i = 0; i < 3; i++) nodes.push(await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--cluster-node-timeout', '2000'], dir));
    execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
    const setup = new ClusterSetup(nodes);
    await waitFor(async () => {
      const infos = await Promise.all(nodes.map(async (n) => {
        const c = n.client();
        try {
          return await c.call('CLUSTER', 'INFO');
        } finally {
          c.disconnect();
        }
      }));
      return infos.every((info) => String(info).includes('cluster_state:ok'));
    }, { timeoutMs: 20_000, what: 'the cluster to be ok' });
    return setup;
  }

  get url(): string {
    return `redis+cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  /**
   * Moves the slot of a hash tag to another primary while clients keep using it: IMPORTING /
   * MIGRATING, MIGRATE of its keys in batches, then SETSLOT NODE on every primary.
   */
  async migrateSlotOf(hashTag: string): Promise<{ slot: number; from: number; to: number }> {
    const clients = this.nodes.map((n) => n.client());
    try {
      const slot = Number(await clients[0]!.call('CLUSTER', 'KEYSLOT', `{${hashTag}}`));
      const ids = await Promise.all(clients.map(async (c) => String(await c.call('CLUSTER', 'MYID'))));
      const owners = await Promise.all(clients.map((c) => ownsSlot(c, slot)));
      const from = owners.indexOf(true);
      const to = (from + 1) % this.nodes.length;
      const source = clients[from]!;
      const target = clients[to]!;
      await target.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', ids[from]!);
      await source.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', ids[to]!);
      for (;;) {
        const keys = (await source.call('CLUSTER', 'GETKEYSINSLOT', slot, 50)) as string[];
        if (keys.length === 0) break;
        await source.call('MIGRATE', '127.0.0.1', this.nodes[to]!.port, '', 0, 5000, 'REPLACE', 'KEYS', ...keys);
      }
      for (const c of clients) await c.call('CLUSTER', 'SETSLOT', slot, 'NODE', ids[to]!);
      return { slot, from: this.nodes[from]!.port, to: this.nodes[to]!.port };
    } finally {
      for (const c of clients) c.disconnect();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

async function ownsSlot(client: Redis, slot: number): Promise<boolean> {
  const myId = String(await client.call('CLUSTER', 'MYID'));
  const slots = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
  return slots.some(([start, end, master]) => start <= slot && slot <= end && master[2] === myId);
}
