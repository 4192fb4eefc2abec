import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;
type Reply = unknown;

/**
 * A Lua script called by EVALSHA, falling back to EVAL when the server does not know it (NOSCRIPT:
 * after a restart or SCRIPT FLUSH), which also loads it for the next call.
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  static load(name: string): LuaScript {
    const source = readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
    return new LuaScript(name, source);
  }

  async run(redis: RedisClient, keys: string[], args: Array<string | number>): Promise<Reply> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
