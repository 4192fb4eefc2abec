// Parent side of a child process (replica, sidecar or app): spawn with an IPC channel, collect its
// fire batches and events, ask it questions with a timeout, stop or kill it, read /proc. Every
// child is registered so that an error or Ctrl-C leaves no process behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CONFIG_ENV, type FromChild, type ToChild } from './protocol.js';

const live = new Set<ChildProcess>();

/** SIGKILLs every child still running (synchronous: usable from an 'exit' handler). */
export function killAllChildren(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  live.clear();
}

/** Answers that a child did not give in time count as unknown, never as a hang. */
export class NoAnswer extends Error {}

type Pending = { type: string; resolve: (message: FromChild) => void };

export class Child {
  /** Fire triples received so far; the measuring code drains them. */
  fires: number[][] = [];
  readonly skips: Record<string, number> = {};
  readonly switched: Array<{ atMs: number; generation: number }> = [];
  readonly logs: string[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readyResolve: (() => void) | undefined;
  private readonly ready: Promise<void>;
  private readonly exited: Promise<void>;
  private exitInfo: string | undefined;

  private constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    live.add(process);
    this.ready = new Promise<void>((resolve) => (this.readyResolve = resolve));
    this.exited = new Promise<void>((resolve) =>
      process.once('exit', (code, signal) => {
        this.exitInfo = signal ?? `exit code ${code}`;
        live.delete(process);
        resolve();
      }),
    );
    process.on('message', (message: FromChild) => this.onMessage(message));
    process.on('error', (error) => this.logs.push(`spawn error: ${error.message}`));
    let partial = '';
    const keep = (chunk: Buffer): void => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('F ')) this.fires.push(line.slice(2).split(' ').map(Number));
        else this.onLine(line);
      }
    };
    process.stdout?.on('data', keep);
    process.stderr?.on('data', keep);
  }

  /** Lines the child prints; `onLine` may be replaced to watch them (the default keeps the last 50). */
  onLine = (line: string): void => {
    if (line.trim() === '') return;
    this.logs.push(line);
    if (this.logs.length > 50) this.logs.shift();
  };

  /** A bundled child script run by plain node, configured through the environment. */
  static node(name: string, script: string, config: unknown, nodeArgs: string[] = [], args: string[] = [], env: NodeJS.ProcessEnv = {}): Child {
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      env: { ...process.env, ...env, [CONFIG_ENV]: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new Child(name, child);
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** Resolves when the child says it is ready; fails on exit or timeout, with its last output. */
  async waitReady(timeoutMs: number): Promise<void> {
    await this.race(this.ready, timeoutMs, 'to be ready');
  }

  /** Marks the child ready from outside (a sidecar is ready when its /readyz says so). */
  markReady(): void {
    this.readyResolve?.();
  }

  send(message: ToChild): void {
    if (this.process.connected) this.process.send(message);
  }

  /** Sends a request and waits for the reply of `replyType` with the same id. */
  async ask<T extends FromChild>(make: (id: number) => ToChild, replyType: T['type'], timeoutMs: number): Promise<T> {
    const id = this.nextId++;
    const reply = new Promise<FromChild>((resolve) => this.pending.set(id, { type: replyType, resolve }));
    this.send(make(id));
    try {
      return (await this.race(reply, timeoutMs, `to answer ${replyType}`)) as T;
    } finally {
      this.pending.delete(id);
    }
  }

  /** Takes every fire triple received so far. */
  drainFires(): number[][] {
    const fires = this.fires;
    this.fires = [];
    return fires;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (!this.alive) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    if (!this.alive) return;
    this.process.kill('SIGKILL');
    await this.exited;
  }

  /** CPU seconds (user + system) and resident memory from /proc, or undefined once it has exited. */
  sample(): ProcSample | undefined {
    return sampleProc(this.pid);
  }

  private onMessage(message: FromChild): void {
    switch (message.type) {
      case 'ready':
        this.readyResolve?.();
        return;
      case 'fires':
        if (message.data.length > 0) this.fires.push(message.data);
        for (const [k, v] of Object.entries(message.skips ?? {})) this.skips[k] = (this.skips[k] ?? 0) + v;
        return;
      case 'switched':
        this.switched.push({ atMs: message.atMs, generation: message.generation });
        return;
      case 'log':
        this.onLine(`[${message.level}] ${message.message}`);
        return;
      case 'error':
        this.onLine(`[error] ${message.message}`);
        return;
      default: {
        const pending = this.pending.get(message.id);
        if (pending && pending.type === message.type) pending.resolve(message);
      }
    }
  }

  private async race<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const failure = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NoAnswer(`${this.name} did not get ${what} within ${timeoutMs} ms`)), timeoutMs);
      void this.exited.then(() => reject(new Error(`${this.name} exited (${this.exitInfo}) while waiting ${what}; last output:\n${this.logs.slice(-10).join('\n')}`)));
    });
    try {
      return await Promise.race([promise, failure]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface ProcSample {
  cpuSeconds: number;
  rssMb: number;
}

const TICKS_PER_SECOND = 100; // Linux USER_HZ

export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime + stime
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    return { cpuSeconds, rssMb: rssKb / 1024 };
  } catch {
    return undefined;
  }
}
