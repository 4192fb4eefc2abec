import { describe, expect, it } from 'vitest';
import { OwnProgress, PeerProgress, verdictFor } from '../../src/core/scheduler/home-progress.js';
import { HomeReplicas } from '../../src/core/scheduler/home-replica.js';
import { SafetyNet } from '../../src/core/scheduler/safety-net.js';
import type { TaskStore } from '../../src/core/store/task-store.js';
import { systemSleep } from '../../src/core/time.js';

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

  it('gives a home longer before its silence counts only while this replica is itself running late (loaded)', () => {
    const store = { now: () => 0, announceProgress: async () => {} } as unknown as TaskStore;
    const net = new SafetyNet(store, new HomeReplicas('me'), 'me', systemSleep);
    net.heard({ instance: 'h', throughMs: 1_000, viewDigest: '', viewSinceMs: 0, tasksDigest: '' }, 1_000);
    expect(net.standingOf('h', 1)?.freshMs).toBe(250); // unloaded: a silent home is taken for gone after 250 ms
    expect(net.standingOf('h', 2)?.freshMs).toBe(500); // the second in line gives it twice as long
    expect(net.standingOf('h', 1, 100)?.freshMs).toBe(400); // event loop 100 ms late: 4 x that
    expect(net.standingOf('h', 2, 100)?.freshMs).toBe(800);
    expect(net.standingOf('h', 1, 10_000)?.freshMs).toBe(2_000); // however loaded, at most 2 s (times the place in line)
  });

  it('keeps the highest mark a home announced under the same view, while a lower one still counts as hearing from it', () => {
    const peers = new PeerProgress();
    const view = { digest: 'v1', tasksDigest: 't1' };
    peers.note({ instance: 'h', throughMs: 2_999, viewDigest: 'v1', viewSinceMs: 0, tasksDigest: 't1' }, 2_010); // nothing due before 3000
    peers.note({ instance: 'h', throughMs: 2_499, viewDigest: 'v1', viewSinceMs: 0, tasksDigest: 't1' }, 2_600);
    expect(peers.standing('h', view, 250)).toMatchObject({ throughMs: 2_999, heardMs: 2_600 });
    const own = new OwnProgress();
    own.dispatched(2_999);
    own.dispatched(2_499); // the next wake moved earlier for a task it is not the home of
    expect(own.through(2_600)).toBe(2_999);
  });
});

