import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  alertIdFor,
  backtest,
  decide,
  evolve,
  initialEquipmentState,
  isAlertEvent,
  isPublished,
  type DeciderRule,
  type EquipmentCommand,
  type EquipmentEvent,
  type EquipmentState,
  type UnitInfo,
} from '../../actors/mod.ts';
import {
  compile,
  AlertEvent,
  type AlertRuleOf,
  type Reading,
  type ThresholdParams,
} from '../../schemas/mod.ts';

import { E, RULE_ID, S, T, at, unit } from '../helpers/equipment-unit.ts';

/** High temperature: warning above 5, critical above 8, held 60 s; clears at or below 4 held 60 s. */
function rule(
  params: Partial<ThresholdParams> = {},
  extra: Partial<AlertRuleOf<'threshold'>> = {},
): DeciderRule {
  return {
    id: RULE_ID,
    tenantId: T,
    siteId: null,
    equipmentId: null,
    key: 'high_temp',
    name: 'High temperature',
    latched: false,
    enabled: true,
    kind: 'threshold',
    params: {
      metric: 'temperature',
      op: '>',
      levels: [
        { severity: 'critical', value: 8 },
        { severity: 'warning', value: 5 },
      ],
      for_s: 60,
      clear: { value: 4, for_s: 60 },
      ...params,
    },
    ...extra,
  };
}

function reading(s: number, fields: Partial<Reading> = {}): Reading {
  return { tenantId: T, equipmentId: E, ts: at(s), ...fields };
}

const record = (r: Reading, rules: DeciderRule[] = [rule()], u: UnitInfo = unit): EquipmentCommand => ({
  type: 'RecordReading',
  data: { reading: r, unit: u, rules },
});

/** Given: the state a sequence of commands leads to. */
function given(
  commands: EquipmentCommand[],
  state: EquipmentState = initialEquipmentState(),
): EquipmentState {
  return commands.reduce((s, c) => decide(s, c, 0).reduce(evolve, s), state);
}

/** When: the events one command causes. */
function when(state: EquipmentState, command: EquipmentCommand, now = 0): EquipmentEvent[] {
  return decide(state, command, now);
}

const types = (events: EquipmentEvent[]): string[] => events.map((e) => e.type);
const published = (events: EquipmentEvent[]) => events.filter(isAlertEvent).map((e) => e.data);
const checkEvent = compile(AlertEvent);

/** A unit whose high_temp alert opened (critical) at t=90. */
const firing = (): EquipmentState =>
  given([
    record(reading(0, { temperature: 3 })),
    record(reading(30, { temperature: 9 })),
    record(reading(90, { temperature: 9.5 })),
  ]);

describe('equipment decider: threshold rule', () => {
  test('a breach starts pending and publishes nothing', () => {
    const state = given([record(reading(0, { temperature: 3 }))]);
    const events = when(state, record(reading(30, { temperature: 6 })));
    assert.deepEqual(types(events), ['reading.recorded', 'condition.pending']);
    assert.deepEqual(events[1]!.data, { ruleKey: 'high_temp', since: at(30), severity: 'warning' });
    assert.deepEqual(published(events), []);
  });

  test('pending resets when the condition turns false', () => {
    const state = given([record(reading(0, { temperature: 6 }))]);
    const events = when(state, record(reading(30, { temperature: 3 })));
    assert.deepEqual(types(events), ['reading.recorded', 'condition.reset']);
    const after = events.reduce(evolve, state);
    assert.equal(after.rules['high_temp'], undefined);
    // The clock restarted: 60 s after the reset is not enough from the new breach.
    const again = given([record(reading(40, { temperature: 6 }))], after);
    assert.deepEqual(published(when(again, record(reading(90, { temperature: 6 })))), []);
  });

  test('a breach held for for_s opens an alert at the most severe level breached', () => {
    const state = given([record(reading(0, { temperature: 6 }))]);
    const events = when(state, record(reading(60, { temperature: 9 })));
    const [opened] = published(events);
    assert.ok(opened);
    const id = alertIdFor(E, 'high_temp', at(60));
    assert.equal(opened.type, 'alert.opened');
    assert.equal(opened.id, `${id}:alert.opened:${at(60)}`);
    assert.equal(opened.ts, at(60));
    assert.deepEqual(
      { ...opened.data },
      {
        alertId: id,
        equipmentId: E,
        ruleId: RULE_ID,
        ruleKey: 'high_temp',
        severity: 'critical',
        metric: 'temperature',
        value: 9,
        threshold: 8,
        openedAt: at(60),
        latched: false,
        suppressed: false,
        message: 'temperature 9 > 8 for 60s',
      },
    );
    assert.equal(opened.tenantId, T);
    assert.equal(opened.siteId, S);
    assert.ok(checkEvent(opened), 'matches the AlertEvent schema');
  });

  test('for_s 0 fires on the first breaching reading', () => {
    const events = when(
      initialEquipmentState(),
      record(reading(0, { temperature: 6 }), [rule({ for_s: 0 })]),
    );
    assert.deepEqual(types(events), ['reading.recorded', 'alert.opened']);
  });

  test('a severity change while firing updates the same alert', () => {
    const state = firing();
    const events = when(state, record(reading(120, { temperature: 6 })));
    const [updated] = published(events);
    assert.ok(updated);
    assert.equal(updated.type, 'alert.updated');
    assert.equal(updated.data.alertId, alertIdFor(E, 'high_temp', at(90)));
    assert.equal(updated.data.severity, 'warning');
    assert.equal(updated.data.previousSeverity, 'critical');
    assert.equal(updated.data.threshold, 5);
    assert.equal(updated.data.openedAt, at(90));
    // Same severity again: nothing to say.
    assert.deepEqual(
      published(when(events.reduce(evolve, state), record(reading(150, { temperature: 7 })))),
      [],
    );
  });

  test('hysteresis: between the clear threshold and the lowest level the alert stays firing', () => {
    const state = firing();
    const events = when(state, record(reading(120, { temperature: 4.5 })));
    assert.deepEqual(types(events), ['reading.recorded']);
    assert.equal(events.reduce(evolve, state).rules['high_temp']?.phase, 'firing');
  });

  test('recovering needs the clear threshold held for the clear delay, and aborts on relapse', () => {
    let state = firing();
    let events = when(state, record(reading(120, { temperature: 4 })));
    assert.deepEqual(types(events), ['reading.recorded', 'recovery.started']);
    state = events.reduce(evolve, state);
    events = when(state, record(reading(150, { temperature: 4.5 })));
    assert.deepEqual(types(events), ['reading.recorded', 'recovery.aborted']);
    state = given(
      [record(reading(160, { temperature: 3 })), record(reading(200, { temperature: 3 }))],
      events.reduce(evolve, state),
    );
    assert.equal(state.rules['high_temp']?.phase, 'recovering', '40 s of clear is not enough');
    events = when(state, record(reading(220, { temperature: 3 })));
    const [resolved] = published(events);
    assert.ok(resolved);
    assert.equal(resolved.type, 'alert.resolved');
    assert.equal(resolved.data.alertId, alertIdFor(E, 'high_temp', at(90)));
    assert.equal(resolved.data.threshold, 4);
    assert.equal(resolved.data.message, 'recovered: temperature 3 <= 4');
    assert.equal(events.reduce(evolve, state).rules['high_temp'], undefined);
  });

  test('a relapse during recovery at a new severity also updates the alert', () => {
    const state = given([record(reading(120, { temperature: 3 }))], firing());
    const events = when(state, record(reading(130, { temperature: 6 })));
    assert.deepEqual(types(events), ['reading.recorded', 'recovery.aborted', 'alert.updated']);
  });

  test('after resolution a new breach opens a new alert', () => {
    const resolved = given(
      [record(reading(120, { temperature: 3 })), record(reading(180, { temperature: 3 }))],
      firing(),
    );
    assert.equal(resolved.rules['high_temp'], undefined);
    const state = given([record(reading(200, { temperature: 9 }))], resolved);
    const [opened] = published(when(state, record(reading(260, { temperature: 9 }))));
    assert.ok(opened);
    assert.equal(opened.type, 'alert.opened');
    assert.equal(opened.data.alertId, alertIdFor(E, 'high_temp', at(260)));
    assert.notEqual(opened.data.alertId, alertIdFor(E, 'high_temp', at(90)));
  });

  test('a duplicate or late reading changes nothing', () => {
    const state = firing();
    assert.deepEqual(when(state, record(reading(90, { temperature: 1 }))), []);
    assert.deepEqual(when(state, record(reading(10, { temperature: 1 }))), []);
  });

  test('a reading without the metric leaves the rule alone', () => {
    const state = given([record(reading(0, { temperature: 6 }))]);
    const events = when(state, record(reading(120, { door: true })));
    assert.deepEqual(types(events), ['reading.recorded']);
  });

  test('relative to setpoint: levels are offsets from the reading or unit setpoint', () => {
    const relative = rule({
      relative_to_setpoint: true,
      for_s: 0,
      levels: [{ severity: 'warning', value: 3 }],
      clear: { value: 1, for_s: 0 },
    });
    // Unit setpoint -18: -14 is 4 above it.
    const opened = published(
      when(initialEquipmentState(), record(reading(0, { temperature: -14 }), [relative])),
    );
    assert.equal(opened[0]?.data.threshold, -15);
    // The reading's own setpoint wins over the unit's.
    assert.deepEqual(
      published(
        when(initialEquipmentState(), record(reading(0, { temperature: -14, setpoint: -12 }), [relative])),
      ),
      [],
    );
    // No setpoint anywhere: the rule cannot say anything, and says so (SPEC §5: never silently inert).
    const noSetpoint = { ...unit, setpoint: null };
    assert.deepEqual(
      types(when(initialEquipmentState(), record(reading(0, { temperature: 50 }), [relative], noSetpoint))),
      ['reading.recorded', 'rule.unevaluable'],
    );
  });

  test('a custom metric and a low-side rule with a delta clear', () => {
    const low = rule({
      metric: 'suction_pressure',
      op: '<',
      for_s: 0,
      levels: [
        { severity: 'critical', value: 1 },
        { severity: 'info', value: 2 },
      ],
      clear: { delta: 0.5, for_s: 0 },
    });
    let state = initialEquipmentState();
    let events = when(state, record(reading(0, { metrics: { suction_pressure: 1.5 } }), [low]));
    assert.equal(published(events)[0]?.data.severity, 'info');
    state = events.reduce(evolve, state);
    // 2.2 is above the level (2) but not above the clear threshold (2.5).
    events = when(state, record(reading(10, { metrics: { suction_pressure: 2.2 } }), [low]));
    assert.deepEqual(published(events), []);
    state = events.reduce(evolve, state);
    events = when(state, record(reading(20, { metrics: { suction_pressure: 2.6 } }), [low]));
    assert.equal(published(events)[0]?.type, 'alert.resolved');
    assert.equal(published(events)[0]?.data.threshold, 2.5);
  });
});

describe('equipment decider: defrost and door exclusions', () => {
  const defrostRule = rule({ exclude_defrost: { recovery_s: 600 } });

  test('a breach while the heater is on, and within the recovery window, is ignored', () => {
    const state = given([record(reading(0, { temperature: 3, heater: true }), [defrostRule])]);
    assert.deepEqual(types(when(state, record(reading(30, { temperature: 12 }), [defrostRule]))), [
      'reading.recorded',
    ]);
    const off = given([record(reading(60, { temperature: 12, heater: false }), [defrostRule])], state);
    assert.equal(off.heaterOffAt, at(60));
    assert.deepEqual(types(when(off, record(reading(600, { temperature: 12 }), [defrostRule]))), [
      'reading.recorded',
    ]);
    assert.deepEqual(types(when(off, record(reading(660, { temperature: 12 }), [defrostRule]))), [
      'reading.recorded',
      'condition.pending',
    ]);
  });

  test('defrost starting during pending resets it; an open alert waits', () => {
    const pending = given([record(reading(0, { temperature: 9 }), [defrostRule])]);
    assert.deepEqual(
      types(when(pending, record(reading(30, { temperature: 9, heater: true }), [defrostRule]))),
      ['reading.recorded', 'condition.reset'],
    );
    const open = given([record(reading(60, { temperature: 9 }), [defrostRule])], pending);
    assert.equal(open.rules['high_temp']?.phase, 'firing');
    const events = when(open, record(reading(90, { temperature: 2, heater: true }), [defrostRule]));
    assert.deepEqual(types(events), ['reading.recorded']);
  });

  test('the door grace window works the same way', () => {
    const doorRule = rule({ exclude_door: { grace_s: 120 } });
    const state = given([
      record(reading(0, { door: true, temperature: 9 }), [doorRule]),
      record(reading(30, { door: false, temperature: 9 }), [doorRule]),
    ]);
    assert.equal(state.doorClosedAt, at(30));
    assert.equal(state.rules['high_temp'], undefined);
    assert.deepEqual(types(when(state, record(reading(149, { temperature: 9 }), [doorRule]))), [
      'reading.recorded',
    ]);
    assert.deepEqual(types(when(state, record(reading(150, { temperature: 9 }), [doorRule]))), [
      'reading.recorded',
      'condition.pending',
    ]);
  });
});

describe('equipment decider: latched rules and rule changes', () => {
  const latched = rule({}, { latched: true });

  test('a latched alert clears instead of resolving, re-fires on a new breach, and reopens only after closing', () => {
    let state = given(
      [0, 30, 90].map((s, i) => record(reading(s, { temperature: [3, 9, 9][i] }), [latched])),
    );
    const alertId = alertIdFor(E, 'high_temp', at(90));
    state = given([record(reading(120, { temperature: 3 }), [latched])], state);
    let events = when(state, record(reading(180, { temperature: 3 }), [latched]));
    assert.deepEqual(types(events), ['reading.recorded', 'alert.cleared']);
    assert.equal(published(events)[0]?.data.alertId, alertId);
    state = events.reduce(evolve, state);
    assert.equal(state.rules['high_temp']?.phase, 'latched');

    // The breach returns and holds: the same alert fires again.
    state = given([record(reading(200, { temperature: 9 }), [latched])], state);
    events = when(state, record(reading(260, { temperature: 9 }), [latched]));
    const [refired] = published(events);
    assert.equal(refired?.type, 'alert.updated');
    assert.equal(refired?.data.alertId, alertId);
    assert.match(refired?.data.message ?? '', /^condition returned/);

    // Closed by an operator: the actor forgets it; the next breach is a new alert.
    state = events.reduce(evolve, state);
    events = when(state, { type: 'CloseAlert', data: { ruleKey: 'high_temp', alertId } });
    assert.deepEqual(types(events), ['closed.elsewhere']);
    state = events.reduce(evolve, state);
    assert.equal(state.rules['high_temp'], undefined);
    state = given([record(reading(300, { temperature: 9 }), [latched])], state);
    const [opened] = published(when(state, record(reading(360, { temperature: 9 }), [latched])));
    assert.equal(opened?.type, 'alert.opened');
    assert.notEqual(opened?.data.alertId, alertId);
  });

  test('CloseAlert for another alert id changes nothing', () => {
    assert.deepEqual(
      when(firing(), { type: 'CloseAlert', data: { ruleKey: 'high_temp', alertId: RULE_ID } }),
      [],
    );
  });

  test('a rule removed while its alert is open resolves it at the next reading', () => {
    const events = when(firing(), record(reading(120, { temperature: 9 }), []));
    assert.deepEqual(types(events), ['reading.recorded', 'alert.resolved']);
    assert.equal(published(events)[0]?.data.message, 'rule removed or disabled');
    assert.equal(published(events)[0]?.ts, at(120));
  });

  test('ReconcileRules resolves at once, stamped with server time', () => {
    const now = at(1000);
    const events = when(firing(), { type: 'ReconcileRules', data: { unit, rules: [] } }, now);
    assert.deepEqual(types(events), ['alert.resolved']);
    assert.equal(published(events)[0]?.ts, now);
    assert.deepEqual(when(firing(), { type: 'ReconcileRules', data: { unit, rules: [rule()] } }, now), []);
  });
});

describe('equipment decider: acknowledging latched alerts', () => {
  const latched = rule({}, { latched: true });
  const alertId = alertIdFor(E, 'high_temp', at(90));
  const ack = (id = alertId): EquipmentCommand => ({
    type: 'AcknowledgeAlert',
    data: { unit, ruleKey: 'high_temp', alertId: id },
  });
  /** A latched high_temp alert opened (critical) at t=90, still in breach. */
  const latchedFiring = (): EquipmentState =>
    given([0, 30, 90].map((s, i) => record(reading(s, { temperature: [3, 9, 9][i] }), [latched])));

  test('acknowledged while in breach: recorded, and the alert resolves when the condition clears', () => {
    // Given a latched alert in breach
    let state = latchedFiring();
    // When someone acknowledges it
    let events = when(state, ack());
    // Then the acknowledgement is recorded and nothing is published yet
    assert.deepEqual(types(events), ['acknowledgement.recorded']);
    state = events.reduce(evolve, state);
    const rs = state.rules['high_temp'];
    assert.equal(rs?.phase === 'firing' && rs.alert.acknowledged, true);

    // When the condition clears and holds for the clear delay
    state = given([record(reading(120, { temperature: 3 }), [latched])], state);
    events = when(state, record(reading(180, { temperature: 3 }), [latched]));
    // Then the alert resolves instead of latching
    assert.deepEqual(types(events), ['reading.recorded', 'alert.resolved']);
    const [resolved] = published(events);
    assert.equal(resolved?.data.alertId, alertId);
    assert.equal(resolved?.data.message, 'recovered: temperature 3 <= 4 (latched, acknowledged)');
    assert.ok(checkEvent(resolved), 'matches the AlertEvent schema');
    state = events.reduce(evolve, state);
    assert.equal(state.rules['high_temp'], undefined);

    // And a later breach opens a NEW alert
    state = given([record(reading(200, { temperature: 9 }), [latched])], state);
    const [opened] = published(when(state, record(reading(260, { temperature: 9 }), [latched])));
    assert.equal(opened?.type, 'alert.opened');
    assert.equal(opened?.data.alertId, alertIdFor(E, 'high_temp', at(260)));
  });

  test('acknowledged after it cleared: resolved at once, stamped with server time', () => {
    // Given a latched alert whose condition cleared (latched, waiting)
    const state = given(
      [120, 180].map((s) => record(reading(s, { temperature: 3 }), [latched])),
      latchedFiring(),
    );
    assert.equal(state.rules['high_temp']?.phase, 'latched');
    // When it is acknowledged
    const now = at(500);
    const events = when(state, ack(), now);
    // Then it resolves now
    assert.deepEqual(types(events), ['alert.resolved']);
    const [resolved] = published(events);
    assert.equal(resolved?.ts, now);
    assert.equal(resolved?.id, `${alertId}:alert.resolved:${now}`);
    assert.equal(resolved?.data.message, 'latched alert released by acknowledgement');
    assert.equal(events.reduce(evolve, state).rules['high_temp'], undefined);
  });

  test('the acknowledgement survives a severity change while in breach', () => {
    let state = given([ack()], latchedFiring());
    const events = when(state, record(reading(100, { temperature: 6 }), [latched]));
    assert.deepEqual(types(events), ['reading.recorded', 'alert.updated']);
    state = events.reduce(evolve, state);
    state = given([record(reading(120, { temperature: 3 }), [latched])], state);
    assert.deepEqual(types(when(state, record(reading(180, { temperature: 3 }), [latched]))), [
      'reading.recorded',
      'alert.resolved',
    ]);
  });

  test('an acknowledgement of another alert, or a second one, changes nothing', () => {
    assert.deepEqual(when(latchedFiring(), ack(RULE_ID)), []);
    assert.deepEqual(when(given([ack()], latchedFiring()), ack()), []);
    assert.deepEqual(when(given([record(reading(0, { temperature: 9 }), [latched])]), ack()), []);
  });

  test('an unacknowledged latched alert still latches on clear (unchanged)', () => {
    const state = given([record(reading(120, { temperature: 3 }), [latched])], latchedFiring());
    assert.deepEqual(types(when(state, record(reading(180, { temperature: 3 }), [latched]))), [
      'reading.recorded',
      'alert.cleared',
    ]);
  });
});

describe('equipment decider: maintenance windows', () => {
  const windows = [{ start: at(50), end: at(100) }];
  const recordIn = (s: number, temperature: number): EquipmentCommand => ({
    type: 'RecordReading',
    data: { reading: reading(s, { temperature }), unit, rules: [rule()], maintenance: windows },
  });

  test('an alert opened inside a window is suppressed, and stays so for its whole life', () => {
    // Given a breach pending since t=0
    const state = given([recordIn(0, 9)]);
    // When it fires at t=60, inside the window
    let events = when(state, recordIn(60, 9));
    // Then the alert is published and suppressed
    const [opened] = published(events);
    assert.equal(opened?.type, 'alert.opened');
    assert.equal(opened?.data.suppressed, true);
    assert.ok(checkEvent(opened));
    // And its later events, after the window, say so too
    let s = events.reduce(evolve, state);
    events = when(s, recordIn(150, 6));
    assert.equal(published(events)[0]?.type, 'alert.updated');
    assert.equal(published(events)[0]?.data.suppressed, true);
    s = given([recordIn(160, 3)], events.reduce(evolve, s));
    events = when(s, recordIn(220, 3));
    assert.equal(published(events)[0]?.type, 'alert.resolved');
    assert.equal(published(events)[0]?.data.suppressed, true);
  });

  test('the window is [start, end): an alert opening at its end is not suppressed', () => {
    const state = given([recordIn(40, 9)]);
    const [opened] = published(when(state, recordIn(100, 9)));
    assert.equal(opened?.type, 'alert.opened');
    assert.equal(opened?.data.suppressed, false);
    const [atStart] = published(when(given([recordIn(-10, 9)]), recordIn(50, 9)));
    assert.equal(atStart?.data.suppressed, true);
  });

  test('a backtest applies the same windows', () => {
    const readings = [0, 60].map((s) => reading(s, { temperature: 9 }));
    const { events } = backtest({ unit, rules: [rule()], readings, maintenance: windows });
    assert.deepEqual(
      events.map((e) => [e.type, e.data.suppressed]),
      [['alert.opened', true]],
    );
  });
});

describe('equipment decider: purity', () => {
  const script = [0, 30, 60, 90, 120, 150, 180, 210, 240].map((s, i) =>
    record(reading(s, { temperature: [3, 9, 9, 9, 6, 3, 3, 3, 3][i]!, heater: i === 4 })),
  );

  test('replaying the same commands yields the same events', () => {
    const run = (): EquipmentEvent[] => {
      let s = initialEquipmentState();
      const out: EquipmentEvent[] = [];
      for (const c of script) {
        const events = decide(s, c, 0);
        out.push(...events);
        s = events.reduce(evolve, s);
      }
      return out;
    };
    assert.deepEqual(run(), run());
    assert.deepEqual(
      run()
        .filter(isPublished)
        .map((e) => e.type),
      ['alert.opened', 'alert.updated', 'alert.resolved'],
    );
  });

  test('a snapshot (JSON round trip) continues exactly like the live state', () => {
    const live = given(script.slice(0, 5));
    const restored = JSON.parse(JSON.stringify(live)) as EquipmentState;
    for (const c of script.slice(5)) {
      assert.deepEqual(decide(restored, c, 0), decide(live, c, 0));
    }
  });
});

describe('backtest', () => {
  test('history through the live decider yields the alerts it would have raised', () => {
    const readings = [0, 30, 90, 120, 180].map((s, i) => reading(s, { temperature: [3, 9, 9, 3, 3][i]! }));
    const { events, state } = backtest({ unit, rules: [rule()], readings });
    assert.deepEqual(
      events.map((e) => [e.type, e.ts]),
      [
        ['alert.opened', at(90)],
        ['alert.resolved', at(180)],
      ],
    );
    assert.equal(state.rules['high_temp'], undefined);
  });
});
