import type { ClickHouseClient } from '@clickhouse/client';
import { chSql, VigilError, type ApiDoorEpisodes, type PoolClient } from '../../schemas/mod.ts';
import { doorEpisodes, labelEpisodes, localDay, presenceIntervals, type Interval } from '../analytics/mod.ts';
import { iso } from './context.ts';

/** Most door readings one request reads (a unit reporting every 10 s for 31 days is ~270k). */
export const MAX_DOOR_READINGS = 500_000;
/** People seen this long before the window still count as present at its start. */
const PRESENCE_LEAD_MS = 3_600_000;

export interface DoorUnit {
  id: string;
  site_id: string;
  watch_zone_id: string | null;
  timezone: string;
}

export async function doorUnit(c: PoolClient, id: string): Promise<DoorUnit> {
  const { rows } = await c.query<DoorUnit>(
    `SELECT e.id, e.site_id, e.watch_zone_id, s.timezone FROM equipment e JOIN sites s ON s.id = e.site_id
      WHERE e.id = $1`,
    [id],
  );
  if (!rows[0]) throw new VigilError('NOT_FOUND', 'equipment not found');
  return rows[0];
}

/** The unit's door readings in the window, oldest first (through the tenant-filtered view). */
export async function doorReadings(
  c: PoolClient,
  id: string,
  from: number,
  to: number,
): Promise<Array<{ ts: number; open: boolean }>> {
  const { rows } = await c.query<{ ts: Date; door: boolean }>(
    `SELECT ts, door FROM telemetry_v WHERE equipment_id = $1 AND ts >= $2 AND ts < $3 AND door IS NOT NULL
      ORDER BY ts LIMIT $4`,
    [id, new Date(from), new Date(to), MAX_DOOR_READINGS + 1],
  );
  if (rows.length > MAX_DOOR_READINGS)
    throw new VigilError(
      'VALIDATION_FAILED',
      `more than ${MAX_DOOR_READINGS} door readings: a shorter window`,
    );
  return rows.map((r) => ({ ts: r.ts.getTime(), open: r.door }));
}

/** When people were in one zone of the tenant's site, from its entries and exits in ClickHouse. */
export async function zonePresence(
  ch: ClickHouseClient,
  tenantId: string,
  siteId: string,
  zoneId: string,
  from: number,
  to: number,
): Promise<Interval[]> {
  const start = from - PRESENCE_LEAD_MS;
  const rs = await ch.query({
    query: chSql`SELECT kind, track_id, at_ms, dwell_s FROM people_events FINAL
      WHERE tenant_id = ${tenantId} AND site_id = ${siteId} AND zone_id = ${zoneId}
        AND kind IN ('zone_entry', 'zone_exit')
        AND at >= toDateTime(${Math.floor(start / 1000)}) AND at <= toDateTime(${Math.ceil(to / 1000)})
        AND at_ms >= ${start} AND at_ms < ${to}`,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{
    kind: string;
    track_id: string | null;
    at_ms: string;
    dwell_s: number | null;
  }>();
  return presenceIntervals(
    rows.map((r) => ({
      kind: r.kind,
      trackId: r.track_id === null ? null : Number(r.track_id),
      atMs: Number(r.at_ms),
      dwellS: r.dwell_s === null ? null : Number(r.dwell_s),
    })),
    to,
  );
}

/** Episodes of the window, labelled when the unit watches a zone, and their count per local day. */
export function episodesReport(
  unit: DoorUnit,
  from: number,
  to: number,
  readings: ReadonlyArray<{ ts: number; open: boolean }>,
  presence: readonly Interval[] | null,
): ApiDoorEpisodes {
  const episodes = doorEpisodes(readings);
  const labelled = presence ? labelEpisodes(episodes, presence) : null;
  const days = new Map<string, { episodes: number; attended: number; unattended: number }>();
  const items = episodes.map((e, i) => {
    const attended = labelled ? labelled[i]!.attended : null;
    const day = localDay(e.from, unit.timezone);
    const d = days.get(day) ?? { episodes: 0, attended: 0, unattended: 0 };
    d.episodes++;
    if (attended === true) d.attended++;
    if (attended === false) d.unattended++;
    days.set(day, d);
    return {
      openedAt: iso(new Date(e.from)),
      closedAt: iso(new Date(e.to)),
      stillOpen: e.open,
      seconds: (e.to - e.from) / 1000,
      attended,
    };
  });
  return {
    equipmentId: unit.id,
    watchZoneId: unit.watch_zone_id,
    from: iso(new Date(from)),
    to: iso(new Date(to)),
    episodes: items,
    days: [...days].map(([day, d]) => ({
      day,
      episodes: d.episodes,
      attended: labelled ? d.attended : null,
      unattended: labelled ? d.unattended : null,
    })),
  };
}
