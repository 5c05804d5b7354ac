import type { UnitInfo } from '../../actors/mod.ts';

/** The one unit the equipment decider tests talk about, and their clock. */
export const T = '11111111-1111-4111-8111-111111111111';
export const S = '22222222-2222-4222-8222-222222222222';
export const E = '33333333-3333-4333-8333-333333333333';
export const RULE_ID = '44444444-4444-4444-8444-444444444444';
export const unit: UnitInfo = { tenantId: T, siteId: S, equipmentId: E, setpoint: -18 };
export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
/** Epoch ms `s` seconds after T0. */
export const at = (s: number): number => T0 + s * 1000;
