import type { ClickHouseClient } from '@clickhouse/client';
import type { MaintenanceVerification, MaintenanceVerifyBody, PoolClient } from '../../schemas/mod.ts';
import { verifyMaintenance, type Interval } from '../analytics/mod.ts';
import { iso } from './context.ts';
import { zonePresence } from './door-episodes.repo.ts';
import { RECORDS } from './maintenance.repo.ts';

export const DEFAULT_RECOVERY_MINUTES = 30;
export const DEFAULT_BAND_C = 2;

/** What a check needs from PostgreSQL, read in the caller's transaction (RLS decides what exists). */
export interface VerifyInput {
  recordId: string;
  siteId: string;
  window: Interval | null;
  watchZoneId: string | null;
  setpoint: number | null;
  temperatures: Array<{ ts: number; value: number }>;
}

export async function verifyInput(c: PoolClient, id: string, recoveryMinutes: number): Promise<VerifyInput> {
  const record = await RECORDS.get(c, id, true);
  const window =
    record.window_start && record.window_end
      ? { from: record.window_start.getTime(), to: record.window_end.getTime() }
      : null;
  // The band is around the setpoint the controller last reported before the work ended, else
  // the unit's configured one.
  const { rows } = await c.query<{ watch_zone_id: string | null; setpoint: number | null }>(
    `SELECT e.watch_zone_id,
            COALESCE((SELECT t.setpoint FROM telemetry_v t
                       WHERE t.equipment_id = e.id AND t.setpoint IS NOT NULL AND t.ts <= $2
                       ORDER BY t.ts DESC LIMIT 1), e.setpoint) AS setpoint
       FROM equipment e WHERE e.id = $1`,
    [record.equipment_id, record.window_end ?? record.performed_at],
  );
  const unit = rows[0]!;
  let temperatures: VerifyInput['temperatures'] = [];
  if (window) {
    const t = await c.query<{ ts: Date; temperature: number }>(
      `SELECT ts, temperature FROM telemetry_v
        WHERE equipment_id = $1 AND ts >= $2 AND ts <= $3 AND temperature IS NOT NULL ORDER BY ts`,
      [record.equipment_id, new Date(window.to), new Date(window.to + recoveryMinutes * 60_000)],
    );
    temperatures = t.rows.map((r) => ({ ts: r.ts.getTime(), value: r.temperature }));
  }
  return {
    recordId: record.id,
    siteId: record.site_id,
    window,
    watchZoneId: unit.watch_zone_id,
    setpoint: unit.setpoint,
    temperatures,
  };
}

/**
 * The check itself: someone in the unit's watched zone during the window (ClickHouse people
 * events), the temperature back inside setpoint ± band within the recovery time. Undecidable
 * checks say what they lacked; a window whose recovery time has not passed is `recovery_pending`.
 */
export async function checkMaintenance(
  ch: ClickHouseClient,
  tenantId: string,
  input: VerifyInput,
  opts: MaintenanceVerifyBody,
  now: number,
): Promise<MaintenanceVerification> {
  const recoveryMinutes = opts.recoveryMinutes ?? DEFAULT_RECOVERY_MINUTES;
  const half = opts.bandC ?? DEFAULT_BAND_C;
  const band = input.setpoint === null ? null : { low: input.setpoint - half, high: input.setpoint + half };
  const base = { recoveryMinutes, band, checkedAt: iso(new Date(now)) };
  const undecided = (
    blocker: NonNullable<MaintenanceVerification['blocker']>,
    personPresent: boolean | null = null,
  ) => ({
    ...base,
    verified: false,
    personPresent,
    recoveredAt: null,
    blocker,
  });
  if (!input.window) return undecided('no_window');
  const presence = input.watchZoneId
    ? await zonePresence(ch, tenantId, input.siteId, input.watchZoneId, input.window.from, input.window.to)
    : null;
  const personPresent =
    presence === null ? null : presence.some((p) => p.from <= input.window!.to && p.to >= input.window!.from);
  if (!band) return undecided('no_setpoint', personPresent);
  const result = verifyMaintenance({
    window: input.window,
    presence: presence ?? [],
    temperatures: input.temperatures,
    band,
    recoveryMinutes,
  });
  const recoveredAt = result.recoveredAt === null ? null : iso(new Date(result.recoveredAt));
  if (presence === null) return { ...undecided('no_watched_zone'), recoveredAt };
  // Not back yet, but there is still time: say so rather than "failed".
  if (result.recoveredAt === null && now < input.window.to + recoveryMinutes * 60_000)
    return undecided('recovery_pending', personPresent);
  return { ...base, verified: result.verified, personPresent, recoveredAt, blocker: null };
}

/** Keeps the check on the record; `verified_at` only while it holds. */
export async function storeCheck(c: PoolClient, id: string, check: MaintenanceVerification): Promise<void> {
  await c.query(
    `UPDATE maintenance_records SET verification = $2, verified_at = CASE WHEN $3 THEN now() END WHERE id = $1`,
    [id, JSON.stringify(check), check.verified],
  );
}
