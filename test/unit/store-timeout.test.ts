import { describe, expect, it } from 'vitest';
import { withTimeout } from '../../src/core/time.js';

// A store call slower than the timeout used to count as failed and be sent again. Under load (10,000
// tasks on 5 replicas) every claim waited behind the others, timed out, and was sent again while the
// first copy still ran: Redis drowned in copies and no fire ran. A store that keeps answering other
// calls is slow, not gone, and the call is waited for.

/** A call that settles after `ms`, with the store answering other calls every 10 ms meanwhile (or not). */
function slowCall(ms: number, storeAnswers: boolean) {
  let lastAnswer = performance.now();
  const chatter = storeAnswers ? setInterval(() => (lastAnswer = performance.now()), 10) : undefined;
  const call = () => new Promise<string>((resolve) => setTimeout(() => resolve('decided'), ms));
  return { call, lastAnswerAtMs: () => lastAnswer, stop: () => clearInterval(chatter) };
}

describe('withTimeout (store calls)', () => {
  it('waits past the timeout for a call queued behind others while the store keeps answering', async () => {
    const slow = slowCall(200, true);
    try {
      await expect(withTimeout('claim', 50, slow.call, slow.lastAnswerAtMs)).resolves.toBe('decided');
    } finally {
      slow.stop();
    }
  });

  it('fails the call once the store has said nothing for the timeout, naming the operation', async () => {
    const silent = slowCall(1_000, false);
    await expect(withTimeout('claim', 50, silent.call, silent.lastAnswerAtMs)).rejects.toThrow(/store operation "claim" timed out after \d+ ms/);
  });

  it('gives up after ten timeouts even while the store answers other calls', async () => {
    const endless = slowCall(60_000, true);
    try {
      await expect(withTimeout('complete', 20, endless.call, endless.lastAnswerAtMs)).rejects.toThrow(/"complete" timed out/);
    } finally {
      endless.stop();
    }
  });

  it('without a way to tell, a call slower than the timeout fails', async () => {
    await expect(withTimeout('sync', 30, slowCall(500, false).call)).rejects.toThrow(/"sync" timed out/);
  });
});
