// Child processes run as plain `node` on bundled JavaScript, not under tsx: tsx's loader adds about
// 25 MB of RSS and start-up CPU to every process, which would be charged to the replica. The bundle
// keeps packages external and imports taskino from dist/ (what `taskino run` runs too), so the
// library's Lua files load from where they live. Bundles go to node_modules/.cache (ignored by git),
// from where bare imports (ioredis, bullmq) resolve to the project's node_modules.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, 'node_modules', '.cache', 'taskino-bench');
const DIST_INDEX = join(ROOT, 'dist', 'index.js');

export interface Bundles {
  library: string;
  bullmq: string;
  app: string;
  /** A file: URL for `node --import` into `taskino run`. */
  sidecarPreload: string;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when it is missing or older than src/, so the run measures the code in the tree. */
export function ensureDist(log: (line: string) => void): void {
  if (existsSync(DIST_INDEX) && statSync(DIST_INDEX).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  log('dist/ is missing or older than src/: running npm run build');
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm run build failed with exit code ${result.status}`);
}

/** `../../src/index.js` in a child's source becomes the built dist/index.js, left external. */
const taskinoFromDist: Plugin = {
  name: 'taskino-from-dist',
  setup(b) {
    b.onResolve({ filter: /\/src\/index\.js$/ }, () => ({ path: DIST_INDEX, external: true }));
  },
};

export async function buildBundles(): Promise<Bundles> {
  mkdirSync(OUT, { recursive: true });
  const here = fileURLToPath(new URL('.', import.meta.url));
  const entries = { library: 'taskino-replica.ts', bullmq: 'bullmq-replica.ts', app: 'app.ts', sidecarPreload: 'sidecar-preload.ts' };
  await build({
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, join(here, file)])),
    outdir: OUT,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    plugins: [taskinoFromDist],
    logLevel: 'error',
  });
  const out = (name: string): string => join(OUT, `${name}.mjs`);
  return { library: out('library'), bullmq: out('bullmq'), app: out('app'), sidecarPreload: pathToFileURL(out('sidecarPreload')).href };
}
