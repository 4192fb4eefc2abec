// Command-line flags and the plan they select: the full run (about 20 minutes on 2 cores) or
// --quick (under 3 minutes: small task counts, 1 and 3 replicas, short windows, no 10k).
import { SYSTEMS, type SystemKind } from './systems.js';
import type { Timing } from './measure.js';

export const PARTS = ['matrix', 'idle', 'ceiling', 'reload', 'failover'] as const;
export type Part = (typeof PARTS)[number];

export interface Plan {
  quick: boolean;
  out: string;
  command: string;
  parts: Set<Part>;
  systems: Set<SystemKind>;
  timing: Timing;
  /** Loaded configurations: (system, replicas, tasks). */
  matrix: Array<{ kind: SystemKind; replicas: number; tasks: number }>;
  idle: { replicas: number; tasks: number; windowMs: number };
  ceiling: { replicas: number; steps: number[]; systems: SystemKind[] };
  reload: { replicas: number; tasks: number; count: number; systems: SystemKind[] };
  failover: { replicas: number; tasks: number; afterMs: number; graceMs: number; systems: SystemKind[] };
}

export const USAGE = `usage: npm run bench -- [--quick] [--out DIR] [--only=matrix,idle,ceiling,reload,failover]
                     [--systems=taskino,sidecar,bullmq] [--tasks=100,1000] [--replicas=1,3] [--window=SECONDS]
  --quick      the CI run: under 3 minutes, small task counts, 1 and 3 replicas, short windows
  --out DIR    where bench.md (bench-quick.md) and the SVG chart go (default bench/results)
  --only       run only these parts (development)
  --systems    measure only these systems (development)
  --tasks, --replicas, --window   override the loaded matrix and the window length (development)`;

function listFlag(argv: string[], name: string): string[] | undefined {
  const found = argv.find((a) => a.startsWith(`--${name}=`));
  return found ? found.slice(name.length + 3).split(',').filter((s) => s !== '') : undefined;
}

function numbers(values: string[] | undefined, name: string): number[] | undefined {
  if (!values) return undefined;
  const parsed = values.map(Number);
  if (parsed.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`--${name} takes positive whole numbers, got ${values.join(',')}`);
  return parsed;
}

export function parsePlan(argv: string[]): Plan {
  if (argv.includes('--help') || argv.includes('-h')) throw new UsageRequest();
  const known = ['--quick', '--out', '--only=', '--systems=', '--tasks=', '--replicas=', '--window=', '--out='];
  const unknown = argv.filter((a, i) => a.startsWith('-') && !known.some((k) => (k.endsWith('=') ? a.startsWith(k) : a === k)) && argv[i - 1] !== '--out');
  if (unknown.length > 0) throw new Error(`unknown flag ${unknown.join(' ')}\n${USAGE}`);
  const quick = argv.includes('--quick');
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? argv[outIndex + 1] : argv.find((a) => a.startsWith('--out='))?.slice(6);
  if (outIndex >= 0 && (out === undefined || out.startsWith('--'))) throw new Error('--out needs a directory');

  const only = listFlag(argv, 'only');
  for (const part of only ?? []) if (!(PARTS as readonly string[]).includes(part)) throw new Error(`--only: unknown part "${part}" (${PARTS.join(', ')})`);
  const systemsFlag = listFlag(argv, 'systems');
  for (const s of systemsFlag ?? []) if (!(SYSTEMS as readonly string[]).includes(s)) throw new Error(`--systems: unknown system "${s}" (${SYSTEMS.join(', ')})`);
  const systems = new Set<SystemKind>((systemsFlag as SystemKind[] | undefined) ?? SYSTEMS);
  const tasks = numbers(listFlag(argv, 'tasks'), 'tasks');
  const replicas = numbers(listFlag(argv, 'replicas'), 'replicas');
  const windowS = numbers(listFlag(argv, 'window'), 'window')?.[0];

  const timing: Timing = quick ? { warmupMs: 2_000, windowMs: 5_000, graceMs: 2_000 } : { warmupMs: 3_000, windowMs: 10_000, graceMs: 3_000 };
  if (windowS) timing.windowMs = windowS * 1000;
  // Idle costs are small and periodic (BullMQ checks for stalled jobs every 30 s): a longer window.
  const idleWindowMs = windowS ? windowS * 1000 : quick ? 5_000 : 30_000;

  const matrix: Plan['matrix'] = [];
  const add = (kind: SystemKind, rs: number[], ts: number[]): void => {
    if (!systems.has(kind)) return;
    for (const t of tasks ?? ts) for (const r of replicas ?? rs) matrix.push({ kind, replicas: r, tasks: t });
  };
  if (quick && !tasks && !replicas) {
    for (const kind of ['taskino', 'bullmq'] as const) {
      if (!systems.has(kind)) continue;
      matrix.push({ kind, replicas: 1, tasks: 100 }, { kind, replicas: 3, tasks: 1000 });
    }
    if (systems.has('sidecar')) matrix.push({ kind: 'sidecar', replicas: 3, tasks: 100 });
  } else if (quick || tasks || replicas) {
    for (const kind of ['taskino', 'sidecar', 'bullmq'] as const) add(kind, quick ? [1, 3] : [1, 3, 5], quick ? [100, 1000] : [100, 1000, 10_000]);
  } else {
    add('taskino', [1, 3, 5], [100, 1000, 10_000]);
    // 10,000 HTTP calls a second through several sidecars on a small machine only measures the
    // machine; the sidecar path gets 10,000 tasks on one replica.
    add('sidecar', [1, 3, 5], [100, 1000]);
    add('sidecar', [1], [10_000]);
    add('bullmq', [1, 3, 5], [100, 1000, 10_000]);
  }
  const pick = (kinds: SystemKind[]): SystemKind[] => kinds.filter((k) => systems.has(k));
  return {
    quick,
    out: out ?? 'bench/results',
    command: `npm run bench --${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`,
    parts: new Set<Part>((only as Part[] | undefined) ?? PARTS),
    systems,
    timing,
    matrix,
    idle: { replicas: 3, tasks: quick ? 100 : 1000, windowMs: idleWindowMs },
    ceiling: quick
      ? { replicas: 3, steps: [1_000, 2_000], systems: pick(['taskino']) }
      : { replicas: 3, steps: [100, 250, 500, 1_000, 2_000, 4_000, 8_000, 16_000], systems: pick(['taskino', 'bullmq']) },
    // Propagation on a cluster that keeps up with its fires; how load slows everything is in the matrix.
    reload: { replicas: 3, tasks: 100, count: quick ? 3 : 6, systems: pick(quick ? ['taskino'] : ['taskino', 'sidecar']) },
    failover: quick
      ? { replicas: 3, tasks: 100, afterMs: 4_000, graceMs: 2_000, systems: pick(['taskino']) }
      : { replicas: 3, tasks: 1000, afterMs: 5_000, graceMs: 35_000, systems: pick(['taskino', 'sidecar', 'bullmq']) },
  };
}

export class UsageRequest extends Error {}
