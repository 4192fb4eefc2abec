import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';

/** undici's `request(url, options)`. */
export type UndiciRequest = (url: URL, options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>) => Promise<Dispatcher.ResponseData>;

const require = createRequire(import.meta.url);

/**
 * `request` of undici, without evaluating all of undici.
 *
 * `import { request } from 'undici'` evaluates undici's whole index: fetch, WebSocket, EventSource,
 * cache stores, mocks, interceptors and every kind of dispatcher. Measured in an idle sidecar, that
 * costs about 7 MB of RSS more than the modules `request` is made of (issue 6). So this loads just
 * those: the global dispatcher (an `Agent`, created on first load exactly as `undici`'s index does)
 * and the request API, and calls them as the index's `request` does. Should a later undici move these
 * internal files, it falls back to the package's public `request`: the same behaviour, only the saving
 * is lost (`bench/sidecar-footprint.ts` would show it).
 */
export const request: UndiciRequest = loadRequest();

function loadRequest(): UndiciRequest {
  try {
    const { getGlobalDispatcher } = require('undici/lib/global.js') as { getGlobalDispatcher?: () => Dispatcher };
    const { parseURL } = require('undici/lib/core/util.js') as { parseURL?: (url: URL) => URL };
    const apiRequest = require('undici/lib/api/api-request.js') as unknown;
    if (typeof getGlobalDispatcher === 'function' && typeof parseURL === 'function' && typeof apiRequest === 'function') {
      const dispatch = apiRequest as (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
      // What undici's index.js does for request(url, options) (its makeDispatcher).
      return (url, options) => {
        const parsed = parseURL(url);
        return dispatch.call(getGlobalDispatcher(), {
          ...options,
          origin: parsed.origin,
          path: parsed.search ? `${parsed.pathname}${parsed.search}` : parsed.pathname,
          method: options.method || (options.body ? 'PUT' : 'GET'),
        });
      };
    }
  } catch {
    // An undici whose internal layout differs: use its public entry point below.
  }
  const undici = require('undici') as typeof import('undici');
  return (url, options) => undici.request(url, options);
}
