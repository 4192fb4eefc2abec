// Counts the Redis commands this process sends, by patching ioredis (every client in the process,
// whoever created it: taskino, BullMQ, subscribers, blocking connections). INFO commandstats also
// counts the commands a Lua script runs inside Redis; this count is what the clients sent, a script
// call being one command. A command resent after a reconnect is counted once.
import { Redis } from 'ioredis';
import { toParent, type ToChild } from './protocol.js';

type SendCommand = Redis['sendCommand'];

const byName = new Map<string, number>();
let total = 0;
const seen = new WeakSet<object>();
const original: SendCommand = Redis.prototype.sendCommand;

Redis.prototype.sendCommand = function (this: Redis, ...args: Parameters<SendCommand>): ReturnType<SendCommand> {
  const command = args[0];
  if (!seen.has(command)) {
    seen.add(command);
    total++;
    byName.set(command.name, (byName.get(command.name) ?? 0) + 1);
  }
  return original.apply(this, args);
};

export function commandCounts(): { total: number; byName: Record<string, number> } {
  return { total, byName: Object.fromEntries(byName) };
}

/** Answers the parent's 'counts' requests (used alone as a preload for `taskino run`). */
export function answerCountRequests(): void {
  process.on('message', (message: ToChild) => {
    if (message.type === 'counts') toParent({ type: 'counts', id: message.id, ...commandCounts() });
  });
}
