import { request } from './undici-request.js';
import { TaskinoError } from '../../core/errors.js';
import type { TaskHandler, TaskRunContext } from '../../core/task.js';
import { expandEnv, missingEnvOf } from '../config/env-refs.js';
import { isAllowedHost, type HttpCall } from '../config/task-file.js';

export interface HttpTaskContext {
  appUrl: URL;
  allowHosts: string[];
  env: NodeJS.ProcessEnv;
  /** Bytes of the response body read at most; the rest is discarded. Default 64 KiB. */
  maxBodyBytes?: number;
}

/** An HTTP call that did not succeed; `status` is the HTTP status when there was a response. */
export class HttpTaskError extends TaskinoError {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(status === undefined ? 'HTTP_CALL_FAILED' : 'HTTP_UNEXPECTED_STATUS', message);
    this.status = status;
  }
}

export interface HttpResult {
  status: number;
  bodyBytes: number;
  truncated: boolean;
}

/** Where a call goes, with `${VAR}` left in: what logs and errors may show. */
export function describeTarget(call: HttpCall, appUrl: URL): string {
  return `${call.method} ${call.url ?? appPath(call.path ?? '/', appUrl).toString()}`;
}

/** A task `path` under the app URL: with --app-url http://app/api, "/jobs/x" is http://app/api/jobs/x. */
export function appPath(path: string, appUrl: URL): URL {
  const base = appUrl.href.endsWith('/') ? appUrl.href : `${appUrl.href}/`;
  return new URL(path.replace(/^\/+/, ''), base);
}

/**
 * A published task refers to environment variables this replica lacks (a rollout that added a
 * Secret, adopted through Redis by a replica still on the old pod spec): this replica runs none of
 * its fires rather than send them with the variables empty; the replicas that have them run them.
 */
export class MissingEnvError extends TaskinoError {
  constructor(readonly variables: string[]) {
    const names = variables.map((v) => `\${${v}}`).join(', ');
    super('MISSING_ENV', `it needs ${names}, which this replica's environment lacks; the replicas that have it run its fires (set the variable here and restart)`);
  }
}

export function httpTaskHandler(call: HttpCall, context: HttpTaskContext): TaskHandler {
  const missing = missingEnvOf([call.url, call.path, call.body, ...Object.values(call.headers)], context.env);
  if (missing.length > 0) throw new MissingEnvError(missing);
  const maxBody = context.maxBodyBytes ?? 64 * 1024;
  return async (run: TaskRunContext): Promise<HttpResult> => {
    const target = describeTarget(call, context.appUrl);
    const url = call.url ? new URL(expandEnv(call.url, context.env)) : appPath(expandEnv(call.path ?? '/', context.env), context.appUrl);
    // Definitions can arrive from other replicas through Redis: check the host here too.
    if (!isAllowedHost(url, context)) {
      throw new HttpTaskError(`${target}: host "${url.host}" is not allowed on this replica (see --allow-host)`);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(call.headers)) headers[name.toLowerCase()] = expandEnv(value, context.env);
    Object.assign(headers, {
      'idempotency-key': run.idempotencyKey,
      'x-taskino-task': run.task,
      'x-taskino-scheduled-time': run.scheduledAt.toISOString(),
      'x-taskino-attempt': String(run.attempt),
      'x-taskino-trigger': run.trigger,
    });
    const body = call.body === undefined ? undefined : expandEnv(call.body, context.env);
    let response;
    try {
      response = await request(url, {
        method: call.method as 'GET',
        headers,
        body,
        signal: run.signal,
      });
    } catch (error) {
      if (run.signal.aborted) throw run.signal.reason instanceof Error ? run.signal.reason : error;
      throw new HttpTaskError(`${target}: ${networkReason(error)}`);
    }
    let bodyBytes = 0;
    let truncated = false;
    try {
      for await (const chunk of response.body) {
        bodyBytes += (chunk as Buffer).length;
        if (bodyBytes > maxBody) {
          truncated = true;
          break; // leaving the loop destroys the stream: a huge body is not read to the end
        }
      }
    } catch (error) {
      if (run.signal.aborted) throw run.signal.reason instanceof Error ? run.signal.reason : error;
      throw new HttpTaskError(`${target}: the response body failed after status ${response.statusCode}: ${networkReason(error)}`, response.statusCode);
    }
    const ok = call.expect.length > 0 ? call.expect.includes(response.statusCode) : response.statusCode >= 200 && response.statusCode < 300;
    if (!ok) {
      const wanted = call.expect.length > 0 ? call.expect.join(', ') : 'any 2xx';
      throw new HttpTaskError(`${target}: unexpected status ${response.statusCode} (expected ${wanted})`, response.statusCode);
    }
    return { status: response.statusCode, bodyBytes, truncated };
  };
}

function networkReason(error: unknown): string {
  const err = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = err.code ?? err.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the app listening?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'DNS lookup failed for the host';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was reset by the app';
    default:
      return `${code ? `${code}: ` : ''}${err.message}`;
  }
}
