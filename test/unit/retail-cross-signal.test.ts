/**
 * Cross-signal, pure: a cooler's door episodes labelled by people in its product zone, and
 * maintenance verified by presence plus temperature recovery.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  doorEpisodes,
  labelEpisodes,
  presenceIntervals,
  verifyMaintenance,
} from '../../gateway/analytics/mod.ts';

const T0 = Date.parse('2026-11-30T14:00:00Z');
const s = (n: number) => T0 + n * 1000;

describe('door episodes labelled attended / unattended', () => {
  // Door: open 0–30 s (a shopper in front), open 100–160 s (no one), open 300–320 s (a person
  // left 3 s before it opened: within the slack), open 500 s and still open at the last reading.
  const readings = [
    { ts: s(0), open: true },
    { ts: s(10), open: true },
    { ts: s(30), open: false },
    { ts: s(100), open: true },
    { ts: s(160), open: false },
    { ts: s(300), open: true },
    { ts: s(320), open: false },
    { ts: s(500), open: true },
    { ts: s(560), open: true },
  ];
  const people = [
    { kind: 'zone_entry', trackId: 1, atMs: s(-5), dwellS: null },
    { kind: 'zone_exit', trackId: 1, atMs: s(20), dwellS: 25 },
    { kind: 'zone_entry', trackId: 2, atMs: s(280), dwellS: null },
    { kind: 'zone_exit', trackId: 2, atMs: s(297), dwellS: 17 },
    { kind: 'product_interaction', trackId: 2, atMs: s(290), dwellS: 10 },
  ];

  test('given door readings and people in the zone, then each episode gets the expected label', () => {
    const episodes = doorEpisodes([...readings].reverse());
    assert.deepEqual(
      episodes.map((e) => [(e.from - T0) / 1000, (e.to - T0) / 1000, e.open]),
      [
        [0, 30, false],
        [100, 160, false],
        [300, 320, false],
        [500, 560, true],
      ],
    );
    const labelled = labelEpisodes(episodes, presenceIntervals(people, s(600)));
    assert.deepEqual(
      labelled.map((e) => e.attended),
      [true, false, true, false],
    );
  });

  test('a person still in the zone (entry without exit) attends an episode that starts later', () => {
    const presence = presenceIntervals(
      [{ kind: 'zone_entry', trackId: 9, atMs: s(90), dwellS: null }],
      s(600),
    );
    assert.deepEqual(
      labelEpisodes(doorEpisodes(readings), presence).map((e) => e.attended),
      [false, true, true, true],
    );
  });

  test('without slack, the person who left 3 s before the door opened does not count', () => {
    const labelled = labelEpisodes(doorEpisodes(readings), presenceIntervals(people, s(600)), 0);
    assert.deepEqual(
      labelled.map((e) => e.attended),
      [true, false, false, false],
    );
  });
});

describe('verified maintenance', () => {
  const window = { from: s(0), to: s(1800) };
  const presence = [{ from: s(60), to: s(1700) }];
  const temps = [
    { ts: s(1800), value: 9.5 },
    { ts: s(2400), value: 6.1 },
    { ts: s(3000), value: 4.2 },
    { ts: s(3600), value: 3.8 },
  ];
  const band = { low: 2, high: 5 };

  const cases: Array<
    [
      string,
      Parameters<typeof verifyMaintenance>[0],
      { verified: boolean; personPresent: boolean; recoveredAt: number | null },
    ]
  > = [
    [
      'present and back in band within 30 min',
      { window, presence, temperatures: temps, band, recoveryMinutes: 30 },
      { verified: true, personPresent: true, recoveredAt: s(3000) },
    ],
    [
      'back in band only after 20 min > T = 15',
      { window, presence, temperatures: temps, band, recoveryMinutes: 15 },
      { verified: false, personPresent: true, recoveredAt: null },
    ],
    [
      'no one at the unit',
      { window, presence: [{ from: s(1900), to: s(2000) }], temperatures: temps, band, recoveryMinutes: 30 },
      { verified: false, personPresent: false, recoveredAt: s(3000) },
    ],
  ];
  for (const [name, input, expected] of cases)
    test(name, () => assert.deepEqual(verifyMaintenance(input), expected));
});
