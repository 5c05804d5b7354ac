/**
 * Retail analytics (SPEC §7): days in the site's time zone, daily people metrics, spikes,
 * promotion lift, insights and the door/people cross-signal. The statistics are pure; the
 * routes around them read ClickHouse and keep results in PostgreSQL.
 */
export { dayWindow, daysBetween, localDay, nextDay } from './local-day.ts';
export { dailyMetrics, median, type DailyMetrics, type PeopleEvent } from './people-metrics.ts';
export { DEFAULT_SPIKES, findSpikes, type DayValue } from './spikes.ts';
export { promotionLift } from './promotion-lift.ts';
export { buildFindings, choosePhrasing, keepsNumbers, type InsightStats } from './insights.ts';
export {
  doorEpisodes,
  labelEpisodes,
  presenceIntervals,
  verifyMaintenance,
  type Interval,
} from './cross-signal.ts';
export { phraseFindings, type LlmConfig } from './insights-llm.ts';
