import type { FastifyPluginAsync } from 'fastify';
import { alertRuleBacktestRoutes } from './alert-rules-backtest.routes.ts';
import { alertRuleRoutes } from './alert-rules.routes.ts';
import { alertRoutes } from './alerts.routes.ts';
import { auditRoutes } from './audit.routes.ts';
import { authRoutes } from './auth.routes.ts';
import type { AdminRouteOptions } from './context.ts';
import { cameraRoutes } from './cameras.routes.ts';
import { cameraFrameRoutes } from './camera-frames.routes.ts';
import { doorEpisodeRoutes } from './door-episodes.routes.ts';
import { equipmentRoutes } from './equipment.routes.ts';
import { equipmentStateRoutes } from './equipment-state.routes.ts';
import { exportRoutes } from './exports.routes.ts';
import { inviteRoutes } from './invites.routes.ts';
import { insightRoutes } from './insights.routes.ts';
import { maintenanceRoutes } from './maintenance.routes.ts';
import { metricsRoutes } from './metrics.routes.ts';
import { notificationChannelRoutes } from './notification-channels.routes.ts';
import { promotionRoutes } from './promotions.routes.ts';
import { readingRoutes } from './readings.routes.ts';
import { siteRoutes } from './sites.routes.ts';
import { tenantRoutes } from './tenants.routes.ts';
import { userRoutes } from './users.routes.ts';
import { zoneReplayRoutes } from './zone-replay.routes.ts';
import { zoneRoutes } from './zones.routes.ts';

export type { AdminDeps, AdminRouteOptions } from './context.ts';
export { decodeCursor, encodeCursor, page, type Cursor } from './pagination.ts';
/** The cameras and zones repository, for seeding through the same writes as the API (the demo). */
export { CAMERA_FIELDS, CAMERAS, insertCamera, insertZone } from './cameras.repo.ts';

/**
 * The management API under /v1: auth, tenants, sites, users, invites, equipment, maintenance,
 * alerts, alert rules, notification channels, cameras, zones, audit log. Needs identityPlugin registered first (app.authenticate).
 * Every tenant query runs through withTenant, so PostgreSQL's row-level security decides what
 * exists; role checks run before any body is parsed.
 */
export const adminRoutes: FastifyPluginAsync<AdminRouteOptions> = async (app, opts) => {
  for (const routes of [
    authRoutes,
    tenantRoutes,
    siteRoutes,
    userRoutes,
    inviteRoutes,
    equipmentRoutes,
    equipmentStateRoutes,
    doorEpisodeRoutes,
    readingRoutes,
    exportRoutes,
    maintenanceRoutes,
    alertRoutes,
    alertRuleRoutes,
    alertRuleBacktestRoutes,
    notificationChannelRoutes,
    cameraRoutes,
    cameraFrameRoutes,
    zoneRoutes,
    zoneReplayRoutes,
    auditRoutes,
    metricsRoutes,
    promotionRoutes,
    insightRoutes,
  ]) {
    await app.register(routes, opts);
  }
};
