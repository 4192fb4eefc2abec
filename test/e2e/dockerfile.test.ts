import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, cleanEnv } from '../support/cli.js';

// No Docker engine runs here: check what the Dockerfile relies on, and start its entrypoint from
// a directory laid out like the final image (production dependencies only).
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const lines = dockerfile.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));

describe('the Dockerfile', () => {
  it('is multi-stage on a maintained Node LTS, ends as a numeric non-root user with taskino as entrypoint and run as command', () => {
    const froms = lines.filter((l) => l.startsWith('FROM '));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^FROM node:(22|24)-/);
    expect(lines.filter((l) => l.startsWith('USER ')).at(-1)).toMatch(/^USER \d+:\d+$/);
    expect(lines).toContain('ENTRYPOINT ["taskino"]');
    expect(lines).toContain('CMD ["run"]');
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
  });

  it('copies only files that exist in the repository or the build output', () => {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT });
    for (const line of lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))) {
      const sources = line.replace(/^COPY\s+/, '').split(/\s+/).slice(0, -1);
      for (const source of sources) expect(existsSync(join(ROOT, source)), `${line}: ${source}`).toBe(true);
    }
    for (const built of ['dist/cli/main.js', 'dist/index.js', 'dist/core/store/redis/lua/claim.lua']) expect(existsSync(join(ROOT, built)), built).toBe(true);
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.build).toBeDefined();
  });

  it('starts its entrypoint with production dependencies only, and exits 0 on SIGTERM', async () => {
    const image = mkdtempSync(join(tmpdir(), 'taskino-image-'));
    cpSync(join(ROOT, 'package.json'), join(image, 'package.json'));
    cpSync(join(ROOT, 'package-lock.json'), join(image, 'package-lock.json'));
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: image, stdio: 'ignore' });
    cpSync(join(ROOT, 'dist'), join(image, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'bin'), join(image, 'bin'), { recursive: true });
    expect(existsSync(join(image, 'node_modules/vitest'))).toBe(false);
    const entry = join(image, 'bin/taskino.js');
    expect(execFileSync(entry, ['--version'], { encoding: 'utf8' })).toMatch(/^taskino \d/);

    mkdirSync(join(image, 'tasks'));
    writeFileSync(join(image, 'tasks/tasks.yaml'), 'tasks:\n  - {name: t, every: 1s, http: {path: /}}\n');
    const child = spawn(entry, ['run', '--config', join(image, 'tasks'), '--http-port', '0', '--admin-socket', join(image, 'admin.sock')], { env: cleanEnv() });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not running after 15 s: ${out}`)), 15_000);
      child.stdout.on('data', () => out.includes('taskino is running') && (clearTimeout(timer), resolve()));
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
