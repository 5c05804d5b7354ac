/**
 * A person's action on an alert as an event: what the gateway publishes (`alertActionEvent`),
 * the subject it goes to, how the alert sink and the notifier read it back.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { actionNotice } from '../../actors/notify/notify.routing.ts';
import { decodeAlertEvent, isAlertAction } from '../../actors/sinks/alerts.sink.ts';
import { alertActionEvent } from '../../gateway/admin/alert-actions.ts';
import type { AlertRow, TimelineEntry } from '../../gateway/admin/alerts.repo.ts';
import { assertValid, AlertActionEvent } from '../../schemas/mod.ts';
import { names, type JsMsg } from '../../streams/mod.ts';
import { eventSubject } from '../../streams/publish.ts';

const TENANT = randomUUID();
const SITE = randomUUID();
const UNIT = randomUUID();
const CAMERA = randomUUID();
const ZONE = randomUUID();
const USER = randomUUID();
const OPENED = new Date('2026-03-01T10:00:00Z');
const AT = new Date('2026-03-01T10:05:00Z');

function row(over: Partial<AlertRow> = {}): AlertRow {
  return {
    id: randomUUID(),
    site_id: SITE,
    equipment_id: UNIT,
    camera_id: null,
    zone_id: null,
    rule_id: null,
    rule_key: 'high_temp',
    severity: 'critical',
    status: 'resolved',
    message: 'too warm',
    value: 9,
    threshold: 8,
    latched: false,
    suppressed: false,
    opened_at: OPENED,
    updated_at: AT,
    cleared_at: null,
    acknowledged_at: null,
    acknowledged_by: null,
    resolved_at: AT,
    resolved_by: USER,
    snoozed_until: null,
    note: 'seal replaced',
    _k: '',
    ...over,
  };
}

const entry = (action: string, note: string | null = null): TimelineEntry => ({
  id: 42,
  eventId: `api:${randomUUID()}`,
  at: AT,
  action,
  by: USER,
  note,
});

const msgOf = (value: unknown): JsMsg => ({ data: Buffer.from(JSON.stringify(value)) }) as unknown as JsMsg;

describe('alertActionEvent', () => {
  test("a unit's alert resolved by hand: alert.closed on the unit's subject, the entry's id and instant", () => {
    const r = row();
    const e = entry('resolved', 'seal replaced');
    const event = alertActionEvent(TENANT, r, e);
    assertValid(AlertActionEvent, event);
    assert.deepEqual(
      [event.id, event.type, event.tenantId, event.siteId, event.ts],
      [e.eventId, 'alert.closed', TENANT, SITE, AT.getTime()],
    );
    assert.deepEqual(event.data, {
      alertId: r.id,
      equipmentId: UNIT,
      ruleKey: 'high_temp',
      severity: 'critical',
      message: 'too warm',
      openedAt: OPENED.getTime(),
      suppressed: false,
      status: 'resolved',
      by: USER,
      note: 'seal replaced',
      timelineId: 42,
    });
    assert.equal(eventSubject(names('ns'), event), `ns.evt.${TENANT}.${SITE}.alert.${UNIT}`);
  });

  test("a camera zone's alert acknowledged: alert.acknowledged on the camera's subject", () => {
    const r = row({ equipment_id: null, camera_id: CAMERA, zone_id: ZONE, status: 'acknowledged' });
    const event = alertActionEvent(TENANT, r, entry('acknowledged'));
    assertValid(AlertActionEvent, event);
    assert.equal(event.type, 'alert.acknowledged');
    assert.deepEqual(
      [event.data.equipmentId, event.data.cameraId, event.data.zoneId, event.data.status, event.data.note],
      [undefined, CAMERA, ZONE, 'acknowledged', null],
    );
    assert.equal(eventSubject(names(''), event), `evt.${TENANT}.${SITE}.alert.${CAMERA}`);
  });

  test('a snooze: alert.snoozed with the status it left and the time reminders resume', () => {
    const until = new Date('2026-03-01T11:05:00Z');
    const r = row({ status: 'acknowledged', resolved_at: null, resolved_by: null, snoozed_until: until });
    const event = alertActionEvent(TENANT, r, entry('snoozed', 'night shift'));
    assertValid(AlertActionEvent, event);
    assert.deepEqual(
      [event.type, event.data.status, event.data.snoozedUntil, event.data.note],
      ['alert.snoozed', 'acknowledged', until.getTime(), 'night shift'],
    );
    const d = decodeAlertEvent(msgOf(event));
    assert.ok(d.ok && isAlertAction(d.value), 'the alerts sink reads it as an action: nothing to write');
  });

  test('an acknowledgement that released a latched alert says the alert is resolved', () => {
    const event = alertActionEvent(TENANT, row({ latched: true }), entry('acknowledged'));
    assert.deepEqual([event.type, event.data.status], ['alert.acknowledged', 'resolved']);
  });
});

describe('reading it back', () => {
  const event = alertActionEvent(TENANT, row(), entry('resolved', 'seal replaced'));

  test('decoded as an action (the alerts sink skips it, the notifier sends it)', () => {
    const d = decodeAlertEvent(msgOf(event));
    assert.ok(d.ok);
    assert.ok(isAlertAction(d.value));
  });

  const bad: Array<[string, unknown]> = [
    ['no author', { ...event, data: { ...event.data, by: undefined } }],
    ['an unknown field', { ...event, data: { ...event.data, equipmentId: UNIT, extra: 1 } }],
    ['a status alerts do not have', { ...event, data: { ...event.data, status: 'cleared' } }],
  ];
  for (const [name, value] of bad) {
    test(`rejected: ${name}`, () => {
      const d = decodeAlertEvent(msgOf(value));
      assert.equal(d.ok ? 'ok' : d.code, 'VALIDATION_FAILED');
    });
  }

  test("the notification: the timeline sweep's cause, who acted and their note", () => {
    const n = actionNotice(event)!;
    assert.deepEqual(
      [n.cause, n.kind, n.alert.equipmentId, n.alert.cameraId, n.alert.zoneId, n.extra],
      ['timeline:42', 'resolved', UNIT, null, null, { by: USER, note: 'seal replaced' }],
    );
    const ack = actionNotice(
      alertActionEvent(TENANT, row({ status: 'acknowledged' }), entry('acknowledged')),
    );
    assert.equal(ack?.kind, 'acknowledged');
    const snooze = alertActionEvent(
      TENANT,
      row({ status: 'active', resolved_at: null, resolved_by: null, snoozed_until: AT }),
      entry('snoozed'),
    );
    assert.equal(actionNotice(snooze), null, 'a snooze pages nobody');
  });
});
