/**
 * Child process of the SSE memory bench: the bare-machine baseline. A plain node:http server
 * that answers every request with an open `text/event-stream` response and a heartbeat timer,
 * as the gateway does, with nothing else (no Fastify, no authentication, no JetStream consumer).
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { failToParent, serveParent } from './child.ts';

const open = new Set<ServerResponse>();
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  res.write('retry: 2000\n\n');
  const beat = setInterval(() => res.write(': hb\n\n'), 15_000);
  open.add(res);
  res.on('close', () => {
    clearInterval(beat);
    open.delete(res);
  });
});
try {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
} catch (err) {
  failToParent(err);
}
serveParent(
  { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: '' },
  {
    calls: { memory: () => process.memoryUsage() },
    stop: async () => {
      for (const res of open) res.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  },
);
