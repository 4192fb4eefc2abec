import { digestOf, type DefinitionSet, type PublishedTask, type TaskDefinition } from '../definitions.js';
import { DuplicateTaskError } from '../errors.js';
import type { Heartbeat, PublishResult, TaskStore } from '../store/task-store.js';
import type { Task, TaskHandler } from '../task.js';
import { withTimeout } from '../time.js';
import { anchorTrigger, type TriggerTemplate } from '../triggers/trigger.js';
import type { FireQueue } from './fire-queue.js';
import type { ScheduledTask } from './scheduled-task.js';
import type { ReplicaKnowledge } from './knowledge.js';
import type { ListenerHub } from './listener-hub.js';
import { reconcileSchedule, type UnrunnableTask } from './schedule-table.js';
import type { Logger } from './types.js';

type Offer = Map<string, { template: TriggerTemplate; task: Task }>;

function offerTask(offer: Offer, template: TriggerTemplate, task: Task): void {
  if (offer.has(task.name)) throw new DuplicateTaskError(task.name);
  offer.set(task.name, { template, task });
}

export interface DefinitionSyncDeps {
  store: TaskStore;
  logger: Logger;
  hub: ListenerHub;
  knowledge: ReplicaKnowledge;
  scheduled: Map<string, ScheduledTask>;
  /** Published tasks this replica cannot run (see reconcileSchedule). */
  unrunnable: Map<string, UnrunnableTask>;
  queue: FireQueue;
  /** Bound on one store call, in ms; a publish gets twice this. */
  storeTimeoutMs: number;
  handlerFor: ((definition: TaskDefinition) => TaskHandler | undefined) | undefined;
  /** Publishing beats first, so the store knows this instance before it decides. */
  heartbeat: () => Heartbeat;
  /** The schedule now follows a different set. */
  onApplied: () => void;
}

/**
 * What this replica offers (its registered tasks under a version) and what it follows (the set in
 * the store, whoever published it): the highest version wins cluster-wide.
 */
export class DefinitionSync {
  private offer: Offer = new Map();
  private version = 0;

  constructor(private readonly deps: DefinitionSyncDeps) {}

  register(template: TriggerTemplate, task: Task): void {
    offerTask(this.offer, template, task);
  }

  setVersion(version: number): void {
    this.version = version;
  }

  /** Offers a new set under `version`; on failure the previous offer stands. */
  async replace(tasks: Array<{ trigger: TriggerTemplate; task: Task }>, version: number): Promise<PublishResult> {
    const offer: Offer = new Map();
    for (const { trigger, task } of tasks) offerTask(offer, trigger, task);
    const previous = { offer: this.offer, version: this.version };
    this.offer = offer;
    this.version = version;
    try {
      return await withTimeout('publish', this.deps.storeTimeoutMs * 2, () => this.publish());
    } catch (error) {
      Object.assign(this, previous);
      throw error;
    }
  }

  /** Publishes the offer, or adopts the stored set when it is newer; the schedule follows the result. */
  async publish(): Promise<PublishResult> {
    const { store, logger } = this.deps;
    await store.sync(this.deps.heartbeat());
    const now = store.now();
    const definitions: TaskDefinition[] = [...this.offer.values()].map(({ template, task }) => {
      const definition: TaskDefinition = { name: task.name, trigger: anchorTrigger(template, now), ...task.options };
      return definition;
    });
    const contentDigest = digestOf([...this.offer.values()].map(({ template, task }) => ({ template, options: task.options })));
    const outcome = await store.publish({ version: this.version, contentDigest, anchorMs: now, tasks: definitions });
    if (outcome.conflict) {
      logger.warn('another replica published different definitions under the same version; raise the version to replace them', {
        version: this.version,
      });
    } else if (!outcome.accepted && outcome.set.version > this.version) {
      logger.info('adopted newer definitions published by another replica', { version: outcome.set.version, ours: this.version });
    }
    this.apply(outcome.set);
    return outcome;
  }

  /** Loads the stored set when its generation moved; republishes when the store lost it or holds an older version. */
  async follow(generation: number): Promise<void> {
    const { store, storeTimeoutMs } = this.deps;
    const known = this.deps.knowledge.set;
    if (known && generation === known.generation) return;
    const set = await withTimeout('load', storeTimeoutMs, () => store.loadDefinitions());
    if (!set || set.version < this.version) await withTimeout('publish', storeTimeoutMs * 2, () => this.publish());
    else this.apply(set);
  }

  /** Switches to a definition set; an older generation never replaces a newer one. */
  private apply(set: DefinitionSet): void {
    const { knowledge, scheduled, queue, store, logger } = this.deps;
    const current = knowledge.set;
    if (current && set.generation <= current.generation && set.digest === current.digest) return;
    if (current && set.generation < current.generation) return;
    knowledge.set = set;
    reconcileSchedule(scheduled, this.deps.unrunnable, queue, set, store.now(), (published) => this.handlerOf(published), logger);
    this.deps.onApplied();
    if (current) this.deps.hub.emit('onReload', set);
  }

  private handlerOf(published: PublishedTask): TaskHandler | undefined {
    return this.deps.handlerFor?.(published.definition) ?? this.offer.get(published.definition.name)?.task.handler;
  }
}
