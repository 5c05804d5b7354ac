export { isVigilError, ERRORS, type ErrorCode, VigilError } from './errors.ts';
export { compile, describeErrors, assertValid } from './validate.ts';
export { loadConfig, type Config } from './config.ts';
export {
  normalizeReading,
  parseReading,
  requireReading,
  TelemetryIn,
  type Reading,
  MAX_READING_BYTES,
  type ReadingBounds,
} from './telemetry.ts';
export { findNul } from './text.ts';
export {
  eventKind,
  Severity,
  AlertEventData,
  AlertEventType,
  AlertEvent,
  AlertActionEvent,
  RuleStatusEvent,
  RulePhaseView,
  EquipmentStateEvent,
  PeopleEvent,
  PeopleEventType,
  CameraEvent,
  VigilEvent,
} from './events.ts';
export {
  ControlMessage,
  type ControlTopic,
  type ControlBody,
  ActorStateRequest,
  ActorStateReply,
  CameraHealthRequest,
} from './control.ts';
export {
  createPool,
  withTenant,
  withTransaction,
  type Pool,
  type PoolClient,
  type TenantScope,
} from './pg.ts';
export { fromPgError, looksLikeNetwork } from './pg-errors.ts';
export { chIdent, chSql, createClickHouse } from './clickhouse.ts';
export { createLogger, type Logger } from './log.ts';
export { migrate } from './migrate.ts';
export { Page, ErrorBody, Uuid, IdParams } from './http.ts';
export {
  DependencyName,
  DependencyCheck,
  MaintenanceHealth,
  HealthResponse,
  LivenessResponse,
} from './api-ops.ts';
export {
  MAX_TELEMETRY_BATCH,
  TelemetryBody,
  TelemetryHeaders,
  TelemetryAccepted,
  TelemetryRejection,
} from './api-telemetry.ts';
export { StreamQuery, StreamHeaders } from './api-stream.ts';
export {
  UserRole,
  LoginBody,
  RefreshBody,
  LogoutBody,
  ChangePasswordBody,
  SessionUser,
  SessionResponse,
  MeResponse,
  SignupBody,
  AcceptInviteBody,
  ApiTenant,
  TenantCreateBody,
  TenantUpdateBody,
  ApiSite,
  SiteCreateBody,
  SiteUpdateBody,
  ApiUser,
  UserUpdateBody,
  UserListQuery,
  ApiInvite,
  InviteCreateBody,
  InviteCreated,
  InviteListQuery,
  TenantCreated,
  ApiAuditEntry,
  AuditListQuery,
  TenantListQuery,
  SiteListQuery,
} from './api-identity.ts';
export {
  ApiEquipment,
  EquipmentCreateBody,
  EquipmentUpdateBody,
  EquipmentListQuery,
  ApiKeyIssued,
  EquipmentCreated,
  MaintenanceVerification,
  MaintenanceVerifyBody,
  ApiMaintenance,
  MaintenanceCreateBody,
  MaintenanceUpdateBody,
  MaintenanceListQuery,
} from './api-equipment.ts';
export {
  ApiCamera,
  CameraCreateBody,
  CameraUpdateBody,
  CameraListQuery,
  CameraHealth,
  ApiZoneKind,
  ZonePoints,
  ApiZone,
  ZoneCreateBody,
  ZoneUpdateBody,
  ZoneListQuery,
  ZONE_REPLAY_LIMITS,
  ZoneReplayQuery,
  ZoneReplayBody,
  ZoneReplayEvent,
  ZoneReplayResult,
  SCREENSHOT_LIMITS,
  SCREENSHOT_MEDIA_TYPES,
  BinaryBody,
  ImageResponse,
  FrameSource,
  OverlayQuery,
  ApiScreenshot,
  CameraTracksView,
} from './api-cameras.ts';
export {
  ApiAlert,
  AlertListQuery,
  AlertAckBody,
  AlertResolveBody,
  AlertSnoozeBody,
  ApiAlertTimelineEntry,
  AlertTimelineQuery,
  RuleScope,
  ApiAlertRule,
  AlertRuleCreateBody,
  AlertRuleUpdateBody,
  AlertRuleListQuery,
} from './api-alerts.ts';
export {
  assertRuleParams,
  assertRuleKindEvaluated,
  parseAlertRule,
  AlertRuleKind,
  ATTENDED_SLACK_MS,
  DECIDER_KINDS,
  type Weekday,
  RuleSchedule,
  ThresholdOp,
  ThresholdParams,
  type RuleParamsByKind,
  type AlertRule,
  type AlertRuleOf,
  type AlertRuleRow,
} from './rules.ts';
export {
  ApiNotificationChannel,
  ApiNotificationChannelWithSecret,
  NotificationChannelCreateBody,
  NotificationChannelUpdateBody,
  NotificationChannelListQuery,
} from './api-notifications.ts';
export { BACKTEST_LIMITS, BacktestBody, BacktestResult } from './api-backtest.ts';
export {
  ApiReading,
  ApiFleetUnit,
  FleetQuery,
  RollupBucket,
  ReadingsQuery,
  ApiHourly,
  HourlyQuery,
  ApiRollup,
  RollupPage,
  SiteRollupQuery,
} from './api-readings.ts';
export { ApiRuleState, ApiEquipmentState } from './api-equipment-state.ts';
export { DetectionsIn, parseDetections, MAX_DETECTIONS_BYTES, type DetectionsFrame } from './detections.ts';
export { wallClock, utcOffsetMs } from './time-zone.ts';
export {
  type MetricName,
  ApiDailyMetrics,
  MAX_METRIC_DAYS,
  MetricsDailyQuery,
  MetricsDailyList,
  MetricsRecomputeBody,
  MetricsRecomputeResult,
  SiteQuery,
  ApiRealtime,
  SpikesQuery,
  SpikesList,
  PromotionCreateBody,
  PromotionUpdateBody,
  ApiPromotion,
  ApiPromotionLift,
  PromotionListQuery,
  InsightsBody,
  ApiFinding,
  ApiInsights,
  InsightsListQuery,
  ApiDoorEpisodes,
  DoorEpisodesQuery,
  MAX_DOOR_EPISODE_DAYS,
} from './api-retail.ts';
