/**
 * Retail analytics (SPEC §7): days in the site's time zone, daily people metrics, spikes,
 * promotion lift, insights and the door/people cross-signal. The statistics are pure; the
 * routes around them read ClickHouse and keep results in PostgreSQL.
 */
export { dayStart, dayWindow, daysBetween, localDay, localHour, nextDay, weekday } from './local-day.ts';
export {
  dailyMetrics,
  median,
  type DailyMetrics,
  type MetricsScope,
  type PeopleEvent,
  type PeopleEventKind,
} from './people-metrics.ts';
export { DEFAULT_SPIKES, findSpikes, type DayValue, type SpikeOptions, type SpikeVerdict } from './spikes.ts';
export { promotionLift, type LiftFigures, type PromotionLift } from './promotion-lift.ts';
export {
  buildFindings,
  choosePhrasing,
  fmtPct,
  keepsNumbers,
  numberTokens,
  type Finding,
  type FindingKind,
  type InsightStats,
} from './insights.ts';
export {
  doorEpisodes,
  labelEpisodes,
  presenceIntervals,
  verifyMaintenance,
  type DoorEpisode,
  type DoorReading,
  type Interval,
  type LabelledEpisode,
  type MaintenanceCheck,
} from './cross-signal.ts';
export { phraseFindings, type LlmConfig, type PhrasedFinding } from './insights-llm.ts';
