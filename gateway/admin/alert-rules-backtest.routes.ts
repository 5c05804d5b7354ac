import { performance } from 'node:perf_hooks';
import { backtest, warmupMs, type DeciderRule } from '../../actors/equipment/mod.ts';
import {
  assertRuleParams,
  BACKTEST_LIMITS,
  BacktestBody,
  BacktestResult,
  VigilError,
  type AlertEvent,
  type Reading,
} from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { inTenant } from './context.ts';
import { READING_COLUMNS, type ReadingRow } from './readings.repo.ts';
import { resource, route } from './route-kit.ts';

const DAY_MS = 86_400_000;

interface UnitRow {
  id: string;
  site_id: string;
  setpoint: number | null;
  timezone: string;
}

/** A stored row as the decider saw it live: absent fields absent, not null. */
function toReading(tenantId: string, r: ReadingRow & { equipment_id: string }): Reading {
  const out: Reading = { tenantId, equipmentId: r.equipment_id, ts: r.ts.getTime() };
  if (r.temperature !== null) out.temperature = r.temperature;
  if (r.pressure !== null) out.pressure = r.pressure;
  if (r.door !== null) out.door = r.door;
  if (r.heater !== null) out.heater = r.heater;
  if (r.compressor !== null) out.compressor = r.compressor;
  if (r.fan !== null) out.fan = r.fan;
  if (r.setpoint !== null) out.setpoint = r.setpoint;
  if (r.metrics && Object.keys(r.metrics).length) out.metrics = r.metrics;
  return out;
}

/**
 * `POST /v1/alert-rules/backtest`: a draft rule through the equipment actors' own decider over
 * the stored telemetry of chosen units. Telemetry is read through the tenant-scoped view, so
 * a unit outside the caller's tenant or sites is NOT_FOUND.
 */
export const alertRuleBacktestRoutes = resource('alert-rules', async (app, { deps }) => {
  route(app, 'POST', '/alert-rules/backtest', 'tenant_admin', {
    summary: 'Run a draft rule over stored history: the alerts it would have raised',
    description:
      "Runs the live decider over the units' stored readings in [from, to) (plus the warm-up " +
      'the rule needs before `from`), with the timers a live unit would have had. Bounded: at most ' +
      `${BACKTEST_LIMITS.units} units, ${BACKTEST_LIMITS.unitDays} unit-days (units × days) and ` +
      `${BACKTEST_LIMITS.readings} readings per request (400 BACKTEST_TOO_LARGE past them).`,
    body: BacktestBody,
    response: BacktestResult,
    handler: async (request) => {
      const body = request.body;
      const from = Date.parse(body.from);
      const to = Date.parse(body.to);
      if (!(to > from)) throw new VigilError('VALIDATION_FAILED', 'body/to: must be after from');
      const unitDays = (body.equipmentIds.length * (to - from)) / DAY_MS;
      if (unitDays > BACKTEST_LIMITS.unitDays) {
        throw new VigilError(
          'BACKTEST_TOO_LARGE',
          `${body.equipmentIds.length} units × ${((to - from) / DAY_MS).toFixed(2)} days = ${unitDays.toFixed(1)} ` +
            `unit-days; at most ${BACKTEST_LIMITS.unitDays}: fewer units or a shorter range`,
          { details: { unitDays, limit: BACKTEST_LIMITS.unitDays } },
        );
      }
      // Its condition joins people seen by a camera, which a backtest over telemetry does not have.
      if (body.rule.kind === 'unattended_door')
        throw new VigilError(
          'VALIDATION_FAILED',
          'body/rule/kind: unattended_door depends on people events, which backtests do not replay',
        );
      const params = assertRuleParams(body.rule.kind, body.rule.params);
      const tenantId = principalOf(request).tenantId;
      const rule = {
        id: null,
        tenantId,
        siteId: null,
        equipmentId: null,
        key: body.rule.key ?? 'backtest',
        name: 'backtest',
        latched: body.rule.latched ?? false,
        enabled: true,
        kind: body.rule.kind,
        params,
      } as DeciderRule;

      const started = performance.now();
      const { units, readings } = await inTenant(deps, request, async (c) => {
        const u = await c.query<UnitRow>(
          `SELECT e.id, e.site_id, e.setpoint, s.timezone FROM equipment e JOIN sites s ON s.id = e.site_id
            WHERE e.id = ANY($1::uuid[])`,
          [body.equipmentIds],
        );
        if (u.rows.length !== body.equipmentIds.length)
          throw new VigilError('NOT_FOUND', 'equipment not found');
        const r = await c.query<ReadingRow & { equipment_id: string }>(
          `SELECT equipment_id, ${READING_COLUMNS}
             FROM telemetry_v WHERE equipment_id = ANY($1::uuid[]) AND ts >= $2 AND ts < $3
            ORDER BY equipment_id, ts LIMIT $4`,
          [body.equipmentIds, new Date(from - warmupMs(rule)), new Date(to), BACKTEST_LIMITS.readings + 1],
        );
        if (r.rows.length > BACKTEST_LIMITS.readings) {
          throw new VigilError(
            'BACKTEST_TOO_LARGE',
            `more than ${BACKTEST_LIMITS.readings} readings in range: fewer units or a shorter range`,
            { details: { limit: BACKTEST_LIMITS.readings } },
          );
        }
        return { units: u.rows, readings: r.rows };
      });
      const loaded = performance.now();

      const byUnit = new Map<string, Reading[]>();
      for (const r of readings) {
        let list = byUnit.get(r.equipment_id);
        if (!list) byUnit.set(r.equipment_id, (list = []));
        list.push(toReading(tenantId, r));
      }
      const alerts: AlertEvent[] = [];
      const summary = units.map((u) => {
        const history = byUnit.get(u.id) ?? [];
        const out = backtest({
          unit: {
            tenantId,
            siteId: u.site_id,
            equipmentId: u.id,
            setpoint: u.setpoint,
            timeZone: u.timezone,
          },
          rules: [rule],
          readings: history,
          until: to,
        });
        const inRange = out.events.filter((e) => e.ts >= from && e.ts < to);
        alerts.push(...inRange);
        return {
          equipmentId: u.id,
          readings: history.length,
          opened: inRange.filter((e) => e.type === 'alert.opened').length,
          unevaluable: out.unevaluable.length > 0,
        };
      });
      alerts.sort((a, b) => a.ts - b.ts);
      return {
        alerts,
        units: summary,
        timings: { loadMs: loaded - started, evaluateMs: performance.now() - loaded },
      };
    },
  });
});
