import { assertSchedulerName } from '../../names.js';

/**
 * Every key of one scheduler shares the hash tag `{<scheduler>}`, so each Lua script touches a
 * single Redis Cluster slot.
 */
export class RedisKeys {
  readonly prefix: string;

  constructor(readonly scheduler: string) {
    assertSchedulerName(scheduler);
    this.prefix = `taskino:{${scheduler}}:`;
  }

  get epoch(): string {
    return `${this.prefix}epoch`;
  }
  get definitions(): string {
    return `${this.prefix}defs`;
  }
  get pauses(): string {
    return `${this.prefix}pause`;
  }
  get pauseSeq(): string {
    return `${this.prefix}pseq`;
  }
  get members(): string {
    return `${this.prefix}members`;
  }
  get liveness(): string {
    return `${this.prefix}liveness`;
  }
  /** Written only to make a connection's replication offset cover what it read (claimAcks). */
  get readMark(): string {
    return `${this.prefix}read-mark`;
  }
  get channel(): string {
    return `${this.prefix}events`;
  }
  taskState(task: string): string {
    return `${this.prefix}t:${task}`;
  }
  lease(task: string): string {
    return `${this.prefix}lease:${task}`;
  }
  history(task: string): string {
    return `${this.prefix}hist:${task}`;
  }
}
