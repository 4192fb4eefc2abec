/**
 * Gives each task a home replica among the live ones (rendezvous hashing: stable while the members
 * stay, and only the tasks of a replica that leaves move). The home claims a fire the moment it is
 * due; the others claim it a little later, in rank order, as the safety net: their claim finds the
 * fire decided unless the home is gone, so one replica's death costs a fire only a short delay.
 */
/**
 * How long each replica in line waits after the one before it to claim a fire. The home's claim
 * normally lands within a few ms, so later claims just learn it was decided; if the home is gone, the
 * next one runs the fire this much late.
 */
export const TAKEOVER_STEP_MS = 50;

export class HomeReplicas {
  private members: readonly string[] = [];
  private readonly ranks = new Map<string, number>();
  private readonly homes = new Map<string, string>();

  constructor(private readonly self: string) {}

  /** The live instances from the latest heartbeat (sorted); true when they changed. */
  update(members: readonly string[]): boolean {
    if (members.length === this.members.length && members.every((m, i) => m === this.members[i])) return false;
    this.members = members;
    this.ranks.clear();
    this.homes.clear();
    return true;
  }

  get live(): readonly string[] {
    return this.members;
  }

  /** Digest of the live instances: replicas with equal views give every task the same home. */
  get viewDigest(): string {
    return `${this.members.length}-${(fnv1a(this.members.join('\u0000')) >>> 0).toString(36)}`;
  }

  /** The task's home among the live instances, if any are known. */
  homeOf(task: string): string | undefined {
    const known = this.homes.get(task);
    if (known !== undefined) return known;
    let best: string | undefined;
    let bestScore = 0;
    for (const member of this.members) {
      const s = score(task, member);
      if (best === undefined || ahead(s, member, bestScore, best)) {
        best = member;
        bestScore = s;
      }
    }
    if (best !== undefined) this.homes.set(task, best);
    return best;
  }

  /** 0 when this replica is the task's home (or does not know the members yet), else its place in line. */
  rankOf(task: string): number {
    const known = this.ranks.get(task);
    if (known !== undefined) return known;
    let rank = 0;
    if (this.members.includes(this.self)) {
      const own = score(task, this.self);
      for (const member of this.members) {
        if (ahead(score(task, member), member, own, this.self)) rank++;
      }
    }
    this.ranks.set(task, rank);
    return rank;
  }
}

/** Whether member `a` comes before member `b` in a task's line: the higher score, then the smaller name. */
function ahead(scoreA: number, a: string, scoreB: number, b: string): boolean {
  return scoreA > scoreB || (scoreA === scoreB && a < b);
}

/** FNV-1a over task and member, mixed: cheap, and spread well enough to balance tasks across replicas. */
function score(task: string, member: string): number {
  let hash = fnv1a(`${task}\u0000${member}`);
  hash ^= hash >>> 16;
  return Math.imul(hash, 0x85ebca6b) >>> 0;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash;
}
