import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ZoneDef } from '../../actors/camera/mod.ts';
import type { SceneName } from '../../actors/video/mod.ts';
import {
  assertMatchesTruth,
  rect,
  decidedZoneEvents,
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
  'walk-through': [
    {
      id: 'door',
      kind: 'line',
      points: [
        [0.35, 0.3],
        [0.35, 1],
      ],
    },
    { id: 'floor', kind: 'area', points: rect(0.55, 0.6, 0.8, 0.95) },
  ],
  // Red is hidden behind blue while inside the zone.
  crossing: [{ id: 'middle', kind: 'area', points: rect(0.4, 0.6, 0.6, 0.85) }],
  // The walker enters, is hidden behind the standing person, and leaves.
  occlusion: [{ id: 'centre', kind: 'area', points: rect(0.35, 0.6, 0.65, 0.9) }],
  shelf: [{ id: 'shelf', kind: 'product', points: rect(0.7, 0.45, 0.9, 0.65), dwellSeconds: 2 }],
};
/** Occlusions in each scene: the ID-switch budget is one per occlusion. */
const OCCLUSIONS: Record<SceneName, number> = { 'walk-through': 1, crossing: 1, occlusion: 1, shelf: 0 };

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
