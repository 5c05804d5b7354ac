/**
 * The overlay drawing (gateway/admin/overlay.ts): zone names are user input and reach an SVG
 * parser, so they are escaped and cleaned; a line's arrow points to its "in" side (right of A→B,
 * y down, as the zone code counts crossings); only the people the actor sees now get a box.
 * Rendered through sharp, as the route does.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import {
  liveBoxes,
  OVERLAY_COLOURS,
  overlaySvg,
  renderOverlay,
  xmlText,
  type OverlayZone,
} from '../../gateway/admin/overlay.ts';
import type { CameraTracksView } from '../../schemas/mod.ts';

const W = 200;
const H = 200;

/** A black W×H PNG. */
const black = () =>
  sharp({ create: { width: W, height: H, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .png()
    .toBuffer();

async function pixels(png: Buffer): Promise<{ at: (x: number, y: number) => [number, number, number] }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, W);
  assert.equal(info.height, H);
  return {
    at: (x, y) => {
      const i = (y * W + x) * 3;
      return [data[i]!, data[i + 1]!, data[i + 2]!];
    },
  };
}

const rgb = (hex: string): [number, number, number] => [
  parseInt(hex.slice(1, 3), 16),
  parseInt(hex.slice(3, 5), 16),
  parseInt(hex.slice(5, 7), 16),
];

describe('xmlText', () => {
  for (const [name, input, expected] of [
    ['markup is escaped', '<script>&"\'', '&lt;script&gt;&amp;&quot;&apos;'],
    ['plain text passes', 'Cooler 2 — aisle ü', 'Cooler 2 — aisle ü'],
    ['C0 controls are dropped', 'a\u0001b\u001fc', 'abc'],
    ['a lone surrogate is dropped', 'a\ud800b', 'ab'],
    ['U+FFFE is dropped', 'a\ufffeb', 'ab'],
    ['a pair stays', 'a😀b', 'a😀b'],
    ['long names are cut at 40 characters', 'x'.repeat(100), 'x'.repeat(40)],
  ] as const) {
    test(name, () => assert.equal(xmlText(input), expected));
  }
});

describe('liveBoxes', () => {
  test('given tracks of every status → only confirmed ones matched in the latest frame get a box', () => {
    const box = { x1: 0.1, y1: 0.1, x2: 0.2, y2: 0.4 };
    const view: CameraTracksView = {
      tracker: {
        lastTs: 5000,
        tracks: [
          { id: 1, status: 'confirmed', box, lastSeen: 5000 },
          { id: 2, status: 'tentative', box, lastSeen: 5000 },
          { id: 3, status: 'lost', box, lastSeen: 4000 },
          { id: 4, status: 'confirmed', box, lastSeen: 4800 },
          { id: 5, status: 'confirmed', box, lastSeen: 5000 },
        ],
      },
    };
    assert.deepEqual(
      liveBoxes(view).map((b) => b.trackId),
      [1, 5],
    );
    assert.deepEqual(liveBoxes({ tracker: { lastTs: null, tracks: [] } }), []);
  });
});

describe('overlaySvg and renderOverlay', () => {
  test('a hostile zone name is escaped and the overlay still renders', async () => {
    const zones: OverlayZone[] = [
      {
        name: '</text><image href="file:///etc/passwd"/>\u0000',
        kind: 'area',
        points: [
          [0.1, 0.1],
          [0.5, 0.1],
          [0.5, 0.5],
        ],
        entrance: false,
      },
    ];
    const svg = overlaySvg(W, H, zones, []);
    assert.ok(!svg.includes('<image'), svg);
    // Escaped, and cut at 40 characters.
    assert.ok(svg.includes('>&lt;/text&gt;&lt;image href=&quot;file:///etc/passwd&quot;/</text>'), svg);
    const png = await renderOverlay(await black(), zones, [], 'png');
    const p = await pixels(png);
    // The polygon's top edge, away from its label: the area colour.
    assert.deepEqual(p.at(80, Math.round(0.1 * H)), rgb(OVERLAY_COLOURS.area));
  });

  test("a line's arrow points to its in side (right of A→B, y down)", async () => {
    // A line from a to b, drawn alone; a one-letter name keeps its label clear of the pixels checked.
    const drawLine = async (a: [number, number], b: [number, number]) =>
      pixels(
        await renderOverlay(
          await black(),
          [{ name: 'd', kind: 'line', points: [a, b], entrance: false }],
          [],
          'png',
        ),
      );
    // A→B left to right: "in" is below the line on screen.
    const down = await drawLine([0.2, 0.5], [0.8, 0.5]);
    assert.deepEqual(down.at(100, 100), rgb(OVERLAY_COLOURS.line), 'the line itself');
    assert.deepEqual(down.at(100, 108), rgb(OVERLAY_COLOURS.line), 'the arrow, below');
    assert.deepEqual(down.at(100, 92), [0, 0, 0], 'nothing above');
    // B→A: the same line the other way round; "in" is above.
    const up = await drawLine([0.8, 0.5], [0.2, 0.5]);
    assert.deepEqual(up.at(100, 92), rgb(OVERLAY_COLOURS.line), 'the arrow, above');
    assert.deepEqual(up.at(100, 108), [0, 0, 0], 'nothing below');
  });

  test('a box is drawn where the track is, labelled with its id', async () => {
    const box = { x1: 0.5, y1: 0.5, x2: 0.9, y2: 0.9 };
    const svg = overlaySvg(W, H, [], [{ trackId: 17, box }]);
    assert.match(svg, />#17</);
    const p = await pixels(await renderOverlay(await black(), [], [{ trackId: 17, box }], 'png'));
    assert.deepEqual(p.at(140, 180), rgb(OVERLAY_COLOURS.track), 'the bottom edge');
    assert.deepEqual(p.at(140, 140), [0, 0, 0], 'inside is not filled');
  });

  test('jpeg by default keeps the size; png is lossless where nothing is drawn', async () => {
    const jpeg = await renderOverlay(await black(), [], [], 'jpeg');
    const meta = await sharp(jpeg).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.width, W);
    assert.equal(meta.height, H);
    const png = await pixels(await renderOverlay(await black(), [], [], 'png'));
    assert.deepEqual(png.at(10, 10), [0, 0, 0]);
  });
});
