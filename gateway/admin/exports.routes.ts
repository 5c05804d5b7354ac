import { Type, type Static } from '@sinclair/typebox';
import { Uuid } from '../../schemas/mod.ts';
import { inTenant } from './context.ts';
import { resource, route } from './route-kit.ts';
import {
  LOG_INTERVALS,
  checkLogRequest,
  loadTemperatureLog,
  temperatureLogCsv,
  type LogInterval,
} from './temperature-log.ts';
import { temperatureLogPdf } from './temperature-log.pdf.ts';

const TemperatureLogQuery = Type.Object(
  {
    equipmentId: Type.Optional(Uuid),
    siteId: Type.Optional(Uuid),
    // Examples make a valid period for clients and for the route-table isolation test.
    from: Type.String({ format: 'date-time', examples: ['2025-01-01T00:00:00.000Z'] }),
    to: Type.String({ format: 'date-time', examples: ['2025-01-08T00:00:00.000Z'] }),
    interval: Type.Optional(Type.Union(Object.keys(LOG_INTERVALS).map((k) => Type.Literal(k)))),
    format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('pdf')])),
  },
  { additionalProperties: false },
);
type TemperatureLogQuery = Static<typeof TemperatureLogQuery>;

/** HACCP temperature log export (SPEC §7): CSV or PDF, per unit or site and period. */
export const exportRoutes = resource('equipment', async (app, { deps }) => {
  route(app, 'GET', '/exports/temperature-log', 'viewer', {
    summary: 'Temperature log for food-safety inspections (CSV or PDF)',
    description:
      'For one unit (`equipmentId`) or every unit of a site (`siteId`) over at most 31 days: ' +
      'min/avg/max temperature per interval (default 15m), every excursion with its alert, and ' +
      'the corrective actions (acknowledge and resolve notes, maintenance). CSV sections are ' +
      'separated by a blank line, each with its own header row.',
    querystring: TemperatureLogQuery,
    produces: ['text/csv', 'application/pdf'],
    // A PDF is sent as a Buffer (no serialization); the document still says string.
    response: Type.Unsafe<string | Buffer>({ type: 'string', description: 'text/csv or application/pdf' }),
    handler: async (request, reply) => {
      const q = request.query;
      const req = {
        equipmentId: q.equipmentId,
        siteId: q.siteId,
        from: new Date(q.from),
        to: new Date(q.to),
        interval: (q.interval ?? '15m') as LogInterval,
      };
      checkLogRequest(req);
      const log = await inTenant(deps, request, (c) => loadTemperatureLog(c, req));
      const base = `temperature-log-${q.from.slice(0, 10)}-${q.to.slice(0, 10)}`;
      if (q.format === 'pdf') {
        const pdf = await temperatureLogPdf(log);
        return reply
          .type('application/pdf')
          .header('content-disposition', `attachment; filename="${base}.pdf"`)
          .send(pdf);
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${base}.csv"`)
        .send(temperatureLogCsv(log));
    },
  });
});
