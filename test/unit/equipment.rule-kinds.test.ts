import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  alertIdFor,
  backtest,
  handleEquipmentCommand,
  initialEquipmentState,
  isAlertEvent,
  nextWakeAt,
  type DeciderRule,
  type EquipmentCommand,
  type EquipmentEvent,
  type EquipmentState,
  type Presence,
  type UnitInfo,
} from '../../actors/mod.ts';
import { compile, AlertEvent, RuleStatusEvent, type Reading, type RuleSchedule } from '../../schemas/mod.ts';

import { E, RULE_ID, T, T0, at, unit } from '../helpers/equipment-unit.ts';
const checkAlert = compile(AlertEvent);
const checkStatus = compile(RuleStatusEvent);

function rule<K extends DeciderRule['kind']>(
  kind: K,
  key: string,
  params: Extract<DeciderRule, { kind: K }>['params'],
  latched = false,
): DeciderRule {
  return {
    id: RULE_ID,
    tenantId: T,
    siteId: null,
    equipmentId: null,
    key,
    name: key,
    latched,
    enabled: true,
    kind,
    params,
  } as DeciderRule;
}

const reading = (s: number, fields: Partial<Reading> = {}): Reading => ({
  tenantId: T,
  equipmentId: E,
  ts: at(s),
  ...fields,
});

/** A unit's life: commands applied in order, each at its server time. */
class Unit {
  state: EquipmentState = initialEquipmentState();
  readonly log: EquipmentEvent[] = [];
  /** What the host knows of the unit's watched zone, sent with every reading and wake when set. */
  presence: Presence | undefined;

  constructor(
    readonly rules: DeciderRule[],
    readonly info: UnitInfo = unit,
  ) {}

  /** When: a command; then: the events it caused. */
  send(command: EquipmentCommand, now = 0): EquipmentEvent[] {
    const r = handleEquipmentCommand(this.state, command, now);
    this.state = r.state;
    this.log.push(...r.events);
    return r.events;
  }

  read(s: number, fields: Partial<Reading> = {}): EquipmentEvent[] {
    return this.send({
      type: 'RecordReading',
      data: {
        reading: reading(s, fields),
        unit: this.info,
        rules: this.rules,
        ...(this.presence ? { presence: this.presence } : {}),
      },
    });
  }

  /** The host's timer fired at server time `now`. */
  wake(now: number): EquipmentEvent[] {
    return this.send(
      {
        type: 'Wake',
        data: { unit: this.info, rules: this.rules, ...(this.presence ? { presence: this.presence } : {}) },
      },
      now,
    );
  }

  /** Wake at every timer up to `until`, as a host with exact timers would. */
  wakeUntil(until: number): void {
    for (let w = nextWakeAt(this.state); w !== null && w <= until; w = nextWakeAt(this.state)) this.wake(w);
  }

  alerts(): AlertEvent[] {
    return this.log.filter(isAlertEvent).map((e) => e.data);
  }
}

const summary = (events: AlertEvent[]) =>
  events.map((e) => [e.type, e.data.severity, e.ts - T0, e.data.openedAt - T0] as const);

describe('no_data rule', () => {
  const silence = rule('no_data', 'silent', {
    levels: [
      { severity: 'critical', after_s: 1800 },
      { severity: 'warning', after_s: 600 },
    ],
  });

  test('staged per unit: warning, then critical, on server time; data back resolves it', () => {
    const u = new Unit([silence]);
    u.read(0, { temperature: -18 });
    u.read(30, { temperature: -18 });
    // Given a silent unit, its timer is the warning's instant.
    assert.equal(nextWakeAt(u.state), at(630));
    assert.deepEqual(u.wake(at(629)).filter(isAlertEvent), [], 'not due yet');
    const [opened] = u.wake(at(630)).filter(isAlertEvent);
    assert.equal(opened?.data.type, 'alert.opened');
    assert.equal(opened?.data.data.severity, 'warning');
    assert.equal(opened?.data.data.metric, 'reading');
    assert.equal(opened?.data.data.alertId, alertIdFor(E, 'silent', at(630)));
    assert.equal(opened?.data.data.message, 'no reading for 600s');
    assert.ok(checkAlert(opened?.data));
    assert.equal(nextWakeAt(u.state), at(1830));
    u.wake(at(1830));
    assert.equal(u.state.rules['silent']?.phase, 'firing');
    assert.equal(nextWakeAt(u.state), null, 'nothing left to wait for but data');
    u.read(1900, { temperature: -17 });
    assert.deepEqual(summary(u.alerts()), [
      ['alert.opened', 'warning', 630_000, 630_000],
      ['alert.updated', 'critical', 1_830_000, 630_000],
      ['alert.resolved', 'critical', 1_900_000, 630_000],
    ]);
    assert.equal(u.alerts()[2]?.data.message, 'recovered: reading received after 1870s');
    assert.equal(nextWakeAt(u.state), at(2500));
  });

  test('a late wake (restart, takeover) publishes exactly what timely wakes did', () => {
    const timely = new Unit([silence]);
    const late = new Unit([silence]);
    for (const u of [timely, late]) u.read(30, { temperature: -18 });
    timely.wakeUntil(at(5000));
    // The node was down from t=100 to t=5000: one wake, long after both instants.
    late.wake(at(5000));
    assert.deepEqual(late.alerts(), timely.alerts());
    assert.equal(late.alerts().length, 2);
    // A second wake at the same time publishes nothing again.
    assert.deepEqual(late.wake(at(5000)).filter(isAlertEvent), []);
  });

  test('a replay of the readings alone (no wakes) publishes the same alerts as the live run', () => {
    const live = new Unit([silence]);
    live.read(30, { temperature: -18 });
    live.wakeUntil(at(2000));
    live.read(2000, { temperature: -18 });
    const replay = new Unit([silence]);
    replay.read(30, { temperature: -18 });
    replay.read(2000, { temperature: -18 });
    assert.deepEqual(replay.alerts(), live.alerts());
    assert.deepEqual(replay.state, live.state);
  });

  test('per metric: readings without it do not count, staged on the metric alone', () => {
    const u = new Unit([
      rule('no_data', 'no_pressure', {
        metric: 'pressure',
        levels: [
          { severity: 'critical', after_s: 1200 },
          { severity: 'warning', after_s: 300 },
        ],
      }),
    ]);
    u.read(0, { temperature: -18, pressure: 3 });
    for (let s = 60; s <= 1260; s += 60) u.read(s, { temperature: -18 });
    assert.deepEqual(summary(u.alerts()), [
      ['alert.opened', 'warning', 300_000, 300_000],
      ['alert.updated', 'critical', 1_200_000, 300_000],
    ]);
    assert.equal(u.alerts()[0]?.data.metric, 'pressure');
    u.read(1300, { pressure: 3.1 });
    assert.equal(u.alerts().at(-1)?.type, 'alert.resolved');
    assert.equal(nextWakeAt(u.state), at(1600));
  });

  test('a metric never reported counts from when the rule first watched it', () => {
    const u = new Unit([
      rule('no_data', 'no_pressure', { metric: 'pressure', levels: [{ severity: 'warning', after_s: 300 }] }),
    ]);
    u.read(0, { temperature: -18 });
    assert.equal(nextWakeAt(u.state), at(300));
  });

  test('snapshots carry the timer: a JSON round trip wakes at the same instant', () => {
    const u = new Unit([silence]);
    u.read(30, { temperature: -18 });
    const restored = JSON.parse(JSON.stringify(u.state)) as EquipmentState;
    assert.equal(nextWakeAt(restored), nextWakeAt(u.state));
  });

  test('a new rule on a silent unit starts its timer at once (ReconcileRules)', () => {
    const u = new Unit([]);
    u.read(30, { temperature: -18 });
    u.send({ type: 'ReconcileRules', data: { unit, rules: [silence] } }, at(40));
    assert.equal(nextWakeAt(u.state), at(630));
  });
});

describe('unattended_door rule (door open with nobody in the watched zone)', () => {
  const ZONE = '55555555-5555-4555-8555-555555555555';
  const watching: UnitInfo = { ...unit, watchZoneId: ZONE };
  const unattended = rule('unattended_door', 'unattended', {
    levels: [
      { severity: 'critical', after_s: 600 },
      { severity: 'warning', after_s: 120 },
    ],
  });
  /** Nobody seen since before the test; the host has read every people event. */
  const nobody = (): Presence => ({ lastSeenAt: at(-3600), complete: true });

  test('given nobody in the zone, when the door stays open 120 s, then a warning opens at open + 120 s', () => {
    const u = new Unit([unattended], watching);
    u.presence = nobody();
    u.read(0, { door: false });
    u.read(10, { door: true });
    assert.equal(nextWakeAt(u.state), at(130));
    u.wakeUntil(at(200));
    u.read(200, { door: false });
    assert.deepEqual(summary(u.alerts()), [
      ['alert.opened', 'warning', 130_000, 130_000],
      ['alert.resolved', 'warning', 200_000, 130_000],
    ]);
    assert.equal(u.alerts()[0]?.data.metric, 'door');
    assert.match(u.alerts()[0]!.data.message, /nobody at the unit/);
    for (const a of u.alerts()) assert.ok(checkAlert(a), JSON.stringify(a));
  });

  test('given someone in the zone while the door is open, then the episode is attended and nothing fires', () => {
    const u = new Unit([unattended], watching);
    u.presence = nobody();
    u.read(0, { door: false });
    u.read(10, { door: true });
    // A shopper walks up 40 s after the door opened and is gone by the next reading.
    u.presence = { lastSeenAt: at(50), complete: true };
    u.read(60, { door: true });
    u.wakeUntil(at(900));
    u.read(900, { door: false });
    assert.deepEqual(u.alerts(), []);
    assert.equal(nextWakeAt(u.state), null);
  });

  test('given it fired, when someone is seen at the unit, then it clears; the next unattended episode fires anew', () => {
    const u = new Unit([unattended], watching);
    u.presence = nobody();
    u.read(0, { door: true });
    u.wakeUntil(at(130));
    u.presence = { lastSeenAt: at(140), complete: true };
    u.read(145, { door: true });
    u.read(150, { door: false });
    u.presence = { lastSeenAt: at(140), complete: true };
    u.read(300, { door: true });
    u.wakeUntil(at(500));
    assert.deepEqual(summary(u.alerts()), [
      ['alert.opened', 'warning', 120_000, 120_000],
      ['alert.resolved', 'warning', 140_000, 120_000],
      ['alert.opened', 'warning', 420_000, 420_000],
    ]);
    assert.notEqual(u.alerts()[0]!.data.alertId, u.alerts()[2]!.data.alertId);
  });

  test('given the host has not read every people event yet, then it waits and fires only once it has', () => {
    const u = new Unit([unattended], watching);
    u.presence = { lastSeenAt: null, complete: false };
    u.read(0, { door: true });
    assert.deepEqual(u.wake(at(120)).filter(isAlertEvent), []);
    assert.equal(nextWakeAt(u.state), at(125), 'asks again after PRESENCE_WAIT_MS');
    u.presence = { lastSeenAt: null, complete: true };
    const [opened] = u.wake(at(125)).filter(isAlertEvent);
    // Stamped with the instant the condition reached 120 s, not when the host caught up.
    assert.deepEqual([opened?.data.type, opened?.data.data.openedAt], ['alert.opened', at(120)]);
  });

  test('given a unit that watches no zone, then the rule is reported unevaluable and never fires', () => {
    const u = new Unit([unattended], unit);
    u.presence = nobody();
    const first = u.read(0, { door: true });
    const status = first.find((e) => e.type === 'rule.unevaluable');
    assert.equal(status?.data.data.reason, 'no_watched_zone');
    assert.ok(checkStatus(status!.data), JSON.stringify(status));
    u.wakeUntil(at(900));
    u.read(900, { door: true });
    assert.deepEqual(u.alerts(), []);
    assert.equal(u.log.filter((e) => e.type === 'rule.unevaluable').length, 1, 'said once');
    // Linked to a zone: evaluable again; the door has stood open since 0 s, and each level is
    // stamped with its own instant, as every duration rule's is.
    const linked = new Unit([unattended], watching);
    linked.state = u.state;
    linked.presence = nobody();
    const again = linked.read(901, { door: true });
    assert.equal(again.find((e) => e.type === 'rule.evaluable')?.data.data.reason, 'no_watched_zone');
    assert.deepEqual(summary(linked.alerts()), [
      ['alert.opened', 'warning', 120_000, 120_000],
      ['alert.updated', 'critical', 600_000, 120_000],
    ]);
  });
});

describe('door_open rule', () => {
  const door = (clear_for_s?: number) =>
    rule('door_open', 'door', {
      levels: [
        { severity: 'critical', after_s: 900 },
        { severity: 'warning', after_s: 300 },
      ],
      ...(clear_for_s === undefined ? {} : { clear_for_s }),
    });

  test('open continuously: pending, then firing at open + after_s; closing resolves', () => {
    const u = new Unit([door()]);
    u.read(0, { door: false });
    const opening = u.read(10, { door: true });
    assert.deepEqual(
      opening.filter((e) => e.type === 'condition.pending').map((e) => e.data),
      [{ ruleKey: 'door', since: at(10), severity: 'warning' }],
    );
    assert.equal(nextWakeAt(u.state), at(310));
    u.wakeUntil(at(400));
    u.read(400, { door: false });
    assert.deepEqual(summary(u.alerts()), [
      ['alert.opened', 'warning', 310_000, 310_000],
      ['alert.resolved', 'warning', 400_000, 310_000],
    ]);
    assert.equal(u.alerts()[0]?.data.metric, 'door');
    assert.equal(nextWakeAt(u.state), null);
  });

  test('closed before after_s: reset, nothing published; reopened: a new episode and a new alert', () => {
    const u = new Unit([door()]);
    u.read(0, { door: true });
    u.read(200, { door: false });
    assert.equal(u.state.rules['door'], undefined);
    u.read(500, { door: true });
    u.wakeUntil(at(850));
    assert.deepEqual(summary(u.alerts()), [['alert.opened', 'warning', 800_000, 800_000]]);
  });

  test('a clear delay: reopening during it keeps the same alert; staying closed resolves at its end', () => {
    const u = new Unit([door(60)]);
    u.read(0, { door: true });
    u.read(350, { door: true });
    u.read(400, { door: false });
    assert.equal(u.state.rules['door']?.phase, 'recovering');
    assert.equal(nextWakeAt(u.state), at(460));
    u.read(420, { door: true });
    assert.equal(u.state.rules['door']?.phase, 'firing');
    u.read(500, { door: false });
    u.wakeUntil(at(600));
    assert.deepEqual(summary(u.alerts()), [
      ['alert.opened', 'warning', 300_000, 300_000],
      ['alert.resolved', 'warning', 560_000, 300_000],
    ]);
  });

  test('door state carries between readings that omit it', () => {
    const u = new Unit([door()]);
    u.read(0, { door: true });
    for (let s = 60; s <= 960; s += 60) u.read(s, { temperature: -10 });
    assert.deepEqual(summary(u.alerts()), [
      ['alert.opened', 'warning', 300_000, 300_000],
      ['alert.updated', 'critical', 900_000, 300_000],
    ]);
  });
});

describe('defrost_overrun rule', () => {
  test('heater on longer than after_s fires; heater off clears it', () => {
    const u = new Unit([
      rule('defrost_overrun', 'long_defrost', { levels: [{ severity: 'warning', after_s: 2700 }] }),
    ]);
    u.read(0, { heater: false });
    u.read(100, { heater: true });
    u.wakeUntil(at(3000));
    u.read(3000, { heater: false });
    assert.deepEqual(summary(u.alerts()), [
      ['alert.opened', 'warning', 2_800_000, 2_800_000],
      ['alert.resolved', 'warning', 3_000_000, 2_800_000],
    ]);
    assert.equal(u.alerts()[0]?.data.message, 'heater on (defrost) for 2700s');
    assert.equal(u.alerts()[0]?.data.metric, 'heater');
  });

  test('a normal defrost raises nothing', () => {
    const u = new Unit([
      rule('defrost_overrun', 'long_defrost', { levels: [{ severity: 'warning', after_s: 2700 }] }),
    ]);
    u.read(0, { heater: true });
    u.read(1800, { heater: false });
    u.wakeUntil(at(9000));
    assert.deepEqual(u.alerts(), []);
  });
});

describe('rate rule', () => {
  const warming = rule('rate', 'warming', {
    metric: 'temperature',
    direction: 'rising',
    window_s: 600,
    levels: [
      { severity: 'critical', per_min: 1 },
      { severity: 'warning', per_min: 0.5 },
    ],
    for_s: 0,
  });

  test('a single noisy spike in a flat series does not fire', () => {
    const u = new Unit([warming]);
    for (let s = 0; s <= 1200; s += 60)
      u.read(s, { temperature: s === 600 ? -5 : -18 + (s % 120 ? 0.1 : 0) });
    assert.deepEqual(u.alerts(), []);
  });

  test('a real warm-up fires at the rate reached, and clears when it flattens', () => {
    const u = new Unit([warming]);
    for (let s = 0; s <= 300; s += 60) u.read(s, { temperature: -18 });
    // +0.7 °C per minute from t=300.
    for (let s = 360; s <= 900; s += 60) u.read(s, { temperature: -18 + ((s - 300) / 60) * 0.7 });
    const opened = u.alerts()[0];
    assert.equal(opened?.type, 'alert.opened');
    assert.equal(opened?.data.severity, 'warning');
    assert.equal(opened?.data.metric, 'temperature');
    assert.match(opened?.data.message ?? '', /^temperature rising [\d.]+\/min >= 0\.5\/min over 600s$/);
    // Flat again: once most pairs in the window are flat, the rate drops below 0.5/min.
    for (let s = 960; s <= 1800; s += 60) u.read(s, { temperature: -11 });
    assert.equal(u.alerts().at(-1)?.type, 'alert.resolved');
    assert.ok(u.alerts().every((e) => checkAlert(e)));
  });

  test('falling direction and an excluded defrost restart the window', () => {
    const falling = rule('rate', 'dropping', {
      metric: 'temperature',
      direction: 'falling',
      window_s: 300,
      levels: [{ severity: 'warning', per_min: 1 }],
      for_s: 0,
      exclude_defrost: { recovery_s: 0 },
    });
    const u = new Unit([falling]);
    for (let s = 0; s <= 300; s += 30) u.read(s, { temperature: 5 - s / 15 });
    assert.equal(u.alerts()[0]?.type, 'alert.opened');
    assert.equal(u.alerts()[0]?.data.threshold, -1);
    u.read(330, { heater: true, temperature: -18 });
    assert.equal(u.state.series?.['dropping'], undefined, 'window dropped during defrost');
  });
});

describe('active schedules in the site time zone', () => {
  const hours: RuleSchedule = {
    windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '08:00', to: '20:00' }],
  };
  const berlin: UnitInfo = { ...unit, timeZone: 'Europe/Berlin' };
  const hot = rule('threshold', 'hot', {
    metric: 'temperature',
    op: '>',
    levels: [{ severity: 'warning', value: 5 }],
    for_s: 0,
    clear: { for_s: 0 },
    schedule: hours,
  });
  const send = (ts: number, rules: DeciderRule[], info = berlin) =>
    handleEquipmentCommand(
      initialEquipmentState(),
      {
        type: 'RecordReading',
        data: { reading: { tenantId: T, equipmentId: E, ts, temperature: 9 }, unit: info, rules },
      },
      0,
    ).events.filter(isAlertEvent);

  test('06:30 UTC is outside (07:30 CET) before the DST change and inside (08:30 CEST) after it', () => {
    assert.deepEqual(send(Date.UTC(2025, 2, 29, 6, 30), [hot]), [], 'Saturday 07:30 CET');
    assert.equal(send(Date.UTC(2025, 2, 31, 6, 30), [hot])[0]?.type, 'alert.opened', 'Monday 08:30 CEST');
    // The same instants in UTC: both outside (06:30).
    assert.deepEqual(send(Date.UTC(2025, 2, 31, 6, 30), [hot], unit), []);
  });

  test('one rule over sites in two zones answers each in its own, interleaved reading by reading', () => {
    const newYork: UnitInfo = { ...unit, timeZone: 'America/New_York' };
    // Wednesday 15 January 2025, 07:30 UTC: 08:30 in Berlin (inside), 02:30 in New York (outside);
    // 13:30 UTC: 14:30 and 08:30 (both inside); 20:30 UTC: 21:30 and 15:30.
    for (const [h, inBerlin, inNewYork] of [
      [7, true, false],
      [13, true, true],
      [20, false, true],
      [7, true, false],
    ] as const) {
      const ts = Date.UTC(2025, 0, 15, h, 30);
      assert.equal(send(ts, [hot]).length === 1, inBerlin, `Berlin at ${h}:30 UTC`);
      assert.equal(send(ts, [hot], newYork).length === 1, inNewYork, `New York at ${h}:30 UTC`);
    }
  });

  test('leaving the active window resolves an open alert', () => {
    let state = initialEquipmentState();
    for (const [h, m] of [
      [18, 0],
      [19, 30],
    ] as const) {
      state = handleEquipmentCommand(
        state,
        {
          type: 'RecordReading',
          data: {
            reading: { tenantId: T, equipmentId: E, ts: Date.UTC(2025, 9, 25, h, m), temperature: 9 },
            unit: berlin,
            rules: [hot],
          },
        },
        0,
      ).state;
    }
    // 18:00 UTC is 20:00 CEST: outside. (Sat 25 Oct 2025, a day before summer time ends.)
    assert.equal(state.rules['hot'], undefined);
  });

  test('a no_data timer outside the window waits for the next start, in local time across the change', () => {
    const u = new Unit(
      [rule('no_data', 'silent', { levels: [{ severity: 'warning', after_s: 600 }], schedule: hours })],
      berlin,
    );
    // Saturday 29 March 2025, 19:00 UTC = 20:00 CET: just closed. DST starts Sunday 02:00.
    const r = handleEquipmentCommand(
      u.state,
      {
        type: 'RecordReading',
        data: {
          reading: { tenantId: T, equipmentId: E, ts: Date.UTC(2025, 2, 29, 19, 0) },
          unit: berlin,
          rules: u.rules,
        },
      },
      0,
    );
    u.state = r.state;
    // Sunday 08:00 CEST = 06:00 UTC (it would be 07:00 UTC under CET).
    assert.equal(nextWakeAt(u.state), Date.UTC(2025, 2, 30, 6, 0));
    u.wake(Date.UTC(2025, 2, 30, 6, 0));
    // Silence is counted from the window's start: the alert opens at 08:10 local.
    assert.equal(nextWakeAt(u.state), Date.UTC(2025, 2, 30, 6, 10));
    u.wake(Date.UTC(2025, 2, 30, 6, 10));
    assert.deepEqual(
      u.alerts().map((e) => [e.type, e.ts]),
      [['alert.opened', Date.UTC(2025, 2, 30, 6, 10)]],
    );
  });
});

describe('setpoint carry-over and unevaluable relative rules', () => {
  const relative = rule('threshold', 'off_setpoint', {
    metric: 'temperature',
    op: '>',
    relative_to_setpoint: true,
    levels: [{ severity: 'warning', value: 3 }],
    for_s: 0,
    clear: { for_s: 0 },
  });

  test('a setpoint reported once stays the unit setpoint until another is reported', () => {
    const u = new Unit([relative]);
    u.read(0, { temperature: -20, setpoint: -22 });
    // -18.5 is 3.5 above the reported -22, but not above the configured -18.
    u.read(60, { temperature: -18.5 });
    assert.equal(u.alerts()[0]?.type, 'alert.opened');
    assert.equal(u.alerts()[0]?.data.threshold, -19);
    u.read(120, { temperature: -18.5, setpoint: -20 });
    assert.equal(u.alerts().at(-1)?.type, 'alert.resolved');
    assert.equal(u.state.setpoint, -20);
  });

  test('no setpoint at all: one rule.unevaluable event, then rule.evaluable when one appears', () => {
    const u = new Unit([relative], { ...unit, setpoint: null });
    const first = u.read(0, { temperature: 50 });
    const warned = first.filter((e) => e.type === 'rule.unevaluable');
    assert.equal(warned.length, 1);
    assert.ok(checkStatus(warned[0]!.data));
    assert.equal(warned[0]!.data.data.ruleKey, 'off_setpoint');
    assert.deepEqual(u.state.unevaluable, ['off_setpoint']);
    assert.deepEqual(
      u.read(60, { temperature: 50 }).map((e) => e.type),
      ['reading.recorded'],
      'said once, not per reading',
    );
    const back = u.read(120, { temperature: 50, setpoint: -18 });
    assert.deepEqual(
      back.map((e) => e.type),
      ['reading.recorded', 'rule.evaluable', 'alert.opened'],
    );
    assert.equal(u.state.unevaluable, undefined);
  });
});

describe('backtest of time-driven rules', () => {
  test('equals the live run with exact wakes', () => {
    const rules = [
      rule('no_data', 'silent', { levels: [{ severity: 'warning', after_s: 600 }] }),
      rule('door_open', 'door', { levels: [{ severity: 'warning', after_s: 300 }] }),
    ];
    const readings = [
      reading(0, { door: false, temperature: -18 }),
      reading(60, { door: true }),
      reading(1000, { door: false }),
      reading(1060, { temperature: -18 }),
    ];
    const live = new Unit(rules);
    for (const r of readings) {
      live.wakeUntil(r.ts);
      live.send({ type: 'RecordReading', data: { reading: r, unit, rules } });
    }
    const bt = backtest({ unit, rules, readings });
    assert.deepEqual(bt.events, live.alerts());
    assert.deepEqual(
      bt.events.map((e) => [e.type, e.data.ruleKey, e.ts - T0]),
      [
        ['alert.opened', 'door', 360_000],
        ['alert.opened', 'silent', 660_000],
        ['alert.resolved', 'silent', 1_000_000],
        ['alert.resolved', 'door', 1_000_000],
      ],
    );
  });
});
