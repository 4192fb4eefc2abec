import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/core/store/redis/batcher.js';

/** A store that answers a batch when told to, and records what it was sent. */
function slowStore() {
  const sent: number[][] = [];
  const answers: Array<() => void> = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const flush = (items: number[]) => {
    sent.push(items);
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    return new Promise<number[]>((resolve) =>
      answers.push(() => {
        inFlight--;
        resolve(items.map((n) => n * 10));
      }),
    );
  };
  return { sent, answers, flush, mostInFlight: () => mostInFlight };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Batcher', () => {
  it('sends the calls of one turn in batches of at most maxBatch, in order, and answers each call', async () => {
    const store = slowStore();
    const batcher = new Batcher(store.flush, 100);
    const results = Array.from({ length: 250 }, (_, i) => batcher.add(i));
    await turn();
    expect(store.sent.map((b) => b.length)).toEqual([100, 100, 50]);
    store.answers.forEach((answer) => answer());
    expect(await Promise.all(results)).toEqual(Array.from({ length: 250 }, (_, i) => i * 10));
  });

  it('keeps at most maxInFlight batches unanswered: the rest wait in the replica, in order, and go as answers come', async () => {
    const store = slowStore();
    const batcher = new Batcher(store.flush, 10, 2);
    const results = Array.from({ length: 55 }, (_, i) => batcher.add(i));
    await turn();
    expect(store.sent.length).toBe(2); // 35 calls wait here, not in Redis
    while (store.answers.length > 0) {
      store.answers.shift()!();
      await turn();
    }
    expect(store.sent.flat()).toEqual(Array.from({ length: 55 }, (_, i) => i));
    expect(store.mostInFlight()).toBe(2);
    expect((await Promise.all(results)).at(-1)).toBe(540);
  });
});
