import { ApiEquipmentState, isVigilError, type ActorStateReply } from '../../schemas/mod.ts';
import { requestActorState, telemetryPartition } from '../../streams/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { inTenant } from './context.ts';
import { resource, route } from './route-kit.ts';
import { equipmentState, storedUnitState } from './equipment-state.repo.ts';

/** How long to wait for the owning node; a partition in handover answers "no responders" at once. */
const OWNER_TIMEOUT_MS = 1000;

export const equipmentStateRoutes = resource('equipment', async (app, { deps }) => {
  route(app, 'GET', '/equipment/:id/state', 'viewer', {
    summary: "A unit's live state: last reading, each rule's phase and timer, open alerts",
    description:
      'The phases come from the node that owns the unit (asked over NATS); the last reading and ' +
      'open alerts from PostgreSQL. `actor.status` says whether the phases are live. Changes ' +
      'of phase are also pushed on /v1/stream as `equipment.state` events (kind `equipment`).',
    response: ApiEquipmentState,
    handler: async (request) => {
      const { id } = request.params;
      const { tenantId } = principalOf(request);
      // Authorise (RLS: NOT_FOUND for an invisible unit) before asking any actor.
      const stored = await inTenant(deps, request, (c) => storedUnitState(c, tenantId, id));
      const partition = telemetryPartition(tenantId, id, deps.config.VIGIL_PARTITIONS);
      let reply: ActorStateReply | null = null;
      try {
        reply = await requestActorState(deps.nc, deps.names, 'equipment', partition, id, OWNER_TIMEOUT_MS);
      } catch (err) {
        if (!isVigilError(err) || err.code !== 'DEPENDENCY_UNAVAILABLE') throw err;
        request.log.debug({ err, equipmentId: id, partition }, 'no node serves the unit right now');
      }
      if (reply && 'error' in reply) {
        request.log.warn({ equipmentId: id, partition, error: reply.error }, 'actor state query refused');
        reply = null;
      }
      return equipmentState(stored, partition, reply);
    },
  });
});
