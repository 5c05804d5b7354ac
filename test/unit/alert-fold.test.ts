import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { foldAlert, foldEventOf, handleEquipmentCommand, type UnitInfo } from '../../actors/mod.ts';
import type { AlertEvent } from '../../schemas/mod.ts';
import { alertEventsFor, runDecider, thresholdRule, TWO_ALERTS } from '../helpers/alert-scenarios.ts';

const unit: UnitInfo = {
  tenantId: '11111111-1111-4111-8111-111111111111',
  siteId: '22222222-2222-4222-8222-222222222222',
  equipmentId: '33333333-3333-4333-8333-333333333333',
  setpoint: null,
};
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

function byAlert(events: readonly AlertEvent[]): AlertEvent[][] {
  const m = new Map<string, AlertEvent[]>();
  for (const e of events) m.set(e.data.alertId, [...(m.get(e.data.alertId) ?? []), e]);
  return [...m.values()];
}

describe('foldAlert: an alert row from the set of its events', () => {
  test('every arrival order of an alert that escalates and resolves folds to the in-order row', () => {
    const events = alertEventsFor(unit, thresholdRule(unit), T0, TWO_ALERTS);
    const [first, second] = byAlert(events);
    assert.deepEqual(
      first!.map((e) => e.type),
      ['alert.opened', 'alert.updated', 'alert.resolved'],
    );
    assert.deepEqual(
      second!.map((e) => e.type),
      ['alert.opened', 'alert.resolved'],
    );
    for (const alert of [first!, second!]) {
      const inOrder = foldAlert(alert.map(foldEventOf));
      for (const p of permutations(alert)) assert.deepEqual(foldAlert(p.map(foldEventOf)), inOrder);
    }
    const row = foldAlert(first!.map(foldEventOf));
    assert.equal(row.severity, 'critical');
    assert.equal(row.threshold, 8, 'the breach threshold, not the clear one (4)');
    assert.equal(row.value, 3, 'the clearing reading');
    assert.equal(row.resolved?.at, T0 + 4 * 60_000);
    assert.match(row.message, /^recovered: temperature 3 <= 4$/);
  });

  test('a row first seen through its resolution never holds the clear threshold', () => {
    const [first] = byAlert(alertEventsFor(unit, thresholdRule(unit), T0, TWO_ALERTS));
    const resolved = first!.find((e) => e.type === 'alert.resolved')!;
    assert.equal(resolved.data.threshold, 4, 'the event itself names the clear threshold');
    assert.equal(foldAlert([foldEventOf(resolved)]).threshold, null, 'unknown until the opening arrives');
  });

  test('a latched alert: cleared, returned, cleared, released — any order gives the same row', () => {
    const rule = thresholdRule(unit, { latched: true });
    const { events, state } = runDecider(unit, rule, T0, [3, 9, 2, 9, 2]);
    assert.deepEqual(
      events.map((e) => e.type),
      ['alert.opened', 'alert.cleared', 'alert.updated', 'alert.cleared'],
    );
    // Released by an acknowledgement: a decision without a reading, stamped with server time
    // that may well be earlier than the device time of the readings.
    const alertId = events[0]!.data.alertId;
    const release = handleEquipmentCommand(
      state,
      { type: 'AcknowledgeAlert', data: { unit, ruleKey: 'high_temp', alertId } },
      T0 - 3_600_000,
    ).events.flatMap((e) => (e.type === 'alert.resolved' ? [e.data] : []));
    assert.equal(release.length, 1);
    const all = [...events, ...release];
    const inOrder = foldAlert(all.map(foldEventOf));
    assert.equal(inOrder.resolved?.at, T0 - 3_600_000);
    assert.equal(inOrder.clearedAt, T0 + 4 * 60_000);
    assert.equal(inOrder.threshold, 8);
    for (const p of permutations(all)) assert.deepEqual(foldAlert(p.map(foldEventOf)), inOrder);
  });

  test('the first resolution wins, as in order', () => {
    const [first] = byAlert(alertEventsFor(unit, thresholdRule(unit), T0, TWO_ALERTS));
    const resolved = first!.find((e) => e.type === 'alert.resolved')!;
    const later: AlertEvent = { ...resolved, id: `${resolved.id}-again`, ts: resolved.ts + 60_000 };
    const f = foldAlert([later, ...first!].map(foldEventOf));
    assert.equal(f.resolved?.at, resolved.ts);
    assert.equal(f.resolved?.eventId, resolved.id);
  });
});
