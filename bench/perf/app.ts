// The app of the sidecar path, in its own process: answers every call 200 at once and reports
// (task, scheduled, arrival) from taskino's headers to the parent in batches every 500 ms.
// Calls with an attempt other than 1 are counted as retries.
import { createServer } from 'node:http';
import { CONFIG_ENV, exitWithParent, taskIndex, toParent, type AppConfig, type ToChild } from './protocol.js';

const config = JSON.parse(process.env[CONFIG_ENV] ?? '{}') as AppConfig;
exitWithParent();

let fires: number[] = [];
let retries = 0;
let unparsed = 0;

function flush(): void {
  if (fires.length === 0 && retries === 0 && unparsed === 0) return;
  const data = fires;
  fires = [];
  toParent({ type: 'fires', data, skips: { retries, unparsed } });
  retries = 0;
  unparsed = 0;
}

const server = createServer((req, res) => {
  const arrivedMs = Date.now();
  const task = req.headers['x-taskino-task'];
  const scheduled = req.headers['x-taskino-scheduled-time'];
  const attempt = req.headers['x-taskino-attempt'];
  const scheduledMs = typeof scheduled === 'string' ? Date.parse(scheduled) : NaN;
  if (typeof task !== 'string' || !Number.isFinite(scheduledMs)) unparsed++;
  else if (attempt !== undefined && attempt !== '1') retries++;
  else fires.push(taskIndex(task), scheduledMs, arrivedMs);
  res.writeHead(200, { 'content-length': '0' });
  res.end();
});
server.keepAliveTimeout = 60_000;

process.on('message', (message: ToChild) => {
  if (message.type !== 'flush') return;
  flush();
  toParent({ type: 'flushed', id: message.id });
});
process.on('SIGTERM', () => {
  flush();
  process.exit(0);
});

setInterval(flush, 500).unref();
server.listen(config.port, '127.0.0.1', () => toParent({ type: 'ready', pid: process.pid }));
