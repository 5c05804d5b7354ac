import { IdParams, RollupPage, SiteRollupQuery, VigilError } from '../../schemas/mod.ts';
import { inTenant } from './context.ts';
import { guards, resource } from './route-kit.ts';
import { rollupWindow, siteRollups } from './rollups.ts';

/** Rollups of every unit of a site (the per-unit form is `/equipment/:id/readings?bucket=`). */
export const rollupRoutes = resource('equipment', async (app, { deps }) => {
  const { reader } = guards(app);

  app.get(
    '/sites/:id/readings',
    {
      ...reader,
      schema: {
        summary: 'Hourly or daily rollups of every unit of a site',
        description:
          'Min/avg/max temperature and pressure, compressor duty, door-open readings and minutes, ' +
          'readings and minutes out of the setpoint band (±2 °C), per unit and bucket, oldest first. ' +
          '`1h`: at most 31 days (default the last 24 hours); `1d`: at most 2 years (default 30 days).',
        params: IdParams,
        querystring: SiteRollupQuery,
        response: { 200: RollupPage },
      },
    },
    async (request) => {
      const { id } = request.params;
      const q = request.query;
      const w = rollupWindow(q.bucket ?? '1h', q.from, q.to);
      return inTenant(deps, request, async (c) => {
        const { rowCount } = await c.query('SELECT 1 FROM sites WHERE id = $1', [id]);
        if (!rowCount) throw new VigilError('NOT_FOUND', 'site not found');
        return siteRollups(c, w, id);
      });
    },
  );
});
