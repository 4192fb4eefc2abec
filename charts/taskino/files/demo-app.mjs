// A tiny app for the quick start: it counts the calls taskino makes and prints each one.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const counts = new Map();

const server = createServer((req, res) => {
  const task = req.headers['x-taskino-task'] ?? '-';
  if (req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(Object.fromEntries(counts)));
  }
  counts.set(task, (counts.get(task) ?? 0) + 1);
  console.log(
    `[app] ${req.method} ${req.url}  task=${task} scheduled=${req.headers['x-taskino-scheduled-time'] ?? '-'} ` +
      `attempt=${req.headers['x-taskino-attempt'] ?? '-'} trigger=${req.headers['x-taskino-trigger'] ?? '-'} (call #${counts.get(task)})`,
  );
  if (req.url === '/jobs/flaky' && Math.random() < 0.5) {
    res.writeHead(500);
    return res.end('flaky failure\n');
  }
  res.writeHead(req.method === 'POST' ? 204 : 200);
  res.end();
});
server.listen(port, '127.0.0.1', () => console.log(`[app] listening on http://127.0.0.1:${port}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
