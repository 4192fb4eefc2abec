import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cleanEnv } from '../../test/support/cli.js';
import { freePort } from '../../test/support/redis-server.js';

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

/** One process lifetime of a replica: a SIGKILL ends it, the restart is a new lifetime. */
export interface Lifetime {
  replica: string;
  pid: number;
  metricsPort: number;
  startedMs: number;
  endedMs: number | undefined;
  /** How it ended: 'SIGKILL' (its counters die with it), 'SIGTERM', or an exit code. */
  end: string | undefined;
}

/** One `taskino run` process (the real binary); restartable after a SIGKILL. */
export class ChaosReplica {
  private child: ChildProcess | undefined;
  output = '';
  current: Lifetime | undefined;
  readonly lifetimes: Lifetime[] = [];

  /** Called with every complete output line of a lifetime (JSON log lines). */
  onLine: ((lifetime: Lifetime, line: string) => void) | undefined;

  constructor(readonly spec: ReplicaSpec) {}

  static fakeTimeAvailable(): boolean {
    return LIBFAKETIME !== undefined;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts a new lifetime; /metrics on a port of its own so the harness can scrape it. */
  async start(): Promise<void> {
    const { spec } = this;
    const env: NodeJS.ProcessEnv = { ...cleanEnv() };
    if (spec.clockFile) {
      if (!LIBFAKETIME) throw new Error('libfaketime is not installed (apt-get install faketime)');
      if (!existsSync(spec.clockFile)) writeFileSync(spec.clockFile, '+0s\n');
      Object.assign(env, { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: spec.clockFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' });
    }
    const metricsPort = await freePort();
    const child = spawn(
      process.execPath,
      [BIN, 'run', '--config', spec.configDir, '--redis', spec.redisUrl, '--scheduler', 'chaos', '--app-url', spec.appUrl, '--http-port', String(metricsPort), '--admin-socket', join(spec.workDir, `${spec.name}.sock`), '--log-level', process.env.CHAOS_DEBUG ? 'debug' : 'warn', '--shutdown-grace', '5s'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const lifetime: Lifetime = { replica: spec.name, pid: child.pid ?? -1, metricsPort, startedMs: Date.now(), endedMs: undefined, end: undefined };
    this.current = lifetime;
    this.lifetimes.push(lifetime);
    const log = process.env.CHAOS_DEBUG ? join(spec.workDir, `${spec.name}.log`) : undefined;
    if (log) appendFileSync(log, `--- ${new Date().toISOString()} lifetime pid ${lifetime.pid}, metrics :${metricsPort}\n`);
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-20_000);
      if (log) appendFileSync(log, d);
    };
    let partial = '';
    child.stdout?.on('data', (d: Buffer) => {
      keep(d);
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.onLine?.(lifetime, line);
    });
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      lifetime.endedMs = Date.now();
      lifetime.end ??= signal ?? `exit ${code}`;
      // A port taken between freePort() and the bind: start again on another one.
      if (this.child === child && /EADDRINUSE/.test(this.output.slice(-2_000)) && Date.now() - lifetime.startedMs < 5_000) void this.start();
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (this.current) this.current.end = signal;
    child.kill(signal);
    await exited;
  }

  setClock(offset: string): void {
    if (this.spec.clockFile) writeFileSync(this.spec.clockFile, `${offset}\n`);
  }
}
