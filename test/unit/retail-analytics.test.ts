/**
 * Retail analytics, pure: local days (across DST), daily metrics against a synthetic store's
 * ground truth, spikes, promotion lift and insights' number check.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildFindings,
  choosePhrasing,
  dailyMetrics,
  dayWindow,
  findSpikes,
  keepsNumbers,
  localDay,
  median,
  promotionLift,
  type DayValue,
  type PeopleEvent,
} from '../../gateway/analytics/mod.ts';
import {
  CAMERA_COOLER,
  CAMERA_DOOR,
  TZ,
  ZONE_AISLE,
  ZONE_COOLER,
  retailWeeks,
} from '../helpers/retail-weeks.ts';

const HOUR = 3_600_000;

describe('local days', () => {
  test('New York: the fall-back day has 25 hours, the spring-forward day 23, both cut at local midnight', () => {
    const fall = dayWindow('2026-11-01', TZ);
    assert.equal(new Date(fall.from).toISOString(), '2026-11-01T04:00:00.000Z');
    assert.equal(new Date(fall.to).toISOString(), '2026-11-02T05:00:00.000Z');
    assert.equal((fall.to - fall.from) / HOUR, 25);
    const spring = dayWindow('2026-03-08', TZ);
    assert.equal(new Date(spring.from).toISOString(), '2026-03-08T05:00:00.000Z');
    assert.equal((spring.to - spring.from) / HOUR, 23);
  });

  test('Auckland (UTC+13 in summer): an instant late on a UTC day is already the next local day', () => {
    // NZ daylight time starts 2026-09-27 02:00 local: that day is 23 hours long.
    const w = dayWindow('2026-09-27', 'Pacific/Auckland');
    assert.equal(new Date(w.from).toISOString(), '2026-09-26T12:00:00.000Z');
    assert.equal((w.to - w.from) / HOUR, 23);
    assert.equal(localDay(Date.parse('2026-12-01T11:30:00Z'), 'Pacific/Auckland'), '2026-12-02');
    assert.equal(localDay(Date.parse('2026-12-01T10:59:59Z'), 'Pacific/Auckland'), '2026-12-01');
  });

  test('given a visit at 23:30 local on the fall-back night, when metrics are cut, then it counts on that local day', () => {
    const at = Date.parse('2026-11-02T04:30:00Z'); // 23:30 EST on 1 November
    const e: PeopleEvent = {
      eventId: 'x',
      cameraId: CAMERA_DOOR,
      zoneId: 'door-line',
      kind: 'entry',
      entrance: true,
      trackId: 1,
      atMs: at,
      dwellS: null,
      occupancy: null,
    };
    assert.equal(dailyMetrics([e], '2026-11-01', TZ)[0]!.footfall, 1);
    assert.equal(dailyMetrics([e], '2026-11-01', TZ)[0]!.hourly[23], 1);
    assert.equal(dailyMetrics([e], '2026-11-02', TZ)[0]!.footfall, 0);
    assert.equal(dailyMetrics([e], '2026-11-01', 'UTC')[0]!.footfall, 0);
  });
});

describe('daily metrics from synthetic weeks', () => {
  const weeks = retailWeeks();
  /** A day's events with its neighbours' and some redeliveries: the cut must pick the day's own. */
  const around = (day: string) => {
    const i = weeks.truth.findIndex((t) => t.day === day);
    const days = weeks.truth.slice(Math.max(0, i - 1), i + 2).map((t) => weeks.byDay.get(t.day)!);
    const own = weeks.byDay.get(day)!;
    return [...days.flat(), ...own.filter((_, k) => k % 97 === 0)];
  };

  test('given 13 weeks of events across a DST change, then every day equals the ground truth exactly', () => {
    assert.equal(weeks.truth.length, 91);
    for (const t of weeks.truth) {
      const [site] = dailyMetrics(around(t.day), t.day, TZ);
      assert.deepEqual(
        {
          footfall: site!.footfall,
          unique: site!.uniqueVisitorsEstimate,
          interactions: site!.interactions,
          zoneEntries: site!.zoneEntries,
          avg: site!.dwellAvgS,
          median: site!.dwellMedianS,
          peak: site!.peakOccupancy,
          peakAt: site!.peakAtMs,
          hourly: site!.hourly,
        },
        {
          footfall: t.footfall,
          unique: t.uniqueVisitors,
          interactions: t.interactions,
          zoneEntries: t.zoneEntries,
          avg: t.dwells.reduce((a, b) => a + b, 0) / t.dwells.length,
          median: median(t.dwells),
          peak: t.peakOccupancy,
          peakAt: t.peakAtMs,
          hourly: t.hourly,
        },
        t.day,
      );
    }
  });

  test('camera and zone rows split the site day', () => {
    const t = weeks.truth.find((d) => d.day === '2026-11-01')!;
    const rows = dailyMetrics(around(t.day), t.day, TZ);
    const row = (camera: string | null, zone: string | null) =>
      rows.find((r) => r.cameraId === camera && r.zoneId === zone)!;
    assert.deepEqual(
      rows.map((r) => r.scope),
      ['site', 'camera', 'camera', 'zone', 'zone', 'zone'],
    );
    assert.equal(row(CAMERA_DOOR, null).footfall, t.footfall);
    assert.equal(row(CAMERA_COOLER, null).footfall, 0);
    assert.equal(row(CAMERA_COOLER, ZONE_COOLER).interactions, t.interactions);
    assert.equal(row(CAMERA_COOLER, ZONE_COOLER).dwellMedianS, 40);
    assert.equal(row(CAMERA_DOOR, ZONE_AISLE).zoneEntries, t.footfall);
    assert.equal(row(CAMERA_DOOR, ZONE_AISLE).peakOccupancy, t.peakOccupancy);
    assert.equal(
      row(CAMERA_DOOR, ZONE_AISLE).hourly.reduce((a, b) => a + b, 0),
      t.footfall,
    );
  });

  const footfall: DayValue[] = weeks.truth.map((t) => ({ day: t.day, value: t.footfall }));

  test('the spikes found are exactly the planted ones and the promotion week', () => {
    const promoDays = weeks.truth
      .map((t) => t.day)
      .filter((d) => d >= weeks.promotion.from && d <= weeks.promotion.to);
    const flagged = findSpikes(footfall)
      .filter((v) => v.spike)
      .map((v) => v.day);
    assert.deepEqual(flagged, [...promoDays, ...weeks.spikeDays].sort());
    assert.equal(weeks.spikeDays.length, 2);
    const planted = findSpikes(footfall).find((v) => v.day === weeks.spikeDays[1])!;
    assert.equal(planted.history.length, 4);
    assert.ok(planted.liftPct! > 90 && planted.liftPct! < 110, String(planted.liftPct));
  });

  test('the promotion lift equals the planted lift, against the week before and the same weekdays', () => {
    const lift = promotionLift(footfall, weeks.promotion);
    assert.ok(
      Math.abs(lift.previousPeriod.liftPct! - weeks.promotion.liftPct) < 0.1,
      String(lift.previousPeriod.liftPct),
    );
    assert.ok(
      Math.abs(lift.sameWeekdays.liftPct! - weeks.promotion.liftPct) < 0.1,
      String(lift.sameWeekdays.liftPct),
    );
    assert.equal(lift.previousPeriod.days, 7);
    assert.equal(lift.previousPeriod.baselineDays, 7);
    assert.equal(lift.previousPeriod.to, '2026-10-11');
  });

  test('missing days are left out of both sides, never read as zero', () => {
    const gap = footfall.filter((d) => d.day !== '2026-10-14');
    const lift = promotionLift(gap, weeks.promotion);
    assert.equal(lift.previousPeriod.days, 6);
    assert.equal(lift.sameWeekdays.days, 6);
  });
});

describe('spikes on a flat series', () => {
  test('given identical weeks, when a day moves 3 %, then it is inside the floor band; 20 % is a spike', () => {
    const series: DayValue[] = [];
    for (let i = 0; i < 35; i++)
      series.push({ day: new Date(Date.UTC(2026, 0, 5 + i)).toISOString().slice(0, 10), value: 100 });
    series[30]!.value = 103;
    series[31]!.value = 120;
    const v = findSpikes(series);
    assert.equal(v.find((d) => d.day === series[30]!.day)!.spike, false);
    assert.equal(v.find((d) => d.day === series[31]!.day)!.spike, true);
    assert.equal(v.find((d) => d.day === series[31]!.day)!.liftPct, 20);
    // The first three weeks have too little history for a verdict.
    assert.equal(v[0]!.day, series[21]!.day);
  });
});

describe('insights', () => {
  const findings = buildFindings({
    promotions: [
      {
        name: 'Black Friday',
        metric: 'footfall',
        from: '2026-11-27',
        to: '2026-11-29',
        liftPct: 34,
        during: 1340,
        baseline: 1000,
      },
    ],
    spikes: [],
    dwell: [{ zone: 'checkout', dwellMedianS: 69, baselineMedianS: 60, weeks: 4 }],
  });

  test('findings carry their numbers', () => {
    assert.deepEqual(
      findings.map((f) => f.text),
      [
        "footfall +34.0% during 'Black Friday' (2026-11-27 to 2026-11-29) against the period before it: 1340 vs 1000.",
        'checkout dwell +15.0% against its 4-week median: 69 s vs 60 s.',
      ],
    );
  });

  const product = findings[0]!.text;
  const cases: Array<[string, string, boolean]> = [
    [
      'rephrased, numbers kept',
      "Visits rose +34.0% over 'Black Friday' (2026-11-27 to 2026-11-29): 1340 against 1000 the period before.",
      true,
    ],
    [
      'a number altered',
      "Visits rose +35.0% over 'Black Friday' (2026-11-27 to 2026-11-29): 1340 against 1000.",
      false,
    ],
    ['a number dropped', "Visits rose +34.0% over 'Black Friday' (2026-11-27 to 2026-11-29).", false],
    [
      'a number invented',
      "Visits rose +34.0% over 'Black Friday' (2026-11-27 to 2026-11-29): 1340 against 1000, 3 times the usual.",
      false,
    ],
    [
      'the sign flipped',
      "Visits fell −34.0% over 'Black Friday' (2026-11-27 to 2026-11-29): 1340 against 1000.",
      false,
    ],
  ];
  for (const [name, phrased, ok] of cases)
    test(`phrasing check: ${name}`, () => {
      assert.equal(keepsNumbers(product, phrased), ok);
      assert.equal(choosePhrasing(product, phrased).text, ok ? phrased : product);
    });
});
