// `npm run demo`: starts the example app and one taskino sidecar on the embedded in-memory store.
// Ctrl-C stops both. In another terminal: node bin/taskino.js list --admin-socket /tmp/taskino-demo.sock
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = { ...process.env, DEMO_TOKEN: process.env.DEMO_TOKEN ?? 'demo-secret' };
const app = spawn(process.execPath, ['examples/app/server.mjs'], { cwd: root, env, stdio: 'inherit' });
const sidecar = spawn(
  process.execPath,
  ['bin/taskino.js', 'run', '--config', 'examples/tasks.yaml', '--admin-socket', '/tmp/taskino-demo.sock', '--http-port', process.env.TASKINO_HTTP_PORT ?? '9464'],
  { cwd: root, env, stdio: 'inherit' },
);
const stop = () => {
  sidecar.kill('SIGTERM');
  app.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
sidecar.on('exit', (code) => {
  app.kill('SIGTERM');
  process.exitCode = code ?? 0;
});
