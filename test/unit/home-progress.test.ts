import { describe, expect, it } from 'vitest';
import { OwnProgress, PeerProgress, verdictFor } from '../../src/core/scheduler/home-progress.js';

function judge(peers: PeerProgress, home: string, fireMs: number, view: { digest: string; tasksDigest: string }, nowMs: number, freshMs: number) {
  return verdictFor(peers.standing(home, view, freshMs), fireMs, fireMs, nowMs);
}

describe("a home replica's progress (what lets the others skip their safety-net claim)", () => {
  it('covers only fires whose claim has ended decided, and never a fire the timer has not reached', () => {
    const own = new OwnProgress();
    own.dispatched(1_000);
    const a = own.begin(1_000);
    expect(own.through(1_000)).toBe(999); // claim of 1000 under way
    own.settle(a, true, 0);
    expect(own.through(1_001)).toBe(1_000);
    own.dispatched(2_000);
    const b = own.begin(1_500);
    own.settle(b, false, 5_000); // ended undecided (stale definition, stopping): the others must claim it
    expect(own.through(4_999)).toBe(1_499);
    expect(own.through(5_001)).toBe(2_000); // nobody asks for it any more
    own.queued(1_800); // a reload queued an older fire
    expect(own.through(5_002)).toBe(1_799);
  });

  it("is trusted only under the same view of the replicas and the same tasks, and only for fires after that view began", () => {
    const peers = new PeerProgress();
    const view = { digest: 'v1', tasksDigest: 't1' };
    peers.note({ instance: 'h', throughMs: 2_000, viewDigest: 'v1', viewSinceMs: 500, tasksDigest: 't1' }, 2_010);
    expect(judge(peers, 'h', 2_000, view, 2_050, 100)).toBe('covered');
    expect(judge(peers, 'h', 2_100, view, 2_050, 100)).toBe('wait'); // fresh: its announcement is on the way
    expect(judge(peers, 'h', 2_100, view, 2_250, 100)).toBe('claim'); // quiet for 150 ms since the fire was due: claim
    expect(judge(peers, 'h', 3_000, view, 3_050, 100)).toBe('wait'); // silent for a second, but only 50 ms since the fire was due
    expect(judge(peers, 'h', 400, view, 2_050, 100)).toBe('claim'); // before its view: it may not have been home
    expect(judge(peers, 'h', 2_000, { digest: 'v2', tasksDigest: 't1' }, 2_050, 100)).toBe('claim');
    expect(judge(peers, 'h', 2_000, { digest: 'v1', tasksDigest: 't2' }, 2_050, 100)).toBe('claim');
    expect(judge(peers, 'other', 1_000, view, 2_050, 100)).toBe('claim');
  });

  it('gives a home that has been slow to announce while behind proportionally longer before its silence counts', () => {
    const peers = new PeerProgress();
    const view = { digest: 'v1', tasksDigest: 't1' };
    const word = (throughMs: number) => ({ instance: 'h', throughMs, viewDigest: 'v1', viewSinceMs: 0, tasksDigest: 't1' });
    peers.note(word(1_000), 1_050); // behind: it owes the next word soon
    peers.note(word(1_100), 1_650); // which came 600 ms later (loaded)
    expect(peers.standing('h', view, 250)?.freshMs).toBe(1_200);
    expect(peers.standing('h', view, 250, 2)?.freshMs).toBe(2_400); // second in line: twice
    expect(verdictFor(peers.standing('h', view, 250), 1_200, 1_200, 2_500)).toBe('wait'); // 850 ms silent: still heard from
    for (let i = 1; i <= 40; i++) peers.note(word(1_100 + i), 1_650 + 20 * i); // back to prompt words
    expect(peers.standing('h', view, 250)?.freshMs).toBe(250);
    peers.note(word(5_000), 2_500); // ahead of its fires: silence until then is owed nothing
    peers.note(word(5_001), 4_500);
    expect(peers.standing('h', view, 250)?.freshMs).toBe(250);
  });
});
