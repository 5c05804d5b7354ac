import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VigilError } from '../../schemas/mod.ts';
import { names } from '../../streams/mod.ts';
import type { Principal } from '../../gateway/mod.ts';
import {
  eventMatches,
  formatEvent,
  parseEventSubject,
  planStream,
  resumeAfter,
  type StreamFilter,
} from '../../gateway/sse.ts';

const T = 'tenant-a';
const S1 = 'site-1';
const S2 = 'site-2';
const everyone: Principal = { userId: 'u', tenantId: T, role: 'viewer', siteIds: null };
const siteOne: Principal = { ...everyone, siteIds: [S1] };
const twoSites: Principal = { ...everyone, siteIds: [S1, S2] };

describe('planStream', () => {
  const n = names('ns1');
  const cases: {
    name: string;
    principal: Principal;
    query: Record<string, string>;
    subject: string;
    sites: string[] | null;
  }[] = [
    { name: 'whole tenant', principal: everyone, query: {}, subject: `ns1.evt.${T}.>`, sites: null },
    {
      name: 'one site asked',
      principal: everyone,
      query: { site: S1 },
      subject: `ns1.evt.${T}.${S1}.*.>`,
      sites: [S1],
    },
    {
      name: 'one kind asked',
      principal: everyone,
      query: { kind: 'alert' },
      subject: `ns1.evt.${T}.*.alert.>`,
      sites: null,
    },
    {
      name: 'site and kind',
      principal: everyone,
      query: { site: S2, kind: 'alert' },
      subject: `ns1.evt.${T}.${S2}.alert.>`,
      sites: [S2],
    },
    {
      name: 'restricted to one site',
      principal: siteOne,
      query: {},
      subject: `ns1.evt.${T}.${S1}.*.>`,
      sites: [S1],
    },
    {
      name: 'restricted to two sites',
      principal: twoSites,
      query: {},
      subject: `ns1.evt.${T}.>`,
      sites: [S1, S2],
    },
    {
      name: 'restricted, asks for an allowed and a foreign site',
      principal: siteOne,
      query: { site: `${S1},site-x` },
      subject: `ns1.evt.${T}.${S1}.*.>`,
      sites: [S1],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = planStream(c.principal, c.query, n);
      assert.equal(plan.subject, c.subject);
      assert.deepEqual(plan.filter.sites ? [...plan.filter.sites].sort() : null, c.sites);
      assert.equal(plan.filter.tenantId, T);
    });
  }

  test('a restricted principal asking only for a foreign site gets NOT_FOUND', () => {
    assert.throws(
      () => planStream(siteOne, { site: S2 }, n),
      (err: unknown) => err instanceof VigilError && err.code === 'NOT_FOUND',
    );
  });

  test('no namespace: plain subjects', () => {
    assert.equal(planStream(everyone, {}, names('')).subject, `evt.${T}.>`);
  });
});

describe('parseEventSubject', () => {
  const good: [string, string, ReturnType<typeof parseEventSubject>][] = [
    ['evt.t.s.alert.e1', '', { tenantId: 't', siteId: 's', kind: 'alert', id: 'e1' }],
    ['ns.evt.t.s.alert.e1', 'ns', { tenantId: 't', siteId: 's', kind: 'alert', id: 'e1' }],
  ];
  for (const [subject, ns, want] of good)
    test(`parses ${subject}`, () => assert.deepEqual(parseEventSubject(subject, ns), want));
  const bad: [string, string][] = [
    ['evt.t.s.alert', ''],
    ['tele.t.e.1', ''],
    ['other.evt.t.s.alert.e1', 'ns'],
    ['evt.t.s.alert.e1', 'ns'],
  ];
  for (const [subject, ns] of bad)
    test(`rejects ${subject} (ns '${ns}')`, () => assert.equal(parseEventSubject(subject, ns), null));
});

describe('eventMatches', () => {
  const base: StreamFilter = { tenantId: T, sites: null, kinds: null, equipment: null, camera: null };
  const subject = { tenantId: T, siteId: S1, kind: 'alert', id: 'eq-1' };
  const event = { type: 'alert.opened', data: { equipmentId: 'eq-1' } };
  const cases: {
    name: string;
    filter: Partial<StreamFilter>;
    subject?: Partial<typeof subject>;
    event?: unknown;
    want: boolean;
  }[] = [
    { name: 'no filter passes', filter: {}, want: true },
    { name: 'another tenant never passes', filter: {}, subject: { tenantId: 'other' }, want: false },
    { name: 'site in set', filter: { sites: new Set([S1]) }, want: true },
    { name: 'site not in set', filter: { sites: new Set([S2]) }, want: false },
    { name: 'empty site set passes nothing', filter: { sites: new Set() }, want: false },
    { name: 'kind in set', filter: { kinds: new Set(['alert', 'occupancy']) }, want: true },
    { name: 'kind not in set', filter: { kinds: new Set(['occupancy']) }, want: false },
    { name: 'equipment by subject id', filter: { equipment: 'eq-1' }, event: {}, want: true },
    {
      name: 'equipment by data.equipmentId',
      filter: { equipment: 'eq-1' },
      subject: { id: 'alert-9' },
      want: true,
    },
    { name: 'equipment mismatch', filter: { equipment: 'eq-2' }, want: false },
    { name: 'camera mismatch', filter: { camera: 'cam-1' }, want: false },
    {
      name: 'camera by data.cameraId',
      filter: { camera: 'cam-1' },
      subject: { kind: 'occupancy', id: 'x' },
      event: { data: { cameraId: 'cam-1' } },
      want: true,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(
        eventMatches({ ...base, ...c.filter }, { ...subject, ...c.subject }, c.event ?? event),
        c.want,
      );
    });
  }
});

describe('formatEvent', () => {
  test('id, event and one-line data', () => {
    const frame = formatEvent(42, 'alert.opened', {
      type: 'alert.opened',
      data: { message: 'line1\nline2' },
    });
    assert.equal(
      frame,
      'id: 42\nevent: alert.opened\ndata: {"type":"alert.opened","data":{"message":"line1\\nline2"}}\n\n',
    );
  });
  test('a hostile event type cannot inject SSE fields', () => {
    const frame = formatEvent(1, 'x\ndata: injected', {});
    assert.equal(frame, 'id: 1\nevent: message\ndata: {}\n\n');
  });
});

describe('resumeAfter', () => {
  test('header wins over query', () => assert.equal(resumeAfter('7', '3'), 7));
  test('query when no header', () => assert.equal(resumeAfter(undefined, '3'), 3));
  test('nothing: live only', () => assert.equal(resumeAfter(undefined, undefined), 0));
  test('garbage is a validation error', () => {
    assert.throws(
      () => resumeAfter('abc', undefined),
      (err: unknown) => err instanceof VigilError && err.code === 'VALIDATION_FAILED',
    );
  });
});
