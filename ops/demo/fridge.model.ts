/**
 * A refrigeration unit, simulated well enough that its telemetry looks like a real one's:
 * a thermostat cycling the compressor around the setpoint, scheduled defrosts (heater on,
 * compressor off, temperature climbing), customers opening the door, and optionally a fault
 * that erodes cooling capacity so the cabinet slowly warms. Pure: the caller owns time and
 * randomness, so the same seed gives the same fleet.
 */
export interface FridgeSpec {
  setpoint: number;
  /** Thermostat differential: compressor starts above setpoint + band, stops below setpoint - band. */
  band: number;
  ambient: number;
  /** °C per second the compressor removes at full capacity. */
  coolingRate: number;
  /** Heat leak coefficient per second towards ambient (door closed). */
  leak: number;
  defrostEveryS: number;
  defrostForS: number;
  /** Probability per second that a closed door opens. */
  doorOpenRate: number;
  doorOpenForS: [number, number];
  /** Seconds after start when a fault begins; capacity then decays to `faultFloor` over `faultRampS`. */
  faultAtS?: number;
  faultRampS?: number;
  faultFloor?: number;
  /** When the first defrost starts (default: somewhere in the first cycle, to stagger the fleet). */
  firstDefrostAtS?: number;
  /** Defrosts last this long instead of `defrostForS`: a failed defrost termination sensor. */
  stuckDefrostForS?: number;
  /** The door is left ajar for a while, again and again (a trolley against it). */
  doorAjar?: Recurring;
  /** The unit stops reporting for a while, again and again (its IoT gateway loses power). */
  silence?: Recurring;
}

/** A fault that recurs: on for `forS` seconds every `everyS`, first at `atS`. */
export interface Recurring {
  atS: number;
  forS: number;
  everyS: number;
}

/** Seconds left of the recurring fault's current episode at `t`, or 0 outside one. */
function episodeLeft(r: Recurring | undefined, t: number): number {
  if (!r || t < r.atS) return 0;
  const into = (t - r.atS) % r.everyS;
  return into < r.forS ? r.forS - into : 0;
}

/** Whether the unit sends nothing at `t` (its readings are lost, its physics go on). */
export function isSilent(spec: FridgeSpec, t: number): boolean {
  return episodeLeft(spec.silence, t) > 0;
}

export interface FridgeState {
  t: number;
  temperature: number;
  pressure: number;
  compressor: boolean;
  heater: boolean;
  door: boolean;
  doorCloseAt: number;
  nextDefrostAt: number;
  defrostEndAt: number;
}

export type Rng = () => number;

/** Mulberry32: tiny, fast and good enough for a simulator. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function initialState(spec: FridgeSpec, rng: Rng): FridgeState {
  return {
    t: 0,
    temperature: spec.setpoint + (rng() - 0.5) * spec.band,
    pressure: 2.5,
    compressor: rng() < 0.5,
    heater: false,
    door: false,
    doorCloseAt: 0,
    // Stagger defrosts so the fleet does not defrost in lockstep.
    nextDefrostAt: spec.firstDefrostAtS ?? Math.floor(rng() * spec.defrostEveryS),
    defrostEndAt: 0,
  };
}

export function capacity(spec: FridgeSpec, t: number): number {
  if (spec.faultAtS === undefined || t < spec.faultAtS) return 1;
  const ramp = spec.faultRampS ?? 60;
  const floor = spec.faultFloor ?? 0;
  return Math.max(floor, 1 - ((1 - floor) * (t - spec.faultAtS)) / ramp);
}

/** Advance the unit by `dt` seconds. */
export function step(spec: FridgeSpec, s: FridgeState, dt: number, rng: Rng): FridgeState {
  const t = s.t + dt;
  let { heater, door, doorCloseAt, nextDefrostAt, defrostEndAt, compressor } = s;

  if (!heater && t >= nextDefrostAt) {
    heater = true;
    defrostEndAt = t + (spec.stuckDefrostForS ?? spec.defrostForS);
    nextDefrostAt = t + spec.defrostEveryS;
  } else if (heater && t >= defrostEndAt) {
    heater = false;
  }

  const ajar = episodeLeft(spec.doorAjar, t);
  if (ajar > 0) {
    door = true;
    doorCloseAt = Math.max(doorCloseAt, t + ajar);
  } else if (door && t >= doorCloseAt) door = false;
  else if (!door && rng() < spec.doorOpenRate * dt) {
    door = true;
    const [lo, hi] = spec.doorOpenForS;
    doorCloseAt = t + lo + rng() * (hi - lo);
  }

  // Thermostat with hysteresis; the compressor never runs during a defrost.
  if (heater) compressor = false;
  else if (s.temperature > spec.setpoint + spec.band) compressor = true;
  else if (s.temperature < spec.setpoint - spec.band) compressor = false;

  const leak = spec.leak * (door ? 6 : 1) * (spec.ambient - s.temperature);
  const cooling = compressor ? spec.coolingRate * capacity(spec, t) : 0;
  const defrostHeat = heater ? 0.05 : 0;
  const noise = (rng() - 0.5) * 0.02;
  const temperature = s.temperature + (leak - cooling + defrostHeat + noise) * dt;
  const pressure = (compressor ? 8 + 0.05 * (spec.ambient - temperature) : 3) + (rng() - 0.5) * 0.2;

  return { t, temperature, pressure, compressor, heater, door, doorCloseAt, nextDefrostAt, defrostEndAt };
}

export interface DeviceReading {
  ts: number;
  temperature: number;
  pressure: number;
  door: boolean;
  heater: boolean;
  compressor: boolean;
  fan: boolean;
  setpoint: number;
}

export function reading(spec: FridgeSpec, s: FridgeState, ts: number): DeviceReading {
  return {
    ts,
    temperature: Math.round(s.temperature * 100) / 100,
    pressure: Math.round(s.pressure * 100) / 100,
    door: s.door,
    heater: s.heater,
    compressor: s.compressor,
    fan: !s.door,
    setpoint: spec.setpoint,
  };
}

/**
 * The demo fleet: freezers and chillers with varied habits, and four units that each show one
 * kind of trouble within minutes of the start, again and again (`DEMO_RULES` catch them):
 * 0 loses its refrigerant (a fast warm-up, then too warm), 1 goes silent, 2 has its door left
 * ajar, 3 has defrosts that do not end.
 */
export function demoFleet(count: number, seed = 7): FridgeSpec[] {
  const rng = seededRng(seed);
  return Array.from({ length: count }, (_, i) => {
    const freezer = i % 3 !== 2;
    const spec: FridgeSpec = {
      setpoint: freezer ? -18 : 3,
      band: freezer ? 1.5 : 1,
      ambient: 22,
      coolingRate: freezer ? 0.12 : 0.08,
      leak: 0.0018 + rng() * 0.0008,
      defrostEveryS: 600 + Math.floor(rng() * 300),
      defrostForS: 90,
      doorOpenRate: 0.004 + rng() * 0.01,
      doorOpenForS: [4, 25],
    };
    // Unit 0 loses its refrigerant charge: cooling fades over half a minute and a worn door
    // gasket leaks more heat, so it warms steadily until someone acts.
    if (i === 0) Object.assign(spec, { faultAtS: 0, faultRampS: 30, faultFloor: 0, leak: 0.003 });
    if (i === 1) spec.silence = { atS: 60, forS: 240, everyS: 900 };
    if (i === 2) spec.doorAjar = { atS: 90, forS: 200, everyS: 900 };
    if (i === 3) Object.assign(spec, { firstDefrostAtS: 30, defrostEveryS: 900, stuckDefrostForS: 360 });
    return spec;
  });
}
