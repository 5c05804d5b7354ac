/**
 * The demo's cameras are what the demo says they are: each at one of the demo's sites with an
 * entrance line, an area and a product zone, every zone one the API accepts; each scene starts
 * and ends on an empty floor, so the RTSP server's loop has no seam; and the scene's exact boxes,
 * through the zone code at the demo's detect rate, make every zone fire for the people its
 * description names (ops/demo/store-cameras.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { zoneDefOf, zoneShapeProblem } from '../../actors/camera/mod.ts';
import { groundTruth } from '../../actors/video/mod.ts';
import { DEMO_SITES } from '../../ops/demo/seed.ts';
import { DEMO_CAMERAS, DEMO_DETECT, type DemoCameraSpec } from '../../ops/demo/store-cameras.ts';
import { truthEvents } from '../helpers/scene-truth.ts';

/** Zone → event type → the people it fired for (sorted; a person twice if twice) over one pass. */
type Fired = Record<string, Record<string, number[]>>;

function fired(cam: DemoCameraSpec): Fired {
  const zones = cam.zones.map((z) =>
    zoneDefOf({ id: z.name, kind: z.kind, points: z.points, dwellSeconds: z.dwellSeconds }),
  );
  const frames = Math.floor(cam.scene.duration * DEMO_DETECT.detectFps);
  const times = Array.from({ length: frames }, (_, i) => i / DEMO_DETECT.detectFps);
  const out: Fired = {};
  for (const e of truthEvents(cam.scene, zones, times))
    ((out[e.zoneId] ??= {})[e.type] ??= []).push(e.person);
  for (const byType of Object.values(out))
    for (const people of Object.values(byType)) people.sort((a, b) => a - b);
  return out;
}

const camera = (name: string): DemoCameraSpec => DEMO_CAMERAS.find((c) => c.name === name)!;

describe('the demo cameras', () => {
  test('two cameras, one per demo site, each with an entrance line, an area and a product zone the API accepts', () => {
    assert.deepEqual(
      DEMO_CAMERAS.map((c) => [c.name, DEMO_SITES[c.site]?.name]),
      [
        ['Front door', 'Downtown Market'],
        ['Cooler aisle', 'Harbour Store'],
      ],
    );
    assert.equal(new Set(DEMO_CAMERAS.map((c) => c.mount)).size, 2, 'one RTSP mount each');
    for (const c of DEMO_CAMERAS) {
      assert.deepEqual(
        c.zones.map((z) => [z.kind, z.entrance ?? false]).sort(),
        [
          ['area', false],
          ['line', true],
          ['product', false],
        ],
        c.name,
      );
      for (const z of c.zones) assert.equal(zoneShapeProblem(z.kind, z.points), null, `${c.name}: ${z.name}`);
    }
  });

  test('each scene starts and ends on an empty floor: the loop has no seam', () => {
    for (const { name, scene } of DEMO_CAMERAS) {
      assert.deepEqual(groundTruth(scene, 0), [], `${name} at the start`);
      assert.deepEqual(groundTruth(scene, scene.duration - 1 / scene.fps), [], `${name} at the end`);
      for (const p of scene.people) {
        assert.ok(
          p.path[0]!.t > 0 && p.path.at(-1)!.t < scene.duration,
          `${name}: person ${p.id} within the pass`,
        );
        assert.ok(
          groundTruth(scene, (p.path[0]!.t + p.path.at(-1)!.t) / 2).some((g) => g.id === p.id),
          `${name}: person ${p.id} is seen`,
        );
      }
    }
  });

  test('front door: in through the door 1, 2, 4 and out 2, 3, 5; all five cross the lobby; 1 and 4 take from the promo stand', () => {
    assert.deepEqual(fired(camera('Front door')), {
      Door: { entry: [1, 2, 4], exit: [2, 3, 5] },
      Lobby: { zone_entry: [1, 2, 3, 4, 5], zone_exit: [1, 2, 3, 4, 5] },
      'Promo stand': { zone_entry: [1, 4], product_interaction: [1, 4], zone_exit: [1, 4] },
    });
  });

  test('cooler aisle: everyone in and out at the aisle end; 1 and 3 go to the cooler and back through the aisle', () => {
    assert.deepEqual(fired(camera('Cooler aisle')), {
      'Aisle end': { entry: [1, 2, 3, 4], exit: [1, 2, 3, 4] },
      Aisle: { zone_entry: [1, 1, 2, 3, 3, 4], zone_exit: [1, 1, 2, 3, 3, 4] },
      Cooler: { zone_entry: [1, 3], product_interaction: [1, 3], zone_exit: [1, 3] },
    });
  });
});
