import type { Scene, ScenePerson, ShirtColour } from './scene.ts';

const W = 640;
const H = 360;
const FPS = 10;

function walker(
  id: number,
  colour: ShirtColour,
  path: Array<[t: number, x: number, y: number]>,
  size: { width?: number; height?: number } = {},
): ScenePerson {
  return {
    id,
    colour,
    width: size.width ?? 36,
    height: size.height ?? 110,
    path: path.map(([t, x, y]) => ({ t, x, y })),
  };
}

/**
 * The project's scenes. Each isolates one thing a tracker must get right (the demo cameras have
 * scenes of their own: ops/demo/store-cameras.ts). Paths start and end outside the frame so
 * people walk in and out.
 */
export const SCENES = {
  /** Three people cross the floor one after another, in both directions; one comes in the door. */
  'walk-through': {
    name: 'walk-through',
    width: W,
    height: H,
    fps: FPS,
    duration: 12,
    shelves: [],
    people: [
      walker(1, 'red', [
        [0.5, -30, 250],
        [6.5, 670, 250],
      ]),
      walker(2, 'blue', [
        [3, 670, 320],
        [10, -30, 300],
      ]),
      walker(3, 'green', [
        [5, 320, 420],
        [8.5, 320, 180],
        [11.5, 700, 180],
      ]),
    ],
  },
  /** Two people walk towards each other on nearly the same line; the nearer one hides the other. */
  crossing: {
    name: 'crossing',
    width: W,
    height: H,
    fps: FPS,
    duration: 9,
    shelves: [],
    people: [
      walker(1, 'red', [
        [0.5, -30, 260],
        [8.5, 670, 260],
      ]),
      walker(2, 'blue', [
        [0.5, 670, 280],
        [8.5, -30, 280],
      ]),
    ],
  },
  /** One person walks behind another who stands still: fully hidden for about half a second. */
  occlusion: {
    name: 'occlusion',
    width: W,
    height: H,
    fps: FPS,
    duration: 10,
    shelves: [],
    people: [
      walker(
        1,
        'green',
        [
          [0, 320, 300],
          [10, 320, 300],
        ],
        { width: 48, height: 130 },
      ),
      walker(2, 'red', [
        [1, -30, 250],
        [9, 670, 250],
      ]),
    ],
  },
  /** A shopper walks to the shelf, stands there four seconds, walks away. */
  shelf: {
    name: 'shelf',
    width: W,
    height: H,
    fps: FPS,
    duration: 12,
    shelves: [{ x: 420, y: 60, w: 200, h: 90 }],
    people: [
      walker(1, 'blue', [
        [0.5, -30, 240],
        [4, 500, 200],
        [8, 500, 200],
        [11.5, 670, 300],
      ]),
      walker(2, 'red', [
        [2, 200, 420],
        [7, 200, 160],
        [7.01, 200, 160],
        [10, 200, 420],
      ]),
    ],
  },
} as const satisfies Record<string, Scene>;

export type SceneName = keyof typeof SCENES;
