/**
 * The data docs/analyst-guide.md's examples are written against: the guide's example tenant,
 * unit and site, ten days of hourly readings, the unit's name, and an alert's timeline. Shared
 * by the guide's test (ClickHouse 18.16) and bench/clickhouse-current.ts (a current release).
 */
import { toClickHouseRow } from '../../actors/mod.ts';

export const GUIDE_TENANT = '6d1f3a52-0c1e-4b7a-9f0e-2b1c0d9e8a01';
export const GUIDE_UNIT = '9a4c7e10-5d2b-4c3a-8e1f-7b6a5c4d3e02';
export const GUIDE_SITE = '5e17a2b3-4c5d-4e6f-8a7b-9c0d1e2f3a04';
const ALERT = 'a1e27000-0000-4000-8000-000000000001';
const HOUR = 3_600_000;

/** Rows per ClickHouse table, as the sinks write them (JSONEachRow values). */
type GuideTable = 'telemetry' | 'equipment' | 'alert_log' | 'people_events' | 'track_summaries';

export function guideRows(now = Date.now()): Record<GuideTable, object[]> {
  // Hourly readings over ten days, the newest a minute ago; the door open one hour in four.
  const telemetry = Array.from({ length: 240 }, (_, i) => {
    const ts = now - 60_000 - i * HOUR;
    return toClickHouseRow({
      reading: {
        tenantId: GUIDE_TENANT,
        equipmentId: GUIDE_UNIT,
        ts,
        temperature: -18 + (i % 5),
        pressure: 2.1,
        door: i % 4 === 0,
        compressor: i % 3 !== 0,
        metrics: { humidity: 40 + (i % 7) },
      },
      receivedAt: ts + 50,
      partition: null,
    });
  });
  const equipment = [
    {
      tenant_id: GUIDE_TENANT,
      equipment_id: GUIDE_UNIT,
      site_id: GUIDE_SITE,
      site_name: 'North',
      name: 'Freezer 1',
      kind: 'freezer',
      synced_ms: now,
    },
  ];
  const entry = (seq: number, action: string, at: number) => ({
    tenant_id: GUIDE_TENANT,
    site_id: GUIDE_SITE,
    equipment_id: GUIDE_UNIT,
    alert_id: ALERT,
    event_id: `e${seq}`,
    seq,
    at: Math.floor(at / 1000),
    at_ms: at,
    action,
    rule_key: 'high_temp',
    severity: 'critical',
    value: -9.5,
    threshold: -10,
    note: action === 'acknowledged' ? 'door left ajar, closed' : '',
  });
  const alert_log = [entry(1, 'opened', now - 2 * HOUR), entry(2, 'acknowledged', now - HOUR)];
  // Today at a camera: three people come in through the entrance, two stand at a shelf zone,
  // and their visits end as tracks.
  const camera = 'c0a7e1a0-0000-4000-8000-0000000000c1';
  const person = (track: number, kind: string, at: number, extra: object = {}) => ({
    tenant_id: GUIDE_TENANT,
    site_id: GUIDE_SITE,
    camera_id: camera,
    event_id: `${kind}-${track}`,
    kind,
    zone_id: kind === 'entry' ? 'entrance' : 'shelf',
    entrance: kind === 'entry' ? 1 : 0,
    track_id: track,
    at: Math.floor(at / 1000),
    at_ms: at,
    dwell_s: null,
    occupancy: null,
    ...extra,
  });
  const people_events = [1, 2, 3].flatMap((t) => {
    const at = now - 600_000 + t * 60_000;
    return t === 3
      ? [person(t, 'entry', at)]
      : [
          person(t, 'entry', at),
          person(t, 'zone_entry', at + 5_000, { occupancy: t }),
          person(t, 'zone_exit', at + 5_000 + t * 12_000, { dwell_s: t * 12 }),
        ];
  });
  const track_summaries = [1, 2, 3].map((t) => {
    const first = now - 600_000 + t * 60_000;
    return {
      tenant_id: GUIDE_TENANT,
      site_id: GUIDE_SITE,
      camera_id: camera,
      track_id: t,
      first_seen: Math.floor(first / 1000),
      first_seen_ms: first,
      last_seen_ms: first + 40_000,
      duration_s: 40,
      frames: 400,
      reidentified: t === 2 ? 1 : 0,
    };
  });
  return { telemetry, equipment, alert_log, people_events, track_summaries };
}

/** The `sql` blocks of a markdown document, without their final semicolon. */
export function sqlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim().replace(/;$/, ''));
}
