import { ApiInsights, InsightsBody, InsightsListQuery, Page, VigilError } from '../../schemas/mod.ts';
import { buildFindings, daysBetween, phraseFindings, type LlmConfig } from '../analytics/mod.ts';
import { inTenant } from './context.ts';
import { COLUMNS, insightStats, toApi, type InsightsRow } from './insights.repo.ts';
import { resource, route } from './route-kit.ts';
import { getSite } from './sites.repo.ts';
import { NewestFirst } from './table.ts';

/** Longest period one set of insights covers. */
const MAX_INSIGHT_DAYS = 92;

export const insightRoutes = resource('insights', async (app, { deps }) => {
  const { config } = deps;
  const llm: LlmConfig | null = config.VIGIL_INSIGHTS_LLM_URL
    ? {
        url: config.VIGIL_INSIGHTS_LLM_URL,
        key: config.VIGIL_INSIGHTS_LLM_KEY,
        model: config.VIGIL_INSIGHTS_LLM_MODEL,
        timeoutMs: config.VIGIL_INSIGHTS_LLM_TIMEOUT_MS,
      }
    : null;

  route(app, 'POST', '/insights', 'operator', {
    summary: 'Findings with numbers for a site and period (cached per period; 201 when written now)',
    description:
      'Written from Vigil’s own statistics (promotion lift, spikes, dwell changes). With VIGIL_INSIGHTS_LLM_URL set, a language model phrases them; a phrasing that changes, drops or adds a number is rejected and Vigil’s sentence is kept.',
    body: InsightsBody,
    response: { 200: ApiInsights, 201: ApiInsights },
    handler: async (request, reply) => {
      const { siteId, from, to, refresh } = request.body;
      if (to < from) throw new VigilError('VALIDATION_FAILED', 'body/to: before from');
      if (daysBetween(from, to).length > MAX_INSIGHT_DAYS)
        throw new VigilError('VALIDATION_FAILED', `at most ${MAX_INSIGHT_DAYS} days`);
      const prepared = await inTenant(deps, request, async (c) => {
        const site = await getSite(c, siteId);
        const { rows } = await c.query<InsightsRow>(
          `SELECT ${COLUMNS} FROM insights WHERE site_id = $1 AND from_day = $2 AND to_day = $3`,
          [siteId, from, to],
        );
        const cached = rows[0];
        if (cached && !refresh) return { kind: 'cached' as const, row: cached };
        return { kind: 'fresh' as const, stats: await insightStats(c, site, from, to) };
      });
      if (prepared.kind === 'cached') return reply.code(200).send(toApi(prepared.row));
      // The model is asked outside any transaction: a slow endpoint holds no connection.
      const phrased = await phraseFindings(buildFindings(prepared.stats), llm, request.log);
      const row = await inTenant(deps, request, async (c) => {
        await getSite(c, siteId);
        const { rows } = await c.query<InsightsRow>(
          `INSERT INTO insights (tenant_id, site_id, from_day, to_day, findings, model)
           VALUES (vigil_current_tenant(), $1, $2, $3, $4, $5)
           ON CONFLICT (tenant_id, site_id, from_day, to_day)
           DO UPDATE SET findings = EXCLUDED.findings, model = EXCLUDED.model, created_at = now()
           RETURNING ${COLUMNS}`,
          [siteId, from, to, JSON.stringify(phrased.findings), phrased.model],
        );
        return rows[0]!;
      });
      return reply.code(201).send(toApi(row));
    },
  });

  route(app, 'GET', '/insights', 'viewer', {
    summary: 'Insights written so far, newest first',
    querystring: InsightsListQuery,
    response: Page(ApiInsights),
    handler: async (request) => {
      const list = new NewestFirst(request.query, 'created_at');
      if (request.query.siteId) list.where.and(`site_id = ${list.where.p(request.query.siteId)}`);
      return inTenant(deps, request, (c) => list.fetch(c, `SELECT ${COLUMNS} FROM insights`, toApi));
    },
  });
});
