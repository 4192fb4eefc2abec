// The peer: one BullMQ replica in its own process, a Queue and a Worker with a no-op processor.
// A job scheduler's job id is `repeat:<scheduler id>:<scheduled ms>`, so start lateness is the
// processor's first line minus that time, the same measure as taskino's handler.
import { Queue, Worker, type Job } from 'bullmq';
import { commandCounts } from './command-counter.js';
import { CONFIG_ENV, exitWithParent, taskIndex, toParent, writeFireLine, type BullmqReplicaConfig, type ToChild } from './protocol.js';

const config = JSON.parse(process.env[CONFIG_ENV] ?? '{}') as BullmqReplicaConfig;
exitWithParent();

let fires: number[] = [];
let unparsed = 0;

function flush(): void {
  if (fires.length === 0 && unparsed === 0) return;
  const data = fires;
  fires = [];
  toParent({ type: 'fires', data, skips: unparsed > 0 ? { unparsed } : {} });
  unparsed = 0;
}

const connection = { host: config.host, port: config.port, maxRetriesPerRequest: null };
const queue = new Queue(config.queue, { connection });
const worker = new Worker(
  config.queue,
  async (job: Job) => {
    const startedMs = Date.now();
    const id = job.id ?? '';
    const scheduledMs = Number(id.slice(id.lastIndexOf(':') + 1));
    if (!job.repeatJobKey || !Number.isFinite(scheduledMs)) {
      unparsed++;
      return;
    }
    if (config.reportSync) writeFireLine(taskIndex(job.repeatJobKey), scheduledMs, startedMs);
    else fires.push(taskIndex(job.repeatJobKey), scheduledMs, startedMs);
  },
  { connection, concurrency: config.concurrency },
);
let logged = 0;
const report = (error: Error): void => {
  if (logged++ < 20) toParent({ type: 'log', level: 'error', message: error.message });
};
worker.on('error', report);
queue.on('error', report);

async function upsert(tasks: number, everyMs: number, startDateMs: number): Promise<void> {
  const chunk = 200;
  for (let from = 0; from < tasks; from += chunk) {
    const batch: Array<Promise<unknown>> = [];
    for (let i = from; i < Math.min(tasks, from + chunk); i++) {
      batch.push(
        queue.upsertJobScheduler(`t-${i}`, { every: everyMs, startDate: startDateMs }, { name: 'noop', opts: { removeOnComplete: true, removeOnFail: true } }),
      );
    }
    await Promise.all(batch);
  }
}

process.on('message', (message: ToChild) => {
  switch (message.type) {
    case 'counts':
      return toParent({ type: 'counts', id: message.id, ...commandCounts() });
    case 'flush':
      flush();
      return toParent({ type: 'flushed', id: message.id });
    case 'upsert': {
      const startedMs = Date.now();
      upsert(message.tasks, message.everyMs, message.startDateMs).then(
        () => toParent({ type: 'upserted', id: message.id, startedMs, endedMs: Date.now() }),
        (error: Error) => toParent({ type: 'error', message: `upsert failed: ${error.message}` }),
      );
      return;
    }
    default:
      return;
  }
});

process.on('SIGTERM', () => {
  const closing = Promise.allSettled([worker.close(), queue.close()]);
  void Promise.race([closing, new Promise((r) => setTimeout(r, 2_000))]).finally(() => {
    flush();
    process.exit(0);
  });
});

setInterval(flush, 500).unref();
await Promise.all([worker.waitUntilReady(), queue.waitUntilReady()]);
toParent({ type: 'ready', pid: process.pid });
