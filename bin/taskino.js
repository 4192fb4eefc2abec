#!/usr/bin/env node
// The taskino CLI; the code lives in dist/ (npm run build, which npm install runs through "prepare").
import { setFlagsFromString } from 'node:v8';

// `taskino run` is a long-lived sidecar with a small live heap (about 20 MB) that allocates little.
// V8's defaults suit big, busy processes: start-up grows the young generation to 2 x 16 MB and an
// idle process keeps it, and the old generation may grow to 2-4 times the live heap before a full
// GC. For `run` only, V8 keeps its young generation at the initial 2 x 1 MB and collects the old
// one once it has grown by 10 % (but at least 8 MB). Measured with bench/sidecar-footprint.ts (100
// tasks, issue 6): about 30 MB less RSS idle and 30-40 MB less under load (100 fires a second),
// for about 1-2 % of a core more CPU under that load (more, smaller GCs) and none when idle.
// Set from here, so that both `node bin/taskino.js` and the image's `taskino` get them: flags in
// the shebang would not apply to the former, and the heap's sizes (--max-semi-space-size) are only
// read when it is created, while these two are read at every resize. An operator who sets any of
// these heap flags in NODE_OPTIONS (e.g. --max-semi-space-size=16) gets V8 as configured, untouched.
const HEAP_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=10'];
const heapFlagGiven = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((flag) => /semi[-_]space|heap[-_]growing|optimize[-_]for[-_]size/.test(flag));
if (process.argv[2] === 'run' && !heapFlagGiven) for (const flag of HEAP_FLAGS) setFlagsFromString(flag);

const { main } = await import('../dist/cli/main.js');
// Exit explicitly: after a failed start-up or a shutdown, no timer or socket may keep the process alive.
process.exit(await main(process.argv.slice(2)));
