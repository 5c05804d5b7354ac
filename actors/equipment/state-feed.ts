import type { EquipmentStateEvent, Logger } from '../../schemas/mod.ts';
import type { EquipmentState, UnitInfo } from './equipment.types.ts';
import { viewState } from './equipment.view.ts';

/**
 * `equipment.state` events, coalesced per unit: the first change of a quiet unit goes out at
 * once; further changes within `intervalMs` are folded into one event with the latest state,
 * sent when the interval ends. A unit whose rule flaps with every reading therefore costs one
 * event per interval, not one per reading. A state event is a notice for dashboards, not a
 * record (alerts are): one that fails to publish is logged and superseded by the next.
 */
export class StateFeed {
  readonly #publish: (event: EquipmentStateEvent) => Promise<unknown>;
  readonly #intervalMs: number;
  readonly #log: Logger;
  /** Units that sent within the interval, with the change waiting for its end (if any). */
  readonly #recent = new Map<string, { timer: NodeJS.Timeout; next: EquipmentStateEvent | null }>();

  constructor(publish: (event: EquipmentStateEvent) => Promise<unknown>, intervalMs: number, log: Logger) {
    this.#publish = publish;
    this.#intervalMs = intervalMs;
    this.#log = log;
  }

  offer(unit: UnitInfo, state: EquipmentState, now: number): void {
    const event = stateEvent(unit, state, now);
    const recent = this.#recent.get(unit.equipmentId);
    if (recent) {
      recent.next = event;
      return;
    }
    this.#send(event);
    this.#hold(unit.equipmentId);
  }

  /** Drop what is waiting (the node is stopping; the next owner reports from its own changes). */
  stop(): void {
    for (const r of this.#recent.values()) clearTimeout(r.timer);
    this.#recent.clear();
  }

  #hold(equipmentId: string): void {
    const timer = setTimeout(() => {
      const r = this.#recent.get(equipmentId);
      this.#recent.delete(equipmentId);
      if (r?.next) {
        this.#send(r.next);
        this.#hold(equipmentId);
      }
    }, this.#intervalMs);
    timer.unref();
    this.#recent.set(equipmentId, { timer, next: null });
  }

  #send(event: EquipmentStateEvent): void {
    this.#publish(event).catch((err: unknown) =>
      this.#log.warn({ err, equipmentId: event.data.equipmentId }, 'equipment state event not published'),
    );
  }
}

export function stateEvent(unit: UnitInfo, state: EquipmentState, now: number): EquipmentStateEvent {
  const view = viewState(state);
  return {
    // Server time makes it unique: a state event reports, it is never replayed into anything.
    id: `${unit.equipmentId}.state.${now}`,
    type: 'equipment.state',
    tenantId: unit.tenantId,
    siteId: unit.siteId,
    ts: now,
    data: { equipmentId: unit.equipmentId, ...view },
  };
}
