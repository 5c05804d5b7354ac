import { Type, type Static } from '@sinclair/typebox';
import { NullableString, NullableTimestamp, NullableUuid, PageQuery, Timestamp, Uuid } from './http.ts';

/**
 * Retail metrics, spikes, promotions and insights (SPEC §7). Days are the site's local
 * calendar days, `YYYY-MM-DD`; a promotion's period includes both ends.
 */
export const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', examples: ['2026-11-02'] });
const SiteId = Type.String({ format: 'uuid', description: 'a site of the caller' });

export const METRIC_NAMES = [
  'footfall',
  'uniqueVisitorsEstimate',
  'zoneEntries',
  'interactions',
  'dwellAvgS',
  'dwellMedianS',
  'peakOccupancy',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
const Metric = Type.Union(
  METRIC_NAMES.map((m) => Type.Literal(m)),
  { default: 'footfall' },
);
const Scope = Type.Union([Type.Literal('site'), Type.Literal('camera'), Type.Literal('zone')]);
const ZoneId = Type.String({ minLength: 1, maxLength: 200 });

export const ApiDailyMetrics = Type.Object({
  siteId: Uuid,
  day: Day,
  scope: Scope,
  cameraId: NullableUuid,
  zoneId: NullableString,
  footfall: Type.Integer(),
  uniqueVisitorsEstimate: Type.Integer({ description: 'distinct tracks per camera: an estimate' }),
  zoneEntries: Type.Integer(),
  dwellAvgS: Type.Union([Type.Number(), Type.Null()]),
  dwellMedianS: Type.Union([Type.Number(), Type.Null()]),
  interactions: Type.Integer(),
  peakOccupancy: Type.Union([Type.Integer(), Type.Null()]),
  peakAt: NullableTimestamp,
  hourly: Type.Array(Type.Integer(), { description: 'per local hour 0–23' }),
});
export type ApiDailyMetrics = Static<typeof ApiDailyMetrics>;

/** At most this many days in one metrics request. */
export const MAX_METRIC_DAYS = 366;

export const MetricsDailyQuery = Type.Object(
  {
    siteId: Type.Optional(
      Type.String({ format: 'uuid', description: 'one site; absent: every site of the caller' }),
    ),
    from: Day,
    to: Day,
    scope: Type.Optional(Scope),
    cameraId: Type.Optional(Uuid),
    zoneId: Type.Optional(ZoneId),
  },
  { additionalProperties: false },
);
export type MetricsDailyQuery = Static<typeof MetricsDailyQuery>;

export const MetricsDailyList = Type.Object({ items: Type.Array(ApiDailyMetrics) });

export const MetricsRecomputeBody = Type.Object(
  { siteId: SiteId, from: Day, to: Day },
  { additionalProperties: false },
);
export const MetricsRecomputeResult = Type.Object({
  days: Type.Integer(),
  events: Type.Integer({ description: 'distinct people events read' }),
  rows: Type.Integer({ description: 'metrics rows written' }),
});

export const SiteQuery = Type.Object({ siteId: SiteId }, { additionalProperties: false });

export const ApiRealtime = Type.Object({
  siteId: Uuid,
  day: Day,
  items: Type.Array(
    Type.Object({
      scope: Scope,
      cameraId: NullableUuid,
      zoneId: NullableString,
      /** The zone's last reported occupancy today (the busiest zone's at camera and site scope). */
      occupancy: Type.Union([Type.Integer(), Type.Null()]),
      footfall: Type.Integer(),
      zoneEntries: Type.Integer(),
      interactions: Type.Integer(),
    }),
  ),
});

export const SpikesQuery = Type.Object(
  {
    siteId: SiteId,
    from: Day,
    to: Day,
    metric: Type.Optional(Metric),
    weeks: Type.Optional(Type.Integer({ minimum: 2, maximum: 12, default: 4 })),
  },
  { additionalProperties: false },
);
export type SpikesQuery = Static<typeof SpikesQuery>;

export const ApiSpike = Type.Object({
  day: Day,
  value: Type.Number(),
  baseline: Type.Number({ description: 'median of the same weekday over the trailing weeks' }),
  mad: Type.Number(),
  low: Type.Number(),
  high: Type.Number(),
  liftPct: Type.Union([Type.Number(), Type.Null()]),
  spike: Type.Boolean(),
  history: Type.Array(Type.Number()),
});
export const SpikesList = Type.Object({ metric: Metric, items: Type.Array(ApiSpike) });

const PromotionName = Type.String({ minLength: 1, maxLength: 200, examples: ['Black Friday'] });

export const PromotionCreateBody = Type.Object(
  {
    name: PromotionName,
    from: Day,
    to: Day,
    siteIds: Type.Array(Uuid, { minItems: 1, maxItems: 100 }),
    zoneIds: Type.Optional(Type.Union([Type.Array(ZoneId, { minItems: 1, maxItems: 100 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type PromotionCreateBody = Static<typeof PromotionCreateBody>;

export const PromotionUpdateBody = Type.Partial(PromotionCreateBody, { additionalProperties: false });
export type PromotionUpdateBody = Static<typeof PromotionUpdateBody>;

const LiftFigures = Type.Object({
  during: Type.Number(),
  baseline: Type.Number(),
  liftPct: Type.Union([Type.Number(), Type.Null()]),
  days: Type.Integer(),
  baselineDays: Type.Integer(),
});

export const ApiPromotion = Type.Object({
  id: Uuid,
  name: Type.String(),
  from: Day,
  to: Day,
  siteIds: Type.Array(Uuid),
  zoneIds: Type.Union([Type.Array(Type.String()), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ApiPromotion = Static<typeof ApiPromotion>;

export const ApiPromotionLift = Type.Object({
  ...ApiPromotion.properties,
  lift: Type.Array(
    Type.Object({
      metric: Metric,
      previousPeriod: Type.Object({ ...LiftFigures.properties, from: Day, to: Day }),
      sameWeekdays: Type.Object({ ...LiftFigures.properties, weeks: Type.Integer() }),
    }),
  ),
});
export type ApiPromotionLift = Static<typeof ApiPromotionLift>;

export const PromotionListQuery = PageQuery;

export const InsightsBody = Type.Object(
  {
    siteId: SiteId,
    from: Day,
    to: Day,
    /** Write them again even if this period's insights are cached. */
    refresh: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type InsightsBody = Static<typeof InsightsBody>;

export const ApiFinding = Type.Object({
  kind: Type.String(),
  text: Type.String({
    description: "as shown: the model's phrasing when it kept every number, else Vigil's",
  }),
  productText: Type.String({ description: "Vigil's own sentence, the numbers' source" }),
  phrased: Type.Boolean(),
  figures: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Null()])),
});
export type ApiFinding = Static<typeof ApiFinding>;

export const ApiInsights = Type.Object({
  id: Uuid,
  siteId: Uuid,
  from: Day,
  to: Day,
  findings: Type.Array(ApiFinding),
  model: NullableString,
  createdAt: Timestamp,
});
export type ApiInsights = Static<typeof ApiInsights>;

export const InsightsListQuery = Type.Object({
  ...PageQuery.properties,
  siteId: Type.Optional(Uuid),
});

/** At most this long a window of door episodes per request. */
export const MAX_DOOR_EPISODE_DAYS = 31;

export const DoorEpisodesQuery = Type.Object(
  {
    from: Type.String({ format: 'date-time', examples: ['2026-11-02T00:00:00Z'] }),
    to: Type.String({ format: 'date-time', examples: ['2026-11-09T00:00:00Z'] }),
  },
  { additionalProperties: false },
);
export type DoorEpisodesQuery = Static<typeof DoorEpisodesQuery>;

const NullableCount = Type.Union([Type.Integer(), Type.Null()]);

export const ApiDoorEpisodes = Type.Object({
  equipmentId: Uuid,
  /** The zone the labels come from; null: the unit watches none, so episodes are unlabelled. */
  watchZoneId: NullableUuid,
  from: Timestamp,
  to: Timestamp,
  episodes: Type.Array(
    Type.Object({
      openedAt: Timestamp,
      closedAt: Timestamp,
      /** Still open at the last reading of the window (`closedAt` is that reading). */
      stillOpen: Type.Boolean(),
      seconds: Type.Number(),
      /** Someone was seen in the watched zone during it (or within the slack around it). */
      attended: Type.Union([Type.Boolean(), Type.Null()]),
    }),
  ),
  /** Per local day of the unit's site (the day an episode opened). */
  days: Type.Array(
    Type.Object({ day: Day, episodes: Type.Integer(), attended: NullableCount, unattended: NullableCount }),
  ),
});
export type ApiDoorEpisodes = Static<typeof ApiDoorEpisodes>;
