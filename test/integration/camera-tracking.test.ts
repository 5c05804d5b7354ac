import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ZoneDef } from '../../actors/camera/mod.ts';
import type { SceneName } from '../../actors/video/mod.ts';
import {
  assertMatchesTruth,
  decidedZoneEvents,
  SCENE_OCCLUSIONS,
  sceneZoneDefs,
  keyedEvents,
  runScene,
  truthEvents,
  type SceneFrame,
} from '../helpers/scene-truth.ts';
import { detectorFixture, sceneDetections } from '../helpers/video.ts';

const SIZE = 320;
const FPS = 5;
/** Zones per scene, each placed where the scene tests something (see the scene descriptions). */
const ZONES: Record<SceneName, ZoneDef[]> = {
  'walk-through': sceneZoneDefs('walk-through'),
  crossing: sceneZoneDefs('crossing'),
  occlusion: sceneZoneDefs('occlusion'),
  shelf: sceneZoneDefs('shelf'),
};
/** Occlusions in each scene: the ID-switch budget is one per occlusion. */
const OCCLUSIONS = SCENE_OCCLUSIONS;

const NAMES = Object.keys(ZONES) as SceneName[];
const fx = detectorFixture(NAMES, SIZE);

describe('camera actor on the project scenes (generated video → generated detector → tracker → zones)', () => {
  for (const name of NAMES) {
    test(`${name}: MOTA ≥ 0.95, ≤ 1 ID switch per occlusion, zone events as in the ground truth (±0.3 s)`, async () => {
      const frames: SceneFrame[] = [];
      for await (const f of sceneDetections(fx, name, { size: SIZE, fps: FPS, confidence: 0.3 }))
        frames.push(f);
      const { events, mot, personOf } = runScene(name, ZONES[name], frames);
      assert.ok(
        mot.mota >= 0.95,
        `MOTA ${mot.mota.toFixed(3)} (${JSON.stringify({ ...mot, idsByPerson: [...mot.idsByPerson] })})`,
      );
      assert.ok(mot.idSwitches <= OCCLUSIONS[name], `${mot.idSwitches} ID switches`);

      // Each track belongs to the person it was matched to; map the events onto people.
      const seen = keyedEvents(decidedZoneEvents(events), personOf);
      const truth = truthEvents(
        name,
        ZONES[name],
        frames.map((f) => f.pts),
      );
      assert.ok(truth.length >= 2, `scene ${name} has only ${truth.length} zone events to check`);
      assertMatchesTruth(seen, truth);
    });
  }
});
