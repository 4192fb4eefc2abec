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
        // Follow a failover as soon as the sentinels announce it (+switch-master). Without this the
        // connection stays on the old primary, which keeps accepting writes until Sentinel demotes it
        // (up to ~10 s, its INFO period); those writes (claims, history) are then lost in its resync.
        failoverDetector: true,
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
