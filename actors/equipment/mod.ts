/**
 * The equipment alert engine's pure surface: the decider and what runs it over history. No
 * I/O, no Moleculer, no clock — what a process that is not an actor node (the gateway's
 * backtest) may import, so a backtest runs exactly the code the live actors run.
 */
export { backtest, warmupMs } from './backtest.ts';
export { isAlertEvent, type DeciderRule, type EquipmentState, type UnitInfo } from './equipment.decider.ts';
export { viewState, phaseChanged } from './equipment.view.ts';
export { applicableRows } from './equipment.rules.ts';
export { alertIdFor } from './alert-id.ts';
export { slopePerMinute, MAX_SAMPLES } from './rate.ts';
