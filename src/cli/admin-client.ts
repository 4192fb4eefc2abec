import { request } from 'node:http';
import { EXIT } from './exit-codes.js';

export class AdminUnreachableError extends Error {
  readonly exitCode = EXIT.unreachable;
}

export class AdminRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Calls the running sidecar's admin API over its Unix socket. */
export async function adminCall<T>(socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const req = request({ socketPath, path, method, headers: { 'content-type': 'application/json' }, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return reject(new AdminRequestError(`the sidecar answered with something other than JSON: ${text.slice(0, 200)}`, res.statusCode ?? 0, 'BAD_RESPONSE'));
        }
        if ((res.statusCode ?? 500) >= 400) {
          const err = parsed as { error?: string; code?: string };
          return reject(new AdminRequestError(err.error ?? `HTTP ${res.statusCode}`, res.statusCode ?? 500, err.code ?? 'ERROR'));
        }
        resolve(parsed as T);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED' || error.code === 'EACCES') {
        reject(new AdminUnreachableError(`cannot reach the taskino sidecar at ${socketPath} (${error.code}): is "taskino run" running in this container? (--admin-socket / TASKINO_ADMIN_SOCKET)`));
      } else reject(error);
    });
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}
