/**
 * Slow clients (issue 10, finding 5): a request that announces a body and sends only part of
 * it, or never finishes its headers, is cut after the configured timeout with a 408 in the
 * error envelope, and the connection closed.
 */
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { bootGateway, type BootedGateway } from '../helpers/app.ts';

let gw: BootedGateway;
let port: number;

before(async () => {
  gw = await bootGateway('http-timeouts-test', {
    VIGIL_REQUEST_TIMEOUT_MS: 1500,
    VIGIL_HEADERS_TIMEOUT_MS: 1000,
  });
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
  port = (gw.app.server.address() as AddressInfo).port;
});

after(async () => {
  await gw?.app.close();
  await gw?.deps.close();
  await gw?.admin.end();
});

/** Send `raw` and nothing more; resolve with everything the server wrote before closing. */
function stall(raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(raw));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
  });
}

function parse(response: string): { status: number; type: string; body: unknown } {
  const [head = '', body = ''] = response.split('\r\n\r\n');
  const status = Number(head.split(' ')[1]);
  const type = /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '';
  return { status, type, body: JSON.parse(body) };
}

describe('slow clients', () => {
  test('a body announced and half sent: 408 REQUEST_TIMEOUT in the envelope, connection closed', async () => {
    const res = parse(
      await stall(
        'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":',
      ),
    );
    assert.equal(res.status, 408);
    assert.match(res.type, /^application\/json/);
    assert.deepEqual(res.body, {
      error: { code: 'REQUEST_TIMEOUT', message: 'The request was not received in time' },
    });
  });

  test('headers never finished: the same envelope', async () => {
    const res = parse(await stall('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    assert.equal(res.status, 408);
    assert.deepEqual(res.body, {
      error: { code: 'REQUEST_TIMEOUT', message: 'The request was not received in time' },
    });
  });

  test('a malformed request line: 400 in the envelope', async () => {
    const res = parse(await stall('NOT HTTP AT ALL\r\n\r\n'));
    assert.equal(res.status, 400);
    assert.equal((res.body as { error: { code: string } }).error.code, 'BAD_REQUEST');
  });
});
