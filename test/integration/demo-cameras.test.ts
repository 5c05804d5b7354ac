/**
 * The demo's cameras, as `npm start` runs them but in a test tenant: the demo's own assets (its
 * scenes rendered, the generated detector), Debian's GStreamer RTSP server playing them in a
 * loop, the cameras and zones seeded through the demo's seeding code, a real actor node running
 * their video and their actors. Each camera streams and its people reach SSE: someone comes in
 * through its entrance line, enters its area, takes from its product zone. Then headless
 * Chromium signs in on the live page: the camera panel shows both cameras streaming, with a
 * number for every zone. A screenshot is left in `.vigil/artifacts/`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startActorNode, type ActorNode } from '../../actors/mod.ts';
import {
  ensureDemoCameras,
  prepareDemoCameraAssets,
  type DemoCamera,
  type DemoCameraSource,
} from '../../ops/demo/cameras.ts';
import { DEMO_CAMERAS, DEMO_DETECT } from '../../ops/demo/store-cameras.ts';
import { startRtspServer, type RtspServer } from '../../ops/rtsp/rtsp.ts';
import { withTenant, type CameraHealth, type PeopleEvent } from '../../schemas/mod.ts';
import { apiFixture, PASSWORD, type ApiFixture, type World } from '../helpers/app.ts';
import { ARTIFACTS, launchBrowser } from '../helpers/browser.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { waitFor } from '../helpers/wait.ts';

let fx: ApiFixture;
let W: World;
let dir: string;
let rtsp: RtspServer;
let node: ActorNode;
let base: string;
let sse: SseClient;
let source: DemoCameraSource;
let cameras: DemoCamera[];

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
  // The world's cameras point nowhere: only the demo's run here.
  for (const id of W.cameras)
    assert.equal((await fx.call(W.operator.token, 'DELETE', `/v1/cameras/${id}`)).statusCode, 204);
  dir = await mkdtemp(join(tmpdir(), 'vigil-demo-cameras-'));
  const assets = await prepareDemoCameraAssets(dir);
  rtsp = await startRtspServer({ mounts: assets.videos, loop: true, port: 0 });
  source = { url: (m) => rtsp.url(m), model: assets.model, enabled: true };
  cameras = await withTenant(fx.deps.db, { tenantId: W.tenantId }, (c) =>
    ensureDemoCameras(c, W.sites, source),
  );
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(fx.app.server.address() as AddressInfo).port}`;
  node = await startActorNode({
    config: { ...fx.config, VIGIL_DETECT_WORKERS: 1 },
    log: fx.deps.log,
    nodeID: `${fx.config.VIGIL_NS}-demo`,
    services: ['camera', 'camera-video', 'people-ch'],
    // The database is shared with other test files: only this file's tenant's cameras.
    cameraTenants: [W.tenantId],
  });
  // The node made the streams; the scenes loop, so whatever played before this is seen again.
  sse = await SseClient.open(`${base}/v1/stream?access_token=${W.viewer.token}&kind=people,camera`);
  assert.equal(sse.status, 200);
});

after(async () => {
  await sse?.close();
  await node?.stop();
  await rtsp?.stop();
  await fx?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const people = (): PeopleEvent[] =>
  sse.events.filter((f) => f.event?.startsWith('people.')).map((f) => JSON.parse(f.data!) as PeopleEvent);

describe('the demo cameras', () => {
  test('seeded as specified: two cameras at their sites, three zones each; seeding again adds nothing', async () => {
    assert.deepEqual(
      cameras.map((c) => [c.name, c.siteId, Object.keys(c.zones).sort()]),
      DEMO_CAMERAS.map((s) => [s.name, W.sites[s.site], s.zones.map((z) => z.name).sort()]),
    );
    const again = await withTenant(fx.deps.db, { tenantId: W.tenantId }, (c) =>
      ensureDemoCameras(c, W.sites, source),
    );
    assert.deepEqual(again, cameras);
    const listed = await fx.call(W.viewer.token, 'GET', '/v1/cameras');
    assert.equal(listed.statusCode, 200, listed.body);
    const items = listed.json<{ items: Array<{ id: string; sourceUrl: string; inputSize: number }> }>().items;
    assert.deepEqual(
      items.map((c) => [c.id, c.sourceUrl, c.inputSize]).sort(),
      cameras.map((c) => [c.id, rtsp.url(c.mount), DEMO_DETECT.inputSize]).sort(),
    );
    const zones = await fx.call(W.viewer.token, 'GET', '/v1/zones?limit=200');
    assert.equal(zones.statusCode, 200, zones.body);
    assert.equal(zones.json<{ items: unknown[] }>().items.length, 6, 'three zones per camera, none twice');
  });

  test('each camera streams over RTSP and its people come in, enter its area and take from its shelf', async () => {
    for (const cam of cameras) {
      const spec = DEMO_CAMERAS.find((s) => s.name === cam.name)!;
      const zone = (kind: string) => cam.zones[spec.zones.find((z) => z.kind === kind)!.name]!;
      const seen = (type: PeopleEvent['type'], zoneId: string) =>
        people().some((e) => e.type === type && e.data.cameraId === cam.id && e.data.zoneId === zoneId);
      await waitFor(
        `${cam.name}: entry, zone entry, product interaction`,
        () =>
          seen('people.entry', zone('line')) &&
          seen('people.zone_entry', zone('area')) &&
          seen('people.product_interaction', zone('product')),
        120_000,
      );
      const entry = people().find((e) => e.type === 'people.entry' && e.data.cameraId === cam.id)!;
      assert.equal(entry.data.entrance, true, 'the entrance line counts footfall');
      assert.equal(entry.siteId, cam.siteId);
      const res = await fx.call(W.viewer.token, 'GET', `/v1/cameras/${cam.id}/health`);
      const health = res.json<CameraHealth>();
      assert.equal(health.state, 'streaming', res.body);
      assert.equal(health.reconnects, 0);
    }
  });

  test("the panel's script reads documented routes only", async () => {
    const script = await (await fetch(`${base}/cameras.js`)).text();
    const spec = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const paths = [...script.matchAll(/(?:get|allPages)\(\s*[`']([^`']+)[`']/g)]
      .map((m) => m[1]!.replace(/\?.*$/, '').replace(/\$\{[^}]+\}/g, '{id}'))
      .filter((p) => p.startsWith('/v1/'));
    assert.deepEqual([...new Set(paths)].sort(), [
      '/v1/cameras',
      '/v1/cameras/{id}/health',
      '/v1/cameras/{id}/overlay',
      '/v1/metrics/realtime',
      '/v1/sites',
      '/v1/zones',
    ]);
    for (const p of paths) assert.ok(spec.paths[p]?.['get'], `GET ${p} is a documented route`);
  });

  test('the camera panel shows both cameras streaming, a number for every zone, people in through each door, the overlay', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser();
      const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`${base}/`);
      await page.fill('input[name=email]', W.viewer.email);
      await page.fill('input[name=password]', PASSWORD);
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('#live-view:not([hidden])');
      const streaming = page.locator('#cameras [data-camera][data-state=streaming]');
      await waitFor(
        'both camera tiles streaming',
        async () => (await streaming.count()) === cameras.length,
        30_000,
      );
      const tiles = await page.$$eval('#cameras [data-camera]', (nodes) =>
        nodes.map((n) => ({
          id: n.getAttribute('data-camera'),
          name: n.querySelector('header strong')?.textContent,
          state: n.querySelector('[data-field=state]')?.textContent,
          zones: [...n.querySelectorAll('tr[data-zone]')].map((tr) => ({
            kind: tr.getAttribute('data-kind'),
            now: tr.querySelector('[data-field=occupancy]')?.textContent ?? '',
            today: tr.querySelector('[data-field=today]')?.textContent ?? '',
          })),
        })),
      );
      assert.deepEqual(
        tiles.map((t) => [t.id, t.name, t.state]).sort(),
        cameras.map((c) => [c.id, c.name, 'streaming']).sort(),
      );
      for (const t of tiles) {
        assert.deepEqual(t.zones.map((z) => z.kind).sort(), ['area', 'line', 'product'], t.name!);
        for (const z of t.zones) {
          assert.match(
            z.today,
            /^\d+ (in|entry|entries|interaction|interactions)$/,
            `${t.name} ${z.kind}: ${z.today}`,
          );
          assert.match(z.now, z.kind === 'line' ? /^—$/ : /^\d+$/, `${t.name} ${z.kind}: ${z.now}`);
        }
      }
      // People came in through each camera's door before the page opened (stored, then read
      // back by the panel) or come in while it is open (its stream): the count shows them.
      for (const cam of cameras) {
        const door = page.locator(`#cameras [data-camera="${cam.id}"] tr[data-kind=line] [data-field=today]`);
        await waitFor(
          `${cam.name}: people in through its door on the panel`,
          async () => Number.parseInt(await door.innerText(), 10) >= 1,
          90_000,
        );
      }
      // The overlay (fetched with the token, shown through an object URL the CSP allows): the
      // camera's frame, decoded by the browser.
      for (const cam of cameras) {
        const img = page.locator(`#cameras [data-camera="${cam.id}"] img[data-field=overlay]`);
        await waitFor(
          `${cam.name}: its overlay image shown`,
          async () =>
            !(await img.isHidden()) &&
            (await img.evaluate((e) => (e as unknown as { naturalWidth: number }).naturalWidth)) > 0,
          30_000,
        );
        assert.match((await img.getAttribute('src')) ?? '', /^blob:/);
      }
      await page.screenshot({ path: join(ARTIFACTS, 'camera-panel.png'), fullPage: true });
      assert.deepEqual(problems, [], 'the page ran without script errors');
    } finally {
      await browser?.close();
    }
  });
});
