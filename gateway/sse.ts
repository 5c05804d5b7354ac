import { VigilError } from '../schemas/mod.ts';
import type { Names } from '../streams/mod.ts';
import type { Principal } from './identity/mod.ts';

/** What a client asked to see, already narrowed to what it may see. */
export interface StreamFilter {
  tenantId: string;
  /** null = every site (of the tenant); otherwise the only sites whose events pass. */
  sites: ReadonlySet<string> | null;
  kinds: ReadonlySet<string> | null;
  equipment: string | null;
  camera: string | null;
}

export interface StreamPlan {
  /** The one JetStream filter subject (NATS 2.9 has no multi-filter consumers). */
  subject: string;
  filter: StreamFilter;
}

export interface StreamRequest {
  kind?: string | undefined;
  site?: string | undefined;
  equipment?: string | undefined;
  camera?: string | undefined;
}

const list = (v: string | undefined): string[] | null => (v ? [...new Set(v.split(','))] : null);

/**
 * Work out the consumer's filter subject and the in-process filter. The subject is narrowed
 * when a single site or kind is wanted, so the server does the filtering; anything it cannot
 * express in one subject (several sites, equipment, camera) is checked per event.
 * Asking for a site outside the caller's restriction answers NOT_FOUND, like any invisible object.
 */
export function planStream(principal: Principal, query: StreamRequest, names: Names): StreamPlan {
  const asked = list(query.site);
  let sites: string[] | null = asked;
  if (principal.siteIds) {
    const allowed = new Set(principal.siteIds);
    sites = asked ? asked.filter((s) => allowed.has(s)) : [...allowed];
    if (asked && sites.length === 0) throw new VigilError('NOT_FOUND', 'site not found');
  }
  const kinds = list(query.kind);
  const filter: StreamFilter = {
    tenantId: principal.tenantId,
    sites: sites ? new Set(sites) : null,
    kinds: kinds ? new Set(kinds) : null,
    equipment: query.equipment ?? null,
    camera: query.camera ?? null,
  };
  const site = sites?.length === 1 ? sites[0]! : null;
  const kind = kinds?.length === 1 ? kinds[0]! : null;
  const subject =
    site || kind
      ? names.events.subject(principal.tenantId, site ?? '*', kind ?? '*', '>')
      : names.events.tenant(principal.tenantId);
  return { subject, filter };
}

export interface EventSubject {
  tenantId: string;
  siteId: string;
  kind: string;
  id: string;
}

/** `[ns.]evt.<tenant>.<site>.<kind>.<id>` (or `live.` for notices); null when the shape is wrong. */
export function parseEventSubject(
  subject: string,
  ns: string,
  root: 'evt' | 'live' = 'evt',
): EventSubject | null {
  const parts = subject.split('.');
  if (ns && parts.shift() !== ns) return null;
  if (parts[0] !== root || parts.length < 5) return null;
  const [, tenantId, siteId, kind, ...rest] = parts;
  if (!tenantId || !siteId || !kind || rest.length === 0) return null;
  return { tenantId, siteId, kind, id: rest.join('.') };
}

function dataField(event: unknown, field: string): unknown {
  if (typeof event !== 'object' || event === null) return undefined;
  const data = (event as { data?: unknown }).data;
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[field] : undefined;
}

/** Whether one stored event passes the filter. The subject is authoritative for tenant and site. */
export function eventMatches(filter: StreamFilter, subject: EventSubject, event: unknown): boolean {
  if (subject.tenantId !== filter.tenantId) return false;
  if (filter.sites && !filter.sites.has(subject.siteId)) return false;
  if (filter.kinds && !filter.kinds.has(subject.kind)) return false;
  if (
    filter.equipment &&
    subject.id !== filter.equipment &&
    dataField(event, 'equipmentId') !== filter.equipment
  ) {
    return false;
  }
  if (filter.camera && subject.id !== filter.camera && dataField(event, 'cameraId') !== filter.camera)
    return false;
  return true;
}

const EVENT_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * One SSE frame. `data` is re-serialised JSON, so it is always one line; the event name is
 * checked so a hostile publisher cannot inject fields with a newline.
 */
export function formatEvent(seq: number, type: unknown, event: unknown): string {
  const name = typeof type === 'string' && EVENT_NAME.test(type) ? type : 'message';
  return `id: ${seq}\nevent: ${name}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * A live notice (not stored, so no `id`: EventSource keeps its Last-Event-ID, and a resume
 * replays stored events only).
 */
export function formatNotice(type: unknown, event: unknown): string {
  const name = typeof type === 'string' && EVENT_NAME.test(type) ? type : 'message';
  return `event: ${name}\ndata: ${JSON.stringify(event)}\n\n`;
}

export const HEARTBEAT_FRAME = ': hb\n\n';

export function retryFrame(ms: number): string {
  return `retry: ${ms}\n\n`;
}

/** The resume point: Last-Event-ID header wins over the query parameter. 0 = live only. */
export function resumeAfter(header: string | undefined, query: string | undefined): number {
  const raw = header ?? query;
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new VigilError('VALIDATION_FAILED', 'Last-Event-ID must be an event id');
  return n;
}
