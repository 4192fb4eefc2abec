import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cleanEnv, ROOT } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

describe('the README quick start', () => {
  it('npm run demo starts the example app and a sidecar, and tasks fire within seconds', async () => {
    const child = spawn(process.execPath, ['examples/demo.mjs'], { cwd: ROOT, env: { ...cleanEnv(), TASKINO_HTTP_PORT: '0' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await waitFor(() => /\[app\] GET \/jobs\/heartbeat\s+task=heartbeat .*trigger=schedule/.test(output), { timeoutMs: 10_000, what: 'the heartbeat to reach the app' });
      await waitFor(() => /"task":"heartbeat".*"msg":"task run succeeded"/.test(output), { timeoutMs: 5_000, what: 'the sidecar to log the run' });
      expect(output).toMatch(/using the embedded in-memory store/);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});
