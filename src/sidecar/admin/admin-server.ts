import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DistributedScheduler } from '../../core/scheduler/distributed-scheduler.js';
import { TaskinoError, UnknownTaskError } from '../../core/errors.js';
import type { Logger } from '../../core/scheduler/types.js';
import type { TaskSummary, TriggerResponse } from './admin-api.js';

/**
 * The admin API on a Unix socket: only processes in the sidecar's container (kubectl exec) reach it,
 * and the socket is owner-only.
 */
export class AdminServer {
  private server: Server | undefined;

  constructor(
    private readonly scheduler: DistributedScheduler,
    private readonly socketPath: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    // A socket left by a killed process would make listen() fail with EADDRINUSE.
    if (existsSync(this.socketPath)) unlinkSync(this.socketPath);
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    chmodSync(this.socketPath, 0o600);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (existsSync(this.socketPath)) unlinkSync(this.socketPath);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const parts = url.pathname.split('/').filter(Boolean);
    try {
      if (req.method === 'GET' && url.pathname === '/v1/tasks') return send(res, 200, await this.list());
      if (parts[0] === 'v1' && parts[1] === 'tasks' && parts[2]) {
        const name = decodeURIComponent(parts[2]);
        const action = parts[3];
        if (req.method === 'GET' && action === 'history') {
          const limit = Number(url.searchParams.get('limit') ?? '20');
          return send(res, 200, await this.scheduler.history(name, Number.isInteger(limit) && limit > 0 ? Math.min(limit, 100) : 20));
        }
        if (req.method === 'POST' && action === 'trigger') return send(res, 200, await this.trigger(name, await readJson(req)));
        if (req.method === 'POST' && (action === 'pause' || action === 'resume')) {
          const state = action === 'pause' ? await this.scheduler.pause(name) : await this.scheduler.resume(name);
          this.logger.info(`task ${action}d through the admin socket`, { task: name });
          return send(res, 200, state);
        }
      }
      send(res, 404, { error: `no such endpoint: ${req.method} ${url.pathname}`, code: 'NOT_FOUND' });
    } catch (error) {
      const status = error instanceof UnknownTaskError ? 404 : 500;
      const code = error instanceof TaskinoError ? error.code : 'INTERNAL';
      send(res, status, { error: (error as Error).message, code });
    }
  }

  private async list(): Promise<TaskSummary[]> {
    return Promise.all(
      this.scheduler.tasks().map(async (t) => {
        const [last] = await this.scheduler.history(t.name, 1).catch(() => []);
        return {
          name: t.name,
          schedule: t.schedule,
          scope: t.scope,
          nextFireAt: t.nextFireAt?.toISOString() ?? null,
          paused: t.paused,
          running: t.running,
          lastOutcome: last?.outcome ?? null,
          lastRunAt: last?.startedAt ?? last?.scheduledAt ?? null,
          ...(t.notRunHere ? { notRunHere: t.notRunHere } : {}),
        };
      }),
    );
  }

  private async trigger(name: string, body: Record<string, unknown>): Promise<TriggerResponse> {
    const force = body.force === true;
    if (body.wait === false) {
      this.scheduler.tasks().find((t) => t.name === name) ?? (() => { throw new UnknownTaskError(name); })();
      void this.scheduler.triggerTask(name, { force }).catch((error: Error) => this.logger.error('manual trigger failed', { task: name, error: error.message }));
      return { ran: false, accepted: true };
    }
    const outcome = await this.scheduler.triggerTask(name, { force });
    if (!outcome.ran) return { ran: false, reason: outcome.reason };
    const r = outcome.result;
    const response: TriggerResponse = {
      ran: true,
      outcome: r.outcome,
      durationMs: r.costMs,
      replica: r.replica,
      attempt: r.attempt,
      scheduledAt: r.scheduledAt.toISOString(),
    };
    if (r.status !== undefined) response.status = r.status;
    if (r.error) response.error = r.error.message;
    return response;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  if (!text) return {};
  const parsed = JSON.parse(text) as unknown;
  return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
}
