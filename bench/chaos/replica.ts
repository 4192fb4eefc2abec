import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cleanEnv } from '../../test/support/cli.js';

const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((p) => existsSync(p));

export interface ReplicaSpec {
  name: string;
  redisUrl: string;
  configDir: string;
  appUrl: string;
  workDir: string;
  /** Runs under libfaketime with a clock offset read from this file (e.g. "-30s"), re-read on every call. */
  clockFile?: string;
}

/** One `taskino run` process (the real binary); restartable after a SIGKILL. */
export class ChaosReplica {
  private child: ChildProcess | undefined;
  output = '';

  constructor(readonly spec: ReplicaSpec) {}

  static fakeTimeAvailable(): boolean {
    return LIBFAKETIME !== undefined;
  }

  start(): void {
    const { spec } = this;
    const env: NodeJS.ProcessEnv = { ...cleanEnv() };
    if (spec.clockFile) {
      if (!LIBFAKETIME) throw new Error('libfaketime is not installed (apt-get install faketime)');
      if (!existsSync(spec.clockFile)) writeFileSync(spec.clockFile, '+0s\n');
      Object.assign(env, { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: spec.clockFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' });
    }
    this.child = spawn(
      process.execPath,
      [BIN, 'run', '--config', spec.configDir, '--redis', spec.redisUrl, '--scheduler', 'chaos', '--app-url', spec.appUrl, '--http-port', '0', '--admin-socket', join(spec.workDir, `${spec.name}.sock`), '--log-level', process.env.CHAOS_DEBUG ? 'debug' : 'warn', '--shutdown-grace', '5s'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const log = process.env.CHAOS_DEBUG ? join(spec.workDir, `${spec.name}.log`) : undefined;
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-20_000);
      if (log) appendFileSync(log, d);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  setClock(offset: string): void {
    if (this.spec.clockFile) writeFileSync(this.spec.clockFile, `${offset}\n`);
  }
}
