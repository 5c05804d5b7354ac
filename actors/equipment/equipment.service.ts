import type { ServiceSchema } from 'moleculer';
import { kindService } from '../membership.ts';
import { EquipmentHost, type EquipmentDeps, type EquipmentHealth } from './equipment.host.ts';

export const EQUIPMENT_SERVICE = 'equipment';

/**
 * The equipment actors as a Moleculer service. Membership events re-balance partitions; the
 * host does the rest (see equipment.host.ts).
 */
export function equipmentService(deps: EquipmentDeps): ServiceSchema {
  return kindService(EQUIPMENT_SERVICE, deps.log, (membership) => new EquipmentHost(deps, membership));
}

export type { EquipmentHealth };
