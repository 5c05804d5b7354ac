import type { Logger } from '../../schemas/mod.ts';
import { publishReading, type JetStreamClient, type Names } from '../../streams/mod.ts';
import { initialState, isSilent, reading, seededRng, step, type FridgeState } from './fridge.model.ts';
import type { DemoUnit } from './seed.ts';

export interface SimulatorOptions {
  log: Logger;
  js: JetStreamClient;
  names: Names;
  tenantId: string;
  units: DemoUnit[];
  /** Base URL of the gateway, for units that post over HTTP. */
  gatewayUrl: string;
  periodMs?: number;
}

export interface Simulator {
  stop(): Promise<void>;
  readonly sent: { nats: number; http: number; failed: number };
}

/**
 * Drives the demo fleet in real time: every period each unit advances its model and reports,
 * either to NATS (as an IoT gateway would) or over HTTP with its API key.
 */
export function startSimulator(opts: SimulatorOptions): Simulator {
  const period = opts.periodMs ?? 1000;
  const rng = seededRng(2026);
  const states = new Map<string, FridgeState>(opts.units.map((u) => [u.id, initialState(u.spec, rng)]));
  const sent = { nats: 0, http: 0, failed: 0 };
  let inFlight: Promise<unknown> = Promise.resolve();
  let warned = false;

  const report = async (unit: DemoUnit, body: ReturnType<typeof reading>): Promise<void> => {
    if (unit.apiKey) {
      const res = await fetch(`${opts.gatewayUrl}/v1/telemetry`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': unit.apiKey },
        body: JSON.stringify(body),
      });
      if (res.status !== 202) throw new Error(`gateway answered ${res.status}: ${await res.text()}`);
      sent.http++;
    } else {
      await publishReading(opts.js, opts.names, opts.tenantId, unit.id, { ...body });
      sent.nats++;
    }
  };

  const tick = (): void => {
    const now = Date.now();
    const work = opts.units.map(async (unit) => {
      const next = step(unit.spec, states.get(unit.id)!, period / 1000, rng);
      states.set(unit.id, next);
      if (isSilent(unit.spec, next.t)) return;
      try {
        await report(unit, reading(unit.spec, next, now));
      } catch (err) {
        sent.failed++;
        // One warning, not one per unit per second, while a dependency is down.
        if (!warned) opts.log.warn({ err, unit: unit.name }, 'simulated reading not delivered');
        warned = true;
      }
    });
    inFlight = Promise.all(work);
  };

  const timer = setInterval(tick, period);
  tick();
  return {
    sent,
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
