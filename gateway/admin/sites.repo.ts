import type { ApiSite, SiteCreateBody } from '../../schemas/mod.ts';
import { VigilError, type PoolClient } from '../../schemas/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { Table } from './table.ts';

export interface SiteRow {
  id: string;
  name: string;
  timezone: string;
  address: string | null;
  created_at: Date;
  updated_at: Date;
  _k: string;
}

export const COLUMNS = `id, name, timezone, address, created_at, updated_at, ${timeKey('created_at')} AS _k`;
export const SITES = new Table<SiteRow>('sites', COLUMNS, 'site not found');
export const getSite = SITES.get;

export function toApi(r: SiteRow): ApiSite {
  return {
    id: r.id,
    name: r.name,
    timezone: r.timezone,
    address: r.address,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export async function insertSite(c: PoolClient, body: SiteCreateBody): Promise<SiteRow> {
  const { rows } = await c.query<SiteRow>(
    `INSERT INTO sites (tenant_id, name, timezone, address) VALUES (vigil_current_tenant(), $1, $2, $3)
     RETURNING ${COLUMNS}`,
    [body.name, body.timezone, body.address ?? null],
  );
  return rows[0]!;
}

/** Deleting would cascade to the equipment's alerts and history: never implicitly. */
export async function assertNoEquipment(c: PoolClient, site: SiteRow): Promise<void> {
  const { rowCount } = await c.query('SELECT 1 FROM equipment WHERE site_id = $1 LIMIT 1', [site.id]);
  if (rowCount) throw new VigilError('CONFLICT', 'the site still has equipment');
}

const TIME_ZONES = new Set(Intl.supportedValuesOf('timeZone'));

/** IANA names only (plus UTC, which some runtimes list only as an alias). */
export function assertTimezone(tz: string | undefined): void {
  if (tz === undefined || tz === 'UTC' || TIME_ZONES.has(tz)) return;
  throw new VigilError('VALIDATION_FAILED', `body/timezone: unknown time zone '${tz}'`);
}

/**
 * Every id must be a site the caller can see (RLS: own tenant, own sites): another tenant's
 * site, or one outside the caller's restriction, is NOT_FOUND like a site that never existed.
 */
export async function assertSitesVisible(client: PoolClient, siteIds: readonly string[]): Promise<void> {
  if (siteIds.length === 0) return;
  const { rows } = await client.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM sites WHERE id = ANY($1::uuid[])',
    [[...new Set(siteIds)]],
  );
  if ((rows[0]?.n ?? 0) !== new Set(siteIds).size) throw new VigilError('NOT_FOUND', 'site not found');
}
