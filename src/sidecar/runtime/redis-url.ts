import { Cluster, Redis } from 'ioredis';
import type { ClaimAcks } from '../../core/store/redis/redis-task-store.js';

export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'sentinel'; nodes: Array<{ host: string; port: number }>; name: string; username?: string; password?: string; db: number; tls: boolean }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }>; username?: string; password?: string; tls: boolean };

export const REDIS_URL_FORMS =
  'redis://[user:password@]host:port[/db], rediss://... (TLS), redis+sentinel://[user:password@]host:26379,host:26379/MASTER[/db], or redis+cluster://[user:password@]host:7000,host:7001';

const MULTI = /^(rediss?)\+(sentinel|cluster):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/]+?)(?:\/([^/]+))?(?:\/(\d+))?$/;

/** Parses the --redis forms; throws an Error whose message says what is allowed. */
export function parseRedisUrl(url: string): RedisTarget {
  if (/^rediss?:\/\//.test(url)) return { kind: 'single', url };
  const match = MULTI.exec(url);
  if (!match) throw new Error(`--redis must be one of ${REDIS_URL_FORMS}; got "${redact(url)}"`);
  const [, scheme, kind, user, password, hostList, name, db] = match;
  const nodes = hostList!.split(',').map((entry) => {
    const [host, port] = entry.split(':');
    if (!host || !port || !/^\d+$/.test(port)) throw new Error(`--redis: "${entry}" must be host:port in "${redact(url)}"`);
    return { host, port: Number(port) };
  });
  const credentials = { ...(user ? { username: decodeURIComponent(user) } : {}), ...(password ? { password: decodeURIComponent(password) } : {}) };
  if (kind === 'sentinel') {
    if (!name) throw new Error(`--redis: a Sentinel URL names the master after the hosts, e.g. redis+sentinel://host:26379/mymaster; got "${redact(url)}"`);
    return { kind: 'sentinel', nodes, name, db: Number(db ?? 0), tls: scheme === 'rediss', ...credentials };
  }
  return { kind: 'cluster', nodes, tls: scheme === 'rediss', ...credentials };
}

/** The ioredis client for a target: Sentinel follows failovers, Cluster follows slot moves. */
export function createRedisClient(target: RedisTarget, retry: (attempt: number) => number): Redis | Cluster {
  switch (target.kind) {
    case 'single':
      return new Redis(target.url, { maxRetriesPerRequest: 2, retryStrategy: retry });
    case 'sentinel':
      return new Redis({
        sentinels: target.nodes,
        name: target.name,
        db: target.db,
        ...(target.username ? { username: target.username } : {}),
        ...(target.password ? { password: target.password } : {}),
        ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
        // Not failoverDetector: following +switch-master at once sends some replicas to the promoted
        // primary while others still write to the old one, which accepts writes until Sentinel demotes
        // it; two replicas then each won the same fire in the topology test. Staying put, every
        // client moves when the old primary is demoted, and hands back what it knows on reconnecting.
        maxRetriesPerRequest: 2,
        retryStrategy: retry,
      });
    case 'cluster':
      return new Cluster(target.nodes, {
        clusterRetryStrategy: retry,
        redisOptions: {
          ...(target.username ? { username: target.username } : {}),
          ...(target.password ? { password: target.password } : {}),
          ...(target.tls ? { tls: {} } : {}),
          maxRetriesPerRequest: 2,
        },
      });
  }
}

/** How long a claim waits for a replica's acknowledgement before asking the sentinels, in ms. */
const ACK_TIMEOUT_MS = 100;

/**
 * With Sentinel, a claim must reach a replica before it runs: after a failover the old primary
 * accepts writes until Sentinel demotes it, and a claim decided there would be discarded while the
 * new primary decides the same fire for another replica. When no replica acknowledges in time (the
 * replica is down, or this is the old primary), the sentinels say whether this server is still the
 * primary.
 */
export function claimAcksFor(target: RedisTarget, redis: Redis | Cluster): ClaimAcks | undefined {
  if (target.kind !== 'sentinel' || redis instanceof Cluster) return undefined;
  return { replicas: 1, timeoutMs: ACK_TIMEOUT_MS, isPrimary: () => isSentinelPrimary(target, redis) };
}

/**
 * Every sentinel must answer and name this server primary, with no failover in progress: only the
 * sentinel leading a failover knows of it before the switch, and the others name the old primary for
 * a while after it; any of them may be the leader. (So with a sentinel unreachable, a primary whose
 * replicas are down stops claiming: a double fault, and the safe side of it.)
 */
async function isSentinelPrimary(target: Extract<RedisTarget, { kind: 'sentinel' }>, redis: Redis): Promise<boolean> {
  const server = parseInfo(await redis.info('server'));
  const views = await Promise.all(target.nodes.map((node) => askSentinel(node, target.name)));
  let replaced = false;
  for (const master of views) {
    if (!master) return false;
    if ((master.get('flags') ?? '').includes('failover_in_progress')) return false;
    const runId = master.get('runid');
    // Right after a failover the sentinels may not know the new primary's run id yet: its port tells.
    const named = runId ? runId === server.get('run_id') : master.get('port') === server.get('tcp_port');
    if (!named) replaced = true;
  }
  // Replaced: reconnect now (through the sentinels, to the new primary) rather than when demoted.
  if (replaced) redis.disconnect(true);
  return !replaced;
}

async function askSentinel(node: { host: string; port: number }, name: string): Promise<Map<string, string> | undefined> {
  const sentinel = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  sentinel.on('error', () => {});
  try {
    const fields = (await sentinel.call('SENTINEL', 'MASTER', name)) as string[];
    const master = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) master.set(fields[i]!, fields[i + 1]!);
    return master;
  } catch {
    return undefined;
  } finally {
    sentinel.disconnect();
  }
}

function parseInfo(info: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return fields;
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
}
