/**
 * The camera actor's pure core: people tracking (ByteTrack-style with re-identification) and
 * zones (areas, lines, product shelves, crowding), behind one decider.
 */
export { handle as handleCameraCommand, initialCameraState, type CameraEvent } from './camera.decider.ts';
export { track, initialTracker, type TrackerDetection, type TrackerState } from './tracker.ts';
export {
  zonesStep,
  crowdingStep,
  initialZones,
  zoneDefOf,
  DEFAULT_CROWDING_SEVERITY,
  type CrowdingRule,
  type CrowdingState,
  type ZoneDef,
  type ZoneEvent,
  type ZonesState,
} from './zones.ts';
export { replayZone, ZoneReplayer, type ReplayFrame, type ZoneReplayEvent } from './replay.ts';
export { iou } from './geometry.ts';
export { zoneShapeProblem } from './zone-shape.ts';
export {
  outboundEvents,
  crowdingAlert,
  CROWDING_RULE,
  type CameraIdentity,
  type OutboundEvent,
} from './people-events.ts';
