import { Type, type Static } from '@sinclair/typebox';
import { PeopleEventType, Severity } from './events.ts';
import { NullableString, NullableTimestamp, PageQuery, Timestamp, Uuid } from './http.ts';

/** HTTP contract of cameras, their live health, and zones (SPEC §6). */

const Name = Type.String({ minLength: 1, maxLength: 200, examples: ['Entrance'] });
const SourceUrl = Type.String({
  minLength: 1,
  maxLength: 2000,
  description: 'rtsp://, rtsps://, http(s):// or a file path on the camera node',
  examples: ['rtsp://192.0.2.10:554/stream1'],
});
const DetectFps = Type.Number({
  exclusiveMinimum: 0,
  maximum: 30,
  description: 'frames analysed per second',
  examples: [5],
});
const ModelPath = Type.Union([
  Type.String({
    minLength: 1,
    maxLength: 1000,
    description: 'ONNX model (Ultralytics YOLOv8/YOLO11 export) on the camera node; null: the default',
  }),
  Type.Null(),
]);
const InputSize = Type.Integer({
  minimum: 32,
  maximum: 2048,
  multipleOf: 32,
  description: 'model input side (letterboxed square)',
  examples: [640],
});
const Confidence = Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, examples: [0.25] });
const OfflineForSeconds = Type.Number({
  minimum: 0,
  maximum: 86400,
  description:
    'camera_offline alert: a stream lost this long opens it (a reconnect within it is a hiccup and pages nobody); default 10',
  examples: [10],
});
const OfflineClearSeconds = Type.Number({
  minimum: 0,
  maximum: 86400,
  description: 'camera_offline alert: streaming again this long resolves it; default 5',
  examples: [5],
});

export const ApiCamera = Type.Object({
  id: Uuid,
  siteId: Uuid,
  name: Type.String(),
  sourceUrl: Type.String(),
  enabled: Type.Boolean(),
  detectFps: Type.Number(),
  modelPath: NullableString,
  inputSize: Type.Integer(),
  confidence: Type.Number(),
  offlineForSeconds: Type.Number(),
  offlineClearSeconds: Type.Number(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ApiCamera = Static<typeof ApiCamera>;

export const CameraCreateBody = Type.Object(
  {
    siteId: Uuid,
    name: Name,
    sourceUrl: SourceUrl,
    enabled: Type.Optional(Type.Boolean()),
    detectFps: Type.Optional(DetectFps),
    modelPath: Type.Optional(ModelPath),
    inputSize: Type.Optional(InputSize),
    confidence: Type.Optional(Confidence),
    offlineForSeconds: Type.Optional(OfflineForSeconds),
    offlineClearSeconds: Type.Optional(OfflineClearSeconds),
  },
  { additionalProperties: false },
);
export type CameraCreateBody = Static<typeof CameraCreateBody>;

/** The site is fixed: a camera that moves is deleted and added again at its new site. */
export const CameraUpdateBody = Type.Partial(Type.Omit(CameraCreateBody, ['siteId']), {
  additionalProperties: false,
  minProperties: 1,
});
export type CameraUpdateBody = Static<typeof CameraUpdateBody>;

export const CameraListQuery = Type.Object(
  { ...PageQuery.properties, siteId: Type.Optional(Uuid) },
  { additionalProperties: false },
);
export type CameraListQuery = Static<typeof CameraListQuery>;

export const CameraHealthState = Type.Union(
  [
    Type.Literal('starting'),
    Type.Literal('streaming'),
    Type.Literal('reconnecting'),
    Type.Literal('failed'),
    Type.Literal('stopped'),
  ],
  { description: 'stopped: disabled, or no camera node runs it right now' },
);
export type CameraHealthState = Static<typeof CameraHealthState>;

/** What the camera node running a camera's video reports about it. */
export const CameraHealth = Type.Object(
  {
    cameraId: Uuid,
    state: CameraHealthState,
    framesIn: Type.Integer({ minimum: 0, description: 'frames sampled from the source' }),
    framesDetected: Type.Integer({ minimum: 0 }),
    framesDropped: Type.Integer({ minimum: 0, description: 'dropped because inference fell behind' }),
    detectFps: Type.Number({ minimum: 0, description: 'frames detected per second, last 5 s' }),
    inferenceMs: Type.Object({
      p50: Type.Union([Type.Number(), Type.Null()]),
      p95: Type.Union([Type.Number(), Type.Null()]),
    }),
    lastFrameAt: NullableTimestamp,
    reconnects: Type.Integer({ minimum: 0 }),
    lastError: NullableString,
    node: NullableString,
  },
  { additionalProperties: false },
);
export type CameraHealth = Static<typeof CameraHealth>;

export const ApiZoneKind = Type.Union([Type.Literal('area'), Type.Literal('line'), Type.Literal('product')], {
  description:
    'area: entry/exit with dwell and occupancy; line: two points A→B, crossing to the right of A→B is in, back is out; product: area plus an interaction once dwell reaches dwellSeconds',
});
export type ApiZoneKind = Static<typeof ApiZoneKind>;

/**
 * Points in normalised image coordinates (0..1, y down). Their rules — at least three points
 * for an area (exactly two for a line), every point inside the image, no crossing edges — are
 * checked by the API with their own error codes (ZONE_TOO_FEW_POINTS, ZONE_OUTSIDE_IMAGE,
 * ZONE_SELF_INTERSECTING), not by the schema.
 */
export const ZonePoints = Type.Array(Type.Tuple([Type.Number(), Type.Number()]), {
  maxItems: 64,
  description: '[[x, y], …] normalised to the image (0..1, y down)',
  examples: [
    [
      [0.1, 0.5],
      [0.4, 0.5],
      [0.4, 0.9],
      [0.1, 0.9],
    ],
  ],
});
export type ZonePoints = Static<typeof ZonePoints>;

const Crowding = Type.Union([
  Type.Object(
    {
      occupancy: Type.Integer({ minimum: 1, maximum: 1000 }),
      seconds: Type.Number({ minimum: 0, maximum: 86400 }),
      severity: Type.Optional(Severity),
      clearOccupancy: Type.Optional(
        Type.Integer({
          minimum: 0,
          maximum: 999,
          description: 'clears at or below this occupancy (below `occupancy`; default occupancy − 1)',
        }),
      ),
      clearSeconds: Type.Optional(
        Type.Number({ minimum: 0, maximum: 86400, description: 'held this long (default 0)' }),
      ),
    },
    {
      additionalProperties: false,
      description:
        "a crowding alert (rule key `crowding`) when occupancy ≥ `occupancy` for `seconds`: pending, firing, recovering at or below `clearOccupancy` for `clearSeconds`, resolved — the alert engine's lifecycle, severity default warning",
    },
  ),
  Type.Null(),
]);
const InertiaFrames = Type.Union([Type.Integer({ minimum: 1, maximum: 50 }), Type.Null()], {
  description: 'frames a change of side must hold before it counts (default 2)',
});
const DwellSeconds = Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 3600 }), Type.Null()], {
  description: 'product zones: dwell that makes an interaction (default 3)',
});

export const ApiZone = Type.Object({
  id: Uuid,
  cameraId: Uuid,
  siteId: Uuid,
  name: Type.String(),
  kind: ApiZoneKind,
  points: ZonePoints,
  entrance: Type.Boolean({ description: "line zones: crossings are the site's footfall" }),
  inertiaFrames: InertiaFrames,
  dwellSeconds: DwellSeconds,
  crowding: Crowding,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ApiZone = Static<typeof ApiZone>;

export const ZoneCreateBody = Type.Object(
  {
    cameraId: Uuid,
    name: Name,
    kind: ApiZoneKind,
    points: ZonePoints,
    entrance: Type.Optional(Type.Boolean()),
    inertiaFrames: Type.Optional(InertiaFrames),
    dwellSeconds: Type.Optional(DwellSeconds),
    crowding: Type.Optional(Crowding),
  },
  { additionalProperties: false },
);
export type ZoneCreateBody = Static<typeof ZoneCreateBody>;

/** The camera is fixed; kind and points change together or alone (checked as a whole). */
export const ZoneUpdateBody = Type.Partial(Type.Omit(ZoneCreateBody, ['cameraId']), {
  additionalProperties: false,
  minProperties: 1,
});
export type ZoneUpdateBody = Static<typeof ZoneUpdateBody>;

export const ZoneListQuery = Type.Object(
  { ...PageQuery.properties, cameraId: Type.Optional(Uuid), siteId: Type.Optional(Uuid) },
  { additionalProperties: false },
);
export type ZoneListQuery = Static<typeof ZoneListQuery>;

/** Bounds of one zone replay: the frames it may read from DETECTIONS. */
export const ZONE_REPLAY_LIMITS = { frames: 50_000 } as const;

const ReplayRange = {
  from: Type.String({ format: 'date-time', description: 'first frame time replayed (inclusive)' }),
  to: Type.String({ format: 'date-time', description: 'last frame time replayed (inclusive)' }),
};

/** `GET /v1/zones/{id}/replay`: a stored zone over a range of its camera's retained detections. */
export const ZoneReplayQuery = Type.Object(ReplayRange, { additionalProperties: false });
export type ZoneReplayQuery = Static<typeof ZoneReplayQuery>;

/** `POST /v1/zones/replay`: a draft zone (not stored) on a camera, over a range. */
export const ZoneReplayBody = Type.Object(
  {
    cameraId: Uuid,
    zone: Type.Object(
      {
        kind: ApiZoneKind,
        points: ZonePoints,
        inertiaFrames: Type.Optional(InertiaFrames),
        dwellSeconds: Type.Optional(DwellSeconds),
        crowding: Type.Optional(Crowding),
      },
      { additionalProperties: false },
    ),
    ...ReplayRange,
  },
  { additionalProperties: false },
);
export type ZoneReplayBody = Static<typeof ZoneReplayBody>;

/** One event the zone would have produced: the fields of the live `people.*` event it matches. */
export const ZoneReplayEvent = Type.Object({
  type: PeopleEventType,
  ts: Type.Integer({ description: 'epoch ms: frame time of the event' }),
  trackId: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  dwellSeconds: Type.Union([Type.Number(), Type.Null()]),
  count: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  since: Type.Union([Type.Integer(), Type.Null()]),
});
export type ZoneReplayEvent = Static<typeof ZoneReplayEvent>;

export const ZoneReplayResult = Type.Object({
  cameraId: Uuid,
  /** The stored zone replayed; null for a draft. */
  zoneId: Type.Union([Uuid, Type.Null()]),
  from: Timestamp,
  to: Timestamp,
  frames: Type.Integer({ minimum: 0, description: 'frames of the range replayed' }),
  rejected: Type.Integer({ minimum: 0, description: 'retained messages of the camera that fail validation' }),
  tracks: Type.Integer({ minimum: 0, description: 'people the tracker confirmed over the range' }),
  events: Type.Array(ZoneReplayEvent),
  inside: Type.Array(Type.Object({ trackId: Type.Integer({ minimum: 0 }), since: Type.Integer() }), {
    description: 'people still inside the zone at the end of the range (visits not closed)',
  }),
});
export type ZoneReplayResult = Static<typeof ZoneReplayResult>;

/**
 * Bounds of an uploaded screenshot: the bytes (the route's body limit) and the pixels (checked
 * from the image header before anything is decoded, so a small file that inflates to gigabytes
 * is refused first). 8K video is the largest camera frame in use.
 */
export const SCREENSHOT_LIMITS = { bytes: 8 * 1024 * 1024, pixels: 7680 * 4320 } as const;

/** Media types a screenshot is sent as; the bytes are decoded to know what they are. */
export const SCREENSHOT_MEDIA_TYPES = ['image/jpeg', 'image/png', 'application/octet-stream'] as const;

/**
 * A binary request body (an upload) as OpenAPI describes it. The gateway's validator takes it
 * as bytes; the route checks them by decoding.
 */
export const BinaryBody = Type.Unsafe<Buffer>({
  type: 'string',
  format: 'binary',
  description: `a JPEG or PNG image, at most ${SCREENSHOT_LIMITS.bytes / (1024 * 1024)} MiB and ${SCREENSHOT_LIMITS.pixels} pixels`,
});

/** An image answer (snapshot, overlay); `x-vigil-frame-source` says where the picture came from. */
export const ImageResponse = Type.Unsafe<Buffer>({
  type: 'string',
  format: 'binary',
  description: 'image/jpeg or image/png',
});

export const FrameSource = Type.Union([Type.Literal('live'), Type.Literal('screenshot')], {
  description: "live: the camera node's latest decoded frame; screenshot: the uploaded one (no live frame)",
});
export type FrameSource = Static<typeof FrameSource>;

export const OverlayQuery = Type.Object(
  {
    format: Type.Optional(
      Type.Union([Type.Literal('jpeg'), Type.Literal('png')], {
        description: 'image format of the answer (default jpeg; png is lossless: thin lines stay exact)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type OverlayQuery = Static<typeof OverlayQuery>;

/** The stored screenshot of a camera (the image itself is the snapshot's answer). */
export const ApiScreenshot = Type.Object({
  cameraId: Uuid,
  format: Type.Union([Type.Literal('jpeg'), Type.Literal('png')]),
  width: Type.Integer({ minimum: 1 }),
  height: Type.Integer({ minimum: 1 }),
  bytes: Type.Integer({ minimum: 1, description: 'size as stored (re-encoded, metadata removed)' }),
  uploadedAt: Timestamp,
});
export type ApiScreenshot = Static<typeof ApiScreenshot>;

/**
 * What the overlay reads of a camera actor's live state (`ActorStateReply.state` of kind
 * `camera`): its tracker's tracks. The rest of the state passes unread.
 */
export const CameraTracksView = Type.Object({
  tracker: Type.Object({
    lastTs: Type.Union([Type.Number(), Type.Null()]),
    tracks: Type.Array(
      Type.Object({
        id: Type.Integer({ minimum: 0 }),
        status: Type.String(),
        box: Type.Object({ x1: Type.Number(), y1: Type.Number(), x2: Type.Number(), y2: Type.Number() }),
        lastSeen: Type.Number(),
      }),
    ),
  }),
});
export type CameraTracksView = Static<typeof CameraTracksView>;
