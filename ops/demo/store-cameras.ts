import type { Scene, ScenePerson, ShirtColour } from '../../actors/video/mod.ts';
import type { ApiZoneKind, ZonePoints } from '../../schemas/mod.ts';

/**
 * The demo's two cameras: a synthetic scene each (rendered by actors/video/synthetic, served
 * over RTSP in a loop) and the zones placed where the scene makes them fire. Every person walks
 * in from outside the frame and leaves it again before the scene ends, so the loop's seam is an
 * empty floor and the cameras run for as long as the demo does. What each zone sees in one pass
 * is spelt out below; test/unit/demo-cameras.test.ts holds the scenes to it.
 */
export interface DemoZone {
  name: string;
  kind: ApiZoneKind;
  points: ZonePoints;
  entrance?: boolean;
  dwellSeconds?: number;
}

export interface DemoCameraSpec {
  name: string;
  /** Index into the demo's sites (seed.ts `DEMO_SITES`). */
  site: number;
  /** RTSP mount of the scene: rtsp://127.0.0.1:<port>/<mount>. */
  mount: string;
  scene: Scene;
  zones: readonly DemoZone[];
}

/** Detection settings of the demo cameras: the generated detector at 320, 5 frames a second. */
export const DEMO_DETECT = { inputSize: 320, detectFps: 5, confidence: 0.3 } as const;

const W = 640;
const H = 360;
const FPS = 10;

const person = (
  id: number,
  colour: ShirtColour,
  path: Array<[t: number, x: number, y: number]>,
): ScenePerson => ({
  id,
  colour,
  width: 36,
  height: 110,
  path: path.map(([t, x, y]) => ({ t, x, y })),
});

/**
 * Downtown Market's front door: the door is off the left edge. In one 48 s pass —
 * - Door (entrance line at x = 0.2, crossed left to right is in): in 1, 2, 4; out 2, 3, 5;
 * - Lobby (area): all five walk through it; 2 stands there six seconds;
 * - Promo stand (product zone in front of the stand, top right): 1 and 4 each stand five seconds.
 */
const FRONT_DOOR: DemoCameraSpec = {
  name: 'Front door',
  site: 0,
  mount: 'front-door',
  scene: {
    name: 'demo-front-door',
    width: W,
    height: H,
    fps: FPS,
    duration: 48,
    shelves: [{ x: 440, y: 40, w: 170, h: 90 }],
    people: [
      person(1, 'red', [
        [1, -30, 280],
        [6, 330, 280],
        [9, 520, 180],
        [14, 520, 180],
        [17.5, 670, 260],
      ]),
      person(2, 'blue', [
        [5, -30, 320],
        [10, 300, 315],
        [16, 300, 315],
        [21, -30, 300],
      ]),
      person(3, 'green', [
        [15, 670, 240],
        [23, -30, 250],
      ]),
      person(4, 'red', [
        [26, -30, 300],
        [31, 300, 290],
        [34, 500, 185],
        [39, 500, 185],
        [42.5, 670, 270],
      ]),
      person(5, 'blue', [
        [36, 670, 320],
        [45, -30, 300],
      ]),
    ],
  },
  zones: [
    {
      name: 'Door',
      kind: 'line',
      entrance: true,
      points: [
        [0.2, 0.95],
        [0.2, 0.4],
      ],
    },
    {
      name: 'Lobby',
      kind: 'area',
      points: [
        [0.3, 0.55],
        [0.7, 0.55],
        [0.7, 0.95],
        [0.3, 0.95],
      ],
    },
    {
      name: 'Promo stand',
      kind: 'product',
      dwellSeconds: 3,
      points: [
        [0.66, 0.36],
        [0.98, 0.36],
        [0.98, 0.56],
        [0.66, 0.56],
      ],
    },
  ],
};

/**
 * Harbour Store's cooler aisle: the aisle opens off the right edge. In one 44 s pass —
 * - Aisle end (entrance line at x = 0.8, crossed right to left is in): everyone in and out;
 * - Aisle (area): all four; 2 and 4 stop there a while;
 * - Cooler (product zone in front of the cooler, top left): 1 and 3 each stand five seconds.
 */
const COOLER_AISLE: DemoCameraSpec = {
  name: 'Cooler aisle',
  site: 1,
  mount: 'cooler-aisle',
  scene: {
    name: 'demo-cooler-aisle',
    width: W,
    height: H,
    fps: FPS,
    duration: 44,
    shelves: [{ x: 40, y: 40, w: 300, h: 90 }],
    people: [
      person(1, 'blue', [
        [1, 670, 300],
        [6, 250, 290],
        [8, 180, 185],
        [13, 180, 185],
        [15, 250, 300],
        [19, 670, 310],
      ]),
      person(2, 'green', [
        [4, 670, 255],
        [9, 380, 255],
        [14, 380, 255],
        [18.5, 670, 255],
      ]),
      person(3, 'red', [
        [21, 670, 320],
        [27, 120, 300],
        [29, 150, 190],
        [34, 150, 190],
        [36, 200, 310],
        [41, 670, 320],
      ]),
      person(4, 'green', [
        [30, 670, 280],
        [35, 420, 270],
        [36.5, 420, 270],
        [40, 670, 275],
      ]),
    ],
  },
  zones: [
    {
      name: 'Aisle end',
      kind: 'line',
      entrance: true,
      points: [
        [0.8, 0.4],
        [0.8, 0.95],
      ],
    },
    {
      name: 'Aisle',
      kind: 'area',
      points: [
        [0.08, 0.58],
        [0.72, 0.58],
        [0.72, 0.95],
        [0.08, 0.95],
      ],
    },
    {
      name: 'Cooler',
      kind: 'product',
      dwellSeconds: 3,
      points: [
        [0.06, 0.36],
        [0.54, 0.36],
        [0.54, 0.56],
        [0.06, 0.56],
      ],
    },
  ],
};

export const DEMO_CAMERAS: readonly DemoCameraSpec[] = [FRONT_DOOR, COOLER_AISLE];
