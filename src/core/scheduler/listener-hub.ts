import type { Logger, SchedulerListener } from './types.js';

type Callbacks = Required<SchedulerListener>;

/** Fans events out to listeners; one listener's exception is logged and never reaches the scheduler. */
export class ListenerHub {
  private readonly listeners: SchedulerListener[] = [];

  constructor(private readonly logger: Logger) {}

  add(listener: SchedulerListener): void {
    this.listeners.push(listener);
  }

  /** Whether any listener takes `event`: per-fire events skip building what nobody reads. */
  listens(event: keyof Callbacks): boolean {
    return this.listeners.some((listener) => listener[event] !== undefined);
  }

  emit<K extends keyof Callbacks>(event: K, ...args: Parameters<Callbacks[K]>): void {
    for (const listener of this.listeners) {
      const callback = listener[event] as ((...a: Parameters<Callbacks[K]>) => void) | undefined;
      if (!callback) continue;
      try {
        callback.apply(listener, args);
      } catch (error) {
        this.logger.error(`listener ${event} threw`, { error: (error as Error).message });
      }
    }
  }
}
