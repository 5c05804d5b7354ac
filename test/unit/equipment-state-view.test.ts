import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import {
  handleEquipmentCommand,
  initialEquipmentState,
  phaseChanged,
  StateFeed,
  stateEvent,
  viewState,
  type DeciderRule,
  type EquipmentState,
} from '../../actors/mod.ts';
import { compile, EquipmentStateEvent, type EquipmentStateEvent as StateEvent } from '../../schemas/mod.ts';
import { E, RULE_ID, T, at, unit } from '../helpers/equipment-unit.ts';

const checkEvent = compile(EquipmentStateEvent);

const highTemp: DeciderRule = {
  id: RULE_ID,
  tenantId: T,
  siteId: null,
  equipmentId: null,
  key: 'high_temp',
  name: 'high_temp',
  latched: false,
  enabled: true,
  kind: 'threshold',
  params: {
    metric: 'temperature',
    op: '>',
    levels: [{ severity: 'critical', value: -5 }],
    for_s: 30,
    clear: { value: -12, for_s: 20 },
  },
};
const doorOpen: DeciderRule = {
  ...highTemp,
  key: 'door_left_open',
  name: 'door_left_open',
  kind: 'door_open',
  params: { levels: [{ severity: 'warning', after_s: 300 }] },
};

function read(state: EquipmentState, s: number, temperature: number, door = false) {
  return handleEquipmentCommand(
    state,
    {
      type: 'RecordReading',
      data: {
        reading: { tenantId: T, equipmentId: E, ts: at(s), temperature, door },
        unit,
        rules: [highTemp, doorOpen],
      },
    },
    at(s),
  );
}

describe('equipment state view', () => {
  test('given a blank unit, every asked-for rule is normal with no alert', () => {
    const view = viewState(initialEquipmentState(), ['high_temp', 'door_left_open']);
    assert.deepEqual(
      view.rules.map((r) => [r.ruleKey, r.phase, r.alertId, r.timerAt]),
      [
        ['door_left_open', 'normal', null, null],
        ['high_temp', 'normal', null, null],
      ],
    );
    assert.equal(view.lastReadingAt, null);
  });

  test('when a breach holds past for_s, the rule goes pending then firing with its alert id', () => {
    let s = read(initialEquipmentState(), 0, -2).state;
    let view = viewState(s);
    assert.deepEqual(
      view.rules.map((r) => [r.ruleKey, r.phase, r.severity, r.since]),
      [['high_temp', 'pending', 'critical', at(0)]],
    );
    s = read(s, 40, -2).state;
    view = viewState(s, ['door_left_open']);
    const fire = view.rules.find((r) => r.ruleKey === 'high_temp')!;
    assert.equal(fire.phase, 'firing');
    assert.match(fire.alertId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(fire.acknowledged, false);
    assert.equal(view.lastReadingAt, at(40));
  });

  test('an open door puts door_open in pending, its timer at the instant it would fire', () => {
    const s = read(initialEquipmentState(), 0, -18, true).state;
    const view = viewState(s);
    assert.equal(view.door, true);
    assert.deepEqual(
      view.rules.map((r) => [r.ruleKey, r.phase, r.timerAt]),
      [['door_left_open', 'pending', at(300)]],
    );
  });

  test('phaseChanged: a reading that moves no phase is no change; a phase move is', () => {
    const a = read(initialEquipmentState(), 0, -18).state;
    const b = read(a, 10, -17).state;
    assert.equal(phaseChanged(a, b), false, 'a plain reading');
    const c = read(b, 20, -2).state;
    assert.equal(phaseChanged(b, c), true, 'normal → pending');
    const d = read(c, 25, -1).state;
    assert.equal(phaseChanged(c, d), false, 'still pending at the same severity');
    const e = read(d, 60, -1).state;
    assert.equal(phaseChanged(d, e), true, 'pending → firing');
  });

  test('the state event is schema-valid and carries the phases', () => {
    const s = read(initialEquipmentState(), 0, -2).state;
    const event = stateEvent(unit, s, at(1));
    assert.ok(checkEvent(event));
    assert.equal(event.type, 'equipment.state');
    assert.equal(event.data.rules[0]?.phase, 'pending');
  });
});

describe('StateFeed coalescing', () => {
  test('a burst of changes sends the first at once and the latest once at the end of the interval', async () => {
    const sent: StateEvent[] = [];
    const feed = new StateFeed(
      async (e) => {
        sent.push(e);
      },
      30,
      pino({ level: 'silent' }),
    );
    let s = initialEquipmentState();
    for (let i = 0; i < 10; i++) {
      s = read(s, i * 10, i % 2 === 0 ? -2 : -18).state;
      feed.offer(unit, s, at(i * 10));
    }
    assert.equal(sent.length, 1, 'only the first of a burst goes out at once');
    for (let waited = 0; sent.length < 2 && waited < 100; waited++) await sleep(10);
    assert.equal(sent.length, 2);
    assert.equal(sent[1]!.ts, at(90), 'the folded event is the latest state');
    await sleep(100);
    assert.equal(sent.length, 2, 'nothing more without a new change');
    feed.stop();
  });
});
