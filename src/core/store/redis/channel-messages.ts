import type { Progress, StoreEvent } from '../task-store.js';

// The scheduler's pub/sub channel carries short text messages: 'pause', 'members', 'definitions:N'
// (published by the Lua scripts) and a home's progress, written and read here.

export function progressMessage(progress: Progress): string {
  const { instance, throughMs, viewDigest, viewSinceMs, tasksDigest } = progress;
  return `p ${Math.round(throughMs)} ${viewDigest} ${Math.round(viewSinceMs)} ${tasksDigest} ${instance}`;
}

export function parseChannelMessage(message: string): StoreEvent {
  if (message === 'pause') return { type: 'pause' };
  if (message === 'members') return { type: 'members' };
  if (message.startsWith('p ')) {
    // The instance goes last: it is the only part that may hold spaces.
    const [, throughMs = '', viewDigest = '', viewSinceMs = '', tasksDigest = '', ...instance] = message.split(' ');
    return { type: 'progress', progress: { instance: instance.join(' '), throughMs: Number(throughMs), viewDigest, viewSinceMs: Number(viewSinceMs), tasksDigest } };
  }
  return { type: 'definitions', generation: Number(message.split(':')[1] ?? 0) };
}
