import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LedgerLine, ReplicaConfig } from './replica-main.js';

const MAIN = fileURLToPath(new URL('./replica-main.ts', import.meta.url));

/** A replica running as a separate Node process (tsx), which a test can SIGKILL. */
export class ReplicaProcess {
  private constructor(
    readonly config: ReplicaConfig,
    readonly child: ChildProcess,
  ) {}

  static async start(config: ReplicaConfig, timeoutMs = 20_000): Promise<ReplicaProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...process.env, TASKINO_REPLICA_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`replica ${config.replicaId} not ready after ${timeoutMs} ms: ${stderr}`)), timeoutMs);
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`replica ${config.replicaId} exited with ${code}: ${stderr}`));
      });
    });
    return new ReplicaProcess(config, child);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill(signal);
    await exited;
  }
}

export function readLedger(path: string): LedgerLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LedgerLine);
}
