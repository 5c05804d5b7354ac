/**
 * The camera actor's pure core: people tracking (ByteTrack-style with re-identification) and
 * zones (areas, lines, product shelves, crowding), behind one decider.
 */
export {
  decide,
  evolve,
  handle as handleCameraCommand,
  initialCameraState,
  type CameraCommand,
  type CameraEvent,
  type CameraState,
  type TrackSummary,
  type VideoStatus,
} from './camera.decider.ts';
export {
  track,
  initialTracker,
  DEFAULT_TRACKER,
  type Track,
  type TrackerConfig,
  type TrackerDetection,
  type TrackerState,
  type TrackerStep,
} from './tracker.ts';
export {
  zonesStep,
  initialZones,
  DEFAULT_INERTIA,
  DEFAULT_PRODUCT_DWELL,
  type ZoneDef,
  type ZoneEvent,
  type ZoneKind,
  type ZonesState,
} from './zones.ts';
export {
  replayZone,
  ZoneReplayer,
  type ReplayFrame,
  type ZoneReplayEvent,
  type ZoneReplayResult,
} from './replay.ts';
export { anchor, iou, pointInPolygon, selfIntersects, type Box, type Point } from './geometry.ts';
export { zoneShapeProblem, type ZoneShapeProblem } from './zone-shape.ts';
