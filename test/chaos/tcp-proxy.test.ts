import { createServer, connect, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy } from '../support/tcp-proxy.js';
import { delay } from '../support/wait.js';

// The chaos harness's network-fault proxy must never reorder a TCP stream: a Redis client matches
// replies to commands by order, so a reordered stream hands one command another's reply.
describe('TcpProxy', () => {
  let echo: Server | undefined;
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await proxy?.stop();
    await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
  });

  it('keeps byte order across slow -> pass and blackhole -> pass switches', async () => {
    echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo!.listen(0, '127.0.0.1', () => resolve()));
    const port = (echo.address() as { port: number }).port;
    proxy = await TcpProxy.start(port);
    proxy.slowMs = 150;
    const client = connect(proxy.port, '127.0.0.1');
    let received = '';
    client.on('data', (d: Buffer) => (received += d.toString()));
    await new Promise((resolve) => client.once('connect', resolve));
    client.write('a');
    await delay(30);
    proxy.setMode('slow');
    client.write('b');
    await delay(30);
    client.write('c');
    await delay(30);
    proxy.setMode('pass'); // b and c are still delayed: d must not overtake them
    client.write('d');
    await delay(30);
    proxy.setMode('blackhole');
    client.write('e');
    await delay(30);
    proxy.setMode('pass');
    client.write('f');
    await delay(400);
    expect(received).toBe('abcdef');
    client.destroy();
  });
});
