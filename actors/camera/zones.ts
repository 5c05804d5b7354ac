import type { Severity } from '../../schemas/mod.ts';
import { anchor, crossingAt, pointInPolygon, side, type Box, type Point } from './geometry.ts';

/**
 * Zone logic, pure. Tracks are placed by where they stand (the bottom-centre of the box) and a
 * change of place counts only when it holds for `inertiaFrames` frames, so a box that jitters
 * across an edge does not flicker in and out; the change is then dated to its first frame, so
 * inertia costs no timing accuracy.
 *
 * - `area`: zone_entry / zone_exit (with dwell), occupancy, crowding (occupancy ≥ K for T s, an
 *   alert rule with the engine's lifecycle: see `crowdingStep`).
 * - `product`: as area, plus product_interaction once per visit when dwell reaches T seconds.
 * - `line`: two points A→B; crossing to the right-hand side of A→B (in image coordinates) is
 *   `entry`, back is `exit`; an entrance line's crossings are the site's footfall.
 */
export type ZoneKind = 'area' | 'line' | 'product';

export interface ZoneDef {
  id: string;
  kind: ZoneKind;
  /** Normalised image coordinates; a line has exactly two. */
  points: readonly Point[];
  inertiaFrames?: number;
  /** Product zones: dwell that makes an interaction. */
  dwellSeconds?: number;
  /** Area zones: raise crowding at this occupancy held for this long. */
  crowding?: CrowdingRule | null;
}

/**
 * Crowding as an alert rule on a zone: occupancy ≥ `occupancy` held `seconds` fires; it clears
 * once occupancy is at or below `clearOccupancy` (default one less: hysteresis) for
 * `clearSeconds` (default 0). Unset options are absent, so a zone stored before they existed
 * compares equal to itself.
 */
export interface CrowdingRule {
  occupancy: number;
  seconds: number;
  severity?: Severity;
  clearOccupancy?: number;
  clearSeconds?: number;
}

export const DEFAULT_CROWDING_SEVERITY: Severity = 'warning';

/** A zone as stored and served (API fields), as the zone code runs it: unset options take the defaults. */
export function zoneDefOf(z: {
  id: string;
  kind: ZoneKind;
  points: readonly Point[];
  inertiaFrames?: number | null;
  dwellSeconds?: number | null;
  crowding?: {
    occupancy: number;
    seconds: number;
    severity?: Severity | null;
    clearOccupancy?: number | null;
    clearSeconds?: number | null;
  } | null;
}): ZoneDef {
  const def: ZoneDef = { id: z.id, kind: z.kind, points: z.points };
  if (z.inertiaFrames != null) def.inertiaFrames = z.inertiaFrames;
  if (z.dwellSeconds != null) def.dwellSeconds = z.dwellSeconds;
  if (z.crowding) {
    // Zone definitions are compared as JSON (zonesCurrent, zones_set): one fixed key order, and
    // an option at its default is left out, so a default stored and a default implied are one.
    const { occupancy, seconds, severity, clearOccupancy, clearSeconds } = z.crowding;
    const c: CrowdingRule = { occupancy, seconds };
    if (severity != null && severity !== DEFAULT_CROWDING_SEVERITY) c.severity = severity;
    if (clearOccupancy != null && clearOccupancy !== occupancy - 1) c.clearOccupancy = clearOccupancy;
    if (clearSeconds) c.clearSeconds = clearSeconds;
    def.crowding = c;
  }
  return def;
}

export const DEFAULT_INERTIA = 2;
export const DEFAULT_PRODUCT_DWELL = 3;
/** Distance from a line (normalised, as a share of its length) inside which the side is undecided. */
const LINE_MARGIN = 0.01;

interface Pending<T> {
  value: T;
  count: number;
  since: number;
  at?: Point;
  before?: Point;
  beforeTs?: number;
}

export interface Membership {
  inside: boolean;
  since: number;
  interacted: boolean;
  pending: Pending<boolean> | null;
}

export interface LineSide {
  side: 1 | -1;
  at: Point;
  ts: number;
  pending: Pending<1 | -1> | null;
}

export interface ZonesState {
  members: Record<string, Record<string, Membership>>;
  lines: Record<string, Record<string, LineSide>>;
  occupancy: Record<string, number>;
  crowding: Record<string, CrowdingState>;
}

/**
 * One zone's crowding lifecycle: normal (`since` null) → pending (`since`: occupancy reached K
 * then) → firing (`active`, opened at `openedAt`) → recovering (`clearSince`: cleared then) →
 * normal. Snapshots from before the lifecycle had neither `openedAt` nor `clearSince`.
 */
export interface CrowdingState {
  since: number | null;
  active: boolean;
  openedAt?: number;
  clearSince?: number;
}

export type ZoneEvent =
  | { type: 'zone_entry'; zoneId: string; trackId: number; ts: number }
  | { type: 'zone_exit'; zoneId: string; trackId: number; ts: number; dwellSeconds: number }
  | { type: 'product_interaction'; zoneId: string; trackId: number; ts: number; dwellSeconds: number }
  | { type: 'entry' | 'exit'; zoneId: string; trackId: number; ts: number }
  | { type: 'occupancy'; zoneId: string; ts: number; count: number }
  | { type: 'crowding_started'; zoneId: string; ts: number; count: number; since: number }
  | { type: 'crowding_ended'; zoneId: string; ts: number; count: number; since: number };

export interface ZoneTrack {
  id: number;
  box: Box;
}

export function initialZones(): ZonesState {
  return { members: {}, lines: {}, occupancy: {}, crowding: {} };
}

const seconds = (ms: number): number => Math.round(ms) / 1000;

function areaStep(
  zone: ZoneDef,
  prior: Record<string, Membership>,
  ts: number,
  visible: readonly ZoneTrack[],
  ended: readonly { id: number; lastSeen: number }[],
  events: ZoneEvent[],
): Record<string, Membership> {
  const inertia = zone.inertiaFrames ?? DEFAULT_INERTIA;
  const dwell = (zone.dwellSeconds ?? DEFAULT_PRODUCT_DWELL) * 1000;
  const next: Record<string, Membership> = { ...prior };
  for (const t of visible) {
    const key = String(t.id);
    const inside = pointInPolygon(anchor(t.box), zone.points);
    let m = next[key] ?? { inside: false, since: ts, interacted: false, pending: null };
    if (inside === m.inside) m = { ...m, pending: null };
    else {
      const pending = m.pending
        ? { ...m.pending, count: m.pending.count + 1 }
        : { value: inside, count: 1, since: ts };
      if (pending.count >= inertia) {
        if (inside) events.push({ type: 'zone_entry', zoneId: zone.id, trackId: t.id, ts: pending.since });
        else
          events.push({
            type: 'zone_exit',
            zoneId: zone.id,
            trackId: t.id,
            ts: pending.since,
            dwellSeconds: seconds(pending.since - m.since),
          });
        m = { inside, since: pending.since, interacted: false, pending: null };
      } else m = { ...m, pending };
    }
    if (zone.kind === 'product' && m.inside && !m.interacted && ts - m.since >= dwell) {
      events.push({
        type: 'product_interaction',
        zoneId: zone.id,
        trackId: t.id,
        ts: m.since + dwell,
        dwellSeconds: seconds(dwell),
      });
      m = { ...m, interacted: true };
    }
    if (!m.inside && !m.pending) delete next[key];
    else next[key] = m;
  }
  for (const e of ended) {
    const key = String(e.id);
    const m = next[key];
    if (!m) continue;
    if (m.inside)
      events.push({
        type: 'zone_exit',
        zoneId: zone.id,
        trackId: e.id,
        ts: e.lastSeen,
        dwellSeconds: seconds(e.lastSeen - m.since),
      });
    delete next[key];
  }
  return next;
}

function lineStep(
  zone: ZoneDef,
  prior: Record<string, LineSide>,
  ts: number,
  visible: readonly ZoneTrack[],
  ended: readonly { id: number }[],
  events: ZoneEvent[],
): Record<string, LineSide> {
  const [a, b] = zone.points as [Point, Point];
  const length = Math.hypot(b[0] - a[0], b[1] - a[1]) || 1;
  const inertia = zone.inertiaFrames ?? DEFAULT_INERTIA;
  const next: Record<string, LineSide> = { ...prior };
  for (const t of visible) {
    const key = String(t.id);
    const at = anchor(t.box);
    const s = side(a, b, at) / length / length;
    if (Math.abs(s) < LINE_MARGIN) continue;
    const now: 1 | -1 = s > 0 ? 1 : -1;
    const cur = next[key];
    if (!cur) {
      next[key] = { side: now, at, ts, pending: null };
      continue;
    }
    if (now === cur.side) {
      next[key] = { side: now, at, ts, pending: null };
      continue;
    }
    const pending: Pending<1 | -1> = cur.pending
      ? { ...cur.pending, count: cur.pending.count + 1 }
      : { value: now, count: 1, since: ts, at, before: cur.at, beforeTs: cur.ts };
    if (pending.count < inertia) {
      next[key] = { ...cur, pending };
      continue;
    }
    const before = pending.before ?? cur.at;
    const beforeTs = pending.beforeTs ?? cur.ts;
    const u = crossingAt(before, pending.at ?? at, a, b);
    if (u !== null)
      events.push({
        type: now > 0 ? 'entry' : 'exit',
        zoneId: zone.id,
        trackId: t.id,
        ts: Math.round(beforeTs + u * (pending.since - beforeTs)),
      });
    next[key] = { side: now, at, ts, pending: null };
  }
  for (const e of ended) delete next[String(e.id)];
  return next;
}

/**
 * One frame through every zone: `visible` are the confirmed tracks seen in this frame (lost
 * tracks hold their place), `ended` the tracks that are gone for good.
 */
export function zonesStep(
  state: ZonesState,
  zones: readonly ZoneDef[],
  ts: number,
  visible: readonly ZoneTrack[],
  ended: readonly { id: number; lastSeen: number }[],
): { state: ZonesState; events: ZoneEvent[] } {
  const events: ZoneEvent[] = [];
  const out: ZonesState = { members: {}, lines: {}, occupancy: {}, crowding: {} };
  for (const zone of zones) {
    if (zone.kind === 'line') {
      out.lines[zone.id] = lineStep(zone, state.lines[zone.id] ?? {}, ts, visible, ended, events);
      continue;
    }
    const members = areaStep(zone, state.members[zone.id] ?? {}, ts, visible, ended, events);
    out.members[zone.id] = members;
    const count = Object.values(members).filter((m) => m.inside).length;
    out.occupancy[zone.id] = count;
    if (count !== (state.occupancy[zone.id] ?? 0))
      events.push({ type: 'occupancy', zoneId: zone.id, ts, count });
    const crowd = crowdingStep(zone, state.crowding[zone.id] ?? NOT_CROWDED, count, ts);
    out.crowding[zone.id] = crowd.state;
    if (crowd.event) events.push(crowd.event);
  }
  return { state: out, events };
}

const NOT_CROWDED: CrowdingState = { since: null, active: false };

/**
 * One frame of a zone's crowding rule, on frame time, as the alert engine's rules walk: pending
 * resets when occupancy drops below K before `seconds`; a firing rule recovers only at or below
 * the clear occupancy, held `clearSeconds`, and fires on (the same alert) if occupancy rises
 * past it meanwhile. A rule taken off a firing zone ends its crowding.
 */
export function crowdingStep(
  zone: ZoneDef,
  prior: CrowdingState,
  count: number,
  ts: number,
): { state: CrowdingState; event?: ZoneEvent } {
  const rule = zone.crowding;
  const since = prior.since ?? ts;
  const openedAt = prior.openedAt ?? since;
  const ended = (): { state: CrowdingState; event: ZoneEvent } => ({
    state: NOT_CROWDED,
    event: { type: 'crowding_ended', zoneId: zone.id, ts, count, since },
  });
  if (!prior.active) {
    if (!rule || count < rule.occupancy) return { state: NOT_CROWDED };
    if (ts - since < rule.seconds * 1000) return { state: { since, active: false } };
    return {
      state: { since, active: true, openedAt: ts },
      event: { type: 'crowding_started', zoneId: zone.id, ts, count, since },
    };
  }
  if (!rule) return ended();
  if (count > (rule.clearOccupancy ?? rule.occupancy - 1))
    return { state: { since, active: true, openedAt } };
  const clearSince = prior.clearSince ?? ts;
  if (ts - clearSince < (rule.clearSeconds ?? 0) * 1000)
    return { state: { since, active: true, openedAt, clearSince } };
  return ended();
}
