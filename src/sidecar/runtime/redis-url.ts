import { Cluster, Redis } from 'ioredis';

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

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
}
