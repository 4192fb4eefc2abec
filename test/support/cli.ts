import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/taskino.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `taskino` binary to completion. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...cleanEnv(), ...options.env }, cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`taskino ${args.join(' ')} did not finish within ${options.timeoutMs ?? 20_000} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment without any TASKINO_* variable of the machine running the tests. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TASKINO_')));
}

/** A long-running `taskino run`, with its log lines (JSON) collected. */
export class SidecarProcess {
  readonly logs: Array<Record<string, unknown>> = [];
  stderr = '';
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: line });
        }
      }
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve((this.exitCode = code))));
  }

  static start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): SidecarProcess {
    const child = spawn(process.execPath, [BIN, 'run', ...args], { env: { ...cleanEnv(), ...env }, cwd: ROOT });
    return new SidecarProcess(child, name);
  }

  async waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(predicate);
      if (found) return found;
      if (this.exitCode !== undefined) throw new Error(`${this.name} exited with ${this.exitCode}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no such log line within ${timeoutMs} ms; last lines: ${JSON.stringify(this.logs.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode === undefined) this.child.kill(signal);
    return this.exited;
  }

  waitExit(): Promise<number | null> {
    return this.exited;
  }
}
