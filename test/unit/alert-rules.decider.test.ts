import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applicableRows, rulesForUnit, type UnitInfo } from '../../actors/mod.ts';
import {
  assertRuleParams,
  isVigilError,
  parseAlertRule,
  type AlertRuleRow,
  type ErrorCode,
} from '../../schemas/mod.ts';
import { checkRuleParams } from '../../schemas/rules.ts';

const threshold = {
  metric: 'temperature',
  op: '>',
  levels: [
    { severity: 'critical', value: -10 },
    { severity: 'warning', value: -15 },
  ],
  for_s: 300,
  clear: { value: -16, for_s: 120 },
};

describe('alert rule params: good', () => {
  const good: Array<{ name: string; kind: string; params: unknown }> = [
    { name: 'threshold with two levels and an absolute clear', kind: 'threshold', params: threshold },
    {
      name: 'threshold, low side, relative to setpoint, delta clear, defrost and door exclusions',
      kind: 'threshold',
      params: {
        metric: 'temperature',
        op: '<=',
        relative_to_setpoint: true,
        levels: [
          { severity: 'critical', value: -6 },
          { severity: 'info', value: -4 },
        ],
        for_s: 0,
        clear: { delta: 1, for_s: 0 },
        exclude_defrost: { recovery_s: 900 },
        exclude_door: { grace_s: 60 },
      },
    },
    {
      name: 'threshold on a custom metric, clear at the level itself',
      kind: 'threshold',
      params: {
        metric: 'suction_bar',
        op: '>=',
        levels: [{ severity: 'warning', value: 12 }],
        for_s: 60,
        clear: { for_s: 30 },
      },
    },
    {
      name: 'no_data of any reading',
      kind: 'no_data',
      params: { levels: [{ severity: 'critical', after_s: 900 }] },
    },
    {
      name: 'no_data of one metric, two levels',
      kind: 'no_data',
      params: {
        metric: 'temperature',
        levels: [
          { severity: 'critical', after_s: 3600 },
          { severity: 'warning', after_s: 600 },
        ],
      },
    },
    { name: 'door_open', kind: 'door_open', params: { levels: [{ severity: 'warning', after_s: 180 }] } },
    {
      name: 'defrost_overrun',
      kind: 'defrost_overrun',
      params: { levels: [{ severity: 'warning', after_s: 2700 }] },
    },
    {
      name: 'rate',
      kind: 'rate',
      params: {
        metric: 'temperature',
        direction: 'rising',
        window_s: 600,
        for_s: 120,
        levels: [
          { severity: 'critical', per_min: 1 },
          { severity: 'warning', per_min: 0.3 },
        ],
      },
    },
  ];
  for (const c of good) {
    test(c.name, () => {
      const r = checkRuleParams(c.kind, c.params);
      assert.equal(r.ok, true, r.ok ? '' : r.reason);
    });
  }
});

describe('alert rule params: bad', () => {
  const bad: Array<{ name: string; kind: string; params: unknown; code: ErrorCode; reason: RegExp }> = [
    {
      name: 'unknown kind',
      kind: 'vibes',
      params: {},
      code: 'VALIDATION_FAILED',
      reason: /unknown rule kind/,
    },
    {
      name: 'missing clear',
      kind: 'threshold',
      params: { ...threshold, clear: undefined },
      code: 'VALIDATION_FAILED',
      reason: /clear/,
    },
    {
      name: 'unknown field',
      kind: 'threshold',
      params: { ...threshold, color: 'red' },
      code: 'UNKNOWN_FIELD',
      reason: /color/,
    },
    {
      name: 'bad operator',
      kind: 'threshold',
      params: { ...threshold, op: '==' },
      code: 'VALIDATION_FAILED',
      reason: /\/params\/op/,
    },
    {
      name: 'no levels',
      kind: 'threshold',
      params: { ...threshold, levels: [] },
      code: 'VALIDATION_FAILED',
      reason: /levels/,
    },
    {
      name: 'severity not one of info/warning/critical',
      kind: 'threshold',
      params: { ...threshold, levels: [{ severity: 'fatal', value: 1 }] },
      code: 'VALIDATION_FAILED',
      reason: /levels/,
    },
    {
      name: 'levels not highest severity first',
      kind: 'threshold',
      params: {
        ...threshold,
        levels: [
          { severity: 'warning', value: -15 },
          { severity: 'critical', value: -10 },
        ],
      },
      code: 'VALIDATION_FAILED',
      reason: /highest first/,
    },
    {
      name: 'critical threshold below warning on a > rule',
      kind: 'threshold',
      params: {
        ...threshold,
        levels: [
          { severity: 'critical', value: -20 },
          { severity: 'warning', value: -15 },
        ],
      },
      code: 'VALIDATION_FAILED',
      reason: /lower as severity drops/,
    },
    {
      name: 'clear threshold on the wrong side (no hysteresis, re-fires at once)',
      kind: 'threshold',
      params: { ...threshold, clear: { value: -12, for_s: 0 } },
      code: 'VALIDATION_FAILED',
      reason: /safe side/,
    },
    {
      name: 'clear with both value and delta',
      kind: 'threshold',
      params: { ...threshold, clear: { value: -16, delta: 1, for_s: 0 } },
      code: 'VALIDATION_FAILED',
      reason: /not both/,
    },
    {
      name: 'negative delta',
      kind: 'threshold',
      params: { ...threshold, clear: { delta: -1, for_s: 0 } },
      code: 'VALIDATION_FAILED',
      reason: /delta/,
    },
    {
      name: 'negative for_s',
      kind: 'threshold',
      params: { ...threshold, for_s: -1 },
      code: 'VALIDATION_FAILED',
      reason: /for_s/,
    },
    {
      name: 'fractional for_s',
      kind: 'threshold',
      params: { ...threshold, for_s: 1.5 },
      code: 'VALIDATION_FAILED',
      reason: /for_s/,
    },
    {
      name: 'metric name with a dot',
      kind: 'threshold',
      params: { ...threshold, metric: 'a.b' },
      code: 'VALIDATION_FAILED',
      reason: /metric/,
    },
    {
      name: 'setpoint relative to itself',
      kind: 'threshold',
      params: { ...threshold, metric: 'setpoint', relative_to_setpoint: true },
      code: 'VALIDATION_FAILED',
      reason: /relative to itself/,
    },
    {
      name: 'no_data durations not decreasing',
      kind: 'no_data',
      params: {
        levels: [
          { severity: 'critical', after_s: 60 },
          { severity: 'warning', after_s: 600 },
        ],
      },
      code: 'VALIDATION_FAILED',
      reason: /shorter/,
    },
    {
      name: 'door_open of zero seconds',
      kind: 'door_open',
      params: { levels: [{ severity: 'info', after_s: 0 }] },
      code: 'VALIDATION_FAILED',
      reason: /after_s/,
    },
    {
      name: 'rate with a short window',
      kind: 'rate',
      params: {
        metric: 'temperature',
        direction: 'rising',
        window_s: 5,
        for_s: 0,
        levels: [{ severity: 'info', per_min: 1 }],
      },
      code: 'VALIDATION_FAILED',
      reason: /window_s/,
    },
    {
      name: 'params not an object',
      kind: 'door_open',
      params: 'x',
      code: 'VALIDATION_FAILED',
      reason: /params/,
    },
  ];
  for (const c of bad) {
    test(c.name, () => {
      const r = checkRuleParams(c.kind, c.params);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.code, c.code, r.reason);
      assert.match(r.reason, c.reason);
    });
  }

  test('assertRuleParams throws the coded VigilError', () => {
    assert.throws(
      () => assertRuleParams('threshold', { ...threshold, op: '!' }),
      (err: unknown) => isVigilError(err) && err.code === 'VALIDATION_FAILED' && err.status === 400,
    );
  });
});

const TENANT = '11111111-1111-4111-8111-111111111111';
const OTHER = '99999999-9999-4999-8999-999999999999';
const SITE = '22222222-2222-4222-8222-222222222222';
const EQ = '33333333-3333-4333-8333-333333333333';
const unit: UnitInfo = { tenantId: TENANT, siteId: SITE, equipmentId: EQ, setpoint: -18 };

let seq = 0;
function row(scope: Partial<AlertRuleRow>, over: Partial<AlertRuleRow> = {}): AlertRuleRow {
  seq++;
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    tenant_id: null,
    site_id: null,
    equipment_id: null,
    key: 'high_temp',
    kind: 'threshold',
    name: '',
    params: threshold,
    latched: false,
    enabled: true,
    ...scope,
    ...over,
  };
}

describe('rule scope resolution', () => {
  const global = row({});
  const tenant = row({ tenant_id: TENANT });
  const site = row({ tenant_id: TENANT, site_id: SITE });
  const equipment = row({ tenant_id: TENANT, equipment_id: EQ });
  const otherSite = row({ tenant_id: TENANT, site_id: OTHER });
  const otherUnit = row({ tenant_id: TENANT, equipment_id: OTHER });
  const otherTenant = row({ tenant_id: OTHER });

  const cases: Array<{ name: string; rows: AlertRuleRow[]; want: string[] }> = [
    { name: 'global only', rows: [global], want: [global.id] },
    { name: 'tenant beats global', rows: [global, tenant], want: [tenant.id] },
    { name: 'site beats tenant', rows: [tenant, site, global], want: [site.id] },
    { name: 'equipment beats site', rows: [site, equipment, tenant], want: [equipment.id] },
    {
      name: 'another site, unit or tenant never applies',
      rows: [otherSite, otherUnit, otherTenant, global],
      want: [global.id],
    },
    {
      name: 'a disabled specific rule switches the key off',
      rows: [global, row({ tenant_id: TENANT, equipment_id: EQ }, { enabled: false })],
      want: [],
    },
    {
      name: 'keys resolve independently',
      rows: [global, row({ tenant_id: TENANT }, { key: 'low_temp' })],
      want: [global.id, `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(
        applicableRows(c.rows, unit)
          .map((r) => r.id)
          .sort(),
        [...c.want].sort(),
      );
    });
  }

  test('every kind is evaluated; invalid params are skipped with a reason, never silently', () => {
    const door = row(
      { tenant_id: TENANT },
      { key: 'door', kind: 'door_open', params: { levels: [{ severity: 'warning', after_s: 60 }] } },
    );
    const broken = row({ tenant_id: TENANT }, { key: 'broken', params: { metric: 'temperature' } });
    const { rules, skipped } = rulesForUnit([global, door, broken], unit);
    assert.deepEqual(rules.map((r) => r.id).sort(), [door.id, global.id].sort());
    assert.deepEqual(
      skipped.map((s) => [s.key, s.code]),
      [['broken', 'VALIDATION_FAILED']],
    );
  });

  test('parseAlertRule maps a row to a typed rule', () => {
    const r = parseAlertRule(site);
    assert.ok(r.ok);
    assert.equal(r.rule.kind, 'threshold');
    assert.equal(r.rule.siteId, SITE);
    assert.equal(r.rule.tenantId, TENANT);
  });
});
