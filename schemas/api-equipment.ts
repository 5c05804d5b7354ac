import { Type, type Static } from '@sinclair/typebox';
import {
  NullableNumber,
  NullableString,
  NullableTimestamp,
  NullableUuid,
  PageQuery,
  Timestamp,
  Uuid,
} from './http.ts';

/** HTTP contract of equipment (with device API keys) and maintenance records (SPEC §5). */

const Name = Type.String({ minLength: 1, maxLength: 200, examples: ['Freezer 3'] });

export const EquipmentKind = Type.Union([
  Type.Literal('freezer'),
  Type.Literal('chiller'),
  Type.Literal('cold_room'),
  Type.Literal('display_case'),
  Type.Literal('other'),
]);
export type EquipmentKind = Static<typeof EquipmentKind>;

const Serial = Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()]);
const Setpoint = Type.Union([Type.Number({ minimum: -100, maximum: 100, description: '°C' }), Type.Null()]);

/** The camera zone in front of the unit (a zone of the same site), or null. */
const WatchZoneId = Type.Union([Uuid, Type.Null()], {
  description:
    'camera zone in front of the unit (same site): its door-open episodes are labelled attended or unattended by the people seen there',
});

export const ApiEquipment = Type.Object({
  id: Uuid,
  siteId: Uuid,
  name: Type.String(),
  serial: NullableString,
  kind: EquipmentKind,
  setpoint: NullableNumber,
  watchZoneId: WatchZoneId,
  apiKeyPrefix: Type.Union([Type.String(), Type.Null()], {
    description: 'identifies the active key; the key itself is never shown again',
  }),
  decommissionedAt: NullableTimestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ApiEquipment = Static<typeof ApiEquipment>;

export const EquipmentCreateBody = Type.Object(
  {
    siteId: Uuid,
    name: Name,
    serial: Type.Optional(Serial),
    kind: Type.Optional(EquipmentKind),
    setpoint: Type.Optional(Setpoint),
    watchZoneId: Type.Optional(WatchZoneId),
  },
  { additionalProperties: false },
);
export type EquipmentCreateBody = Static<typeof EquipmentCreateBody>;

/** The site is fixed: a unit that moves is decommissioned and registered again at its new site. */
export const EquipmentUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    serial: Type.Optional(Serial),
    kind: Type.Optional(EquipmentKind),
    setpoint: Type.Optional(Setpoint),
    watchZoneId: Type.Optional(WatchZoneId),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type EquipmentUpdateBody = Static<typeof EquipmentUpdateBody>;

export const EquipmentListQuery = Type.Object(
  {
    ...PageQuery.properties,
    siteId: Type.Optional(Uuid),
    kind: Type.Optional(EquipmentKind),
    decommissioned: Type.Optional(
      Type.Boolean({ description: 'true: only decommissioned; false: only in service' }),
    ),
  },
  { additionalProperties: false },
);
export type EquipmentListQuery = Static<typeof EquipmentListQuery>;

export const ApiKeyIssued = Type.Object({
  apiKey: Type.String({ description: 'vk_<prefix>_<secret>; shown once, stored only as a hash' }),
  prefix: Type.String(),
  createdAt: Timestamp,
});
export type ApiKeyIssued = Static<typeof ApiKeyIssued>;

export const EquipmentCreated = Type.Object({ equipment: ApiEquipment, apiKey: ApiKeyIssued });
export type EquipmentCreated = Static<typeof EquipmentCreated>;

// ---------------------------------------------------------------- maintenance

export const MaintenanceKind = Type.Union(
  [
    'inspection',
    'preventive',
    'repair',
    'cleaning',
    'defrost',
    'calibration',
    'refrigerant',
    'part_replacement',
    'other',
  ].map((k) => Type.Literal(k)),
);

const Description = Type.String({ maxLength: 4000 });
const Technician = Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()]);

/** Why a record could not be verified (yet): what the check lacked. */
export const VERIFY_BLOCKERS = ['no_window', 'no_watched_zone', 'no_setpoint', 'recovery_pending'] as const;

export const MaintenanceVerification = Type.Object({
  verified: Type.Boolean(),
  /** Someone was seen in the unit's watched camera zone during the window; null without a zone. */
  personPresent: Type.Union([Type.Boolean(), Type.Null()]),
  /** First reading back inside the band after the window, within `recoveryMinutes`. */
  recoveredAt: NullableTimestamp,
  band: Type.Union([Type.Object({ low: Type.Number(), high: Type.Number() }), Type.Null()]),
  recoveryMinutes: Type.Integer(),
  /** What the check lacked, or null when it could decide. */
  blocker: Type.Union([...VERIFY_BLOCKERS.map((b) => Type.Literal(b)), Type.Null()]),
  checkedAt: Timestamp,
});
export type MaintenanceVerification = Static<typeof MaintenanceVerification>;

export const MaintenanceVerifyBody = Type.Object(
  {
    /** The temperature must be back within this many minutes after the window; default 30. */
    recoveryMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 240 })),
    /** Half-width of the setpoint band, °C; default 2. */
    bandC: Type.Optional(Type.Number({ minimum: 0.1, maximum: 20 })),
  },
  { additionalProperties: false },
);
export type MaintenanceVerifyBody = Static<typeof MaintenanceVerifyBody>;

export const ApiMaintenance = Type.Object({
  id: Uuid,
  equipmentId: Uuid,
  siteId: Uuid,
  kind: Type.String(),
  description: Type.String(),
  technician: NullableString,
  performedAt: Timestamp,
  nextDue: NullableTimestamp,
  windowStart: NullableTimestamp,
  windowEnd: NullableTimestamp,
  createdBy: NullableUuid,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  /** When the last check found the work verified; null otherwise. */
  verifiedAt: NullableTimestamp,
  /** The last check (POST /v1/maintenance/{id}/verify), or null if never checked since the window was set. */
  verification: Type.Union([MaintenanceVerification, Type.Null()]),
});
export type ApiMaintenance = Static<typeof ApiMaintenance>;

export const MaintenanceCreateBody = Type.Object(
  {
    equipmentId: Uuid,
    kind: MaintenanceKind,
    description: Type.Optional(Description),
    technician: Type.Optional(Technician),
    performedAt: Timestamp,
    nextDue: Type.Optional(NullableTimestamp),
    windowStart: Type.Optional(NullableTimestamp),
    windowEnd: Type.Optional(NullableTimestamp),
  },
  { additionalProperties: false },
);
export type MaintenanceCreateBody = Static<typeof MaintenanceCreateBody>;

export const MaintenanceUpdateBody = Type.Object(
  {
    kind: Type.Optional(MaintenanceKind),
    description: Type.Optional(Description),
    technician: Type.Optional(Technician),
    performedAt: Type.Optional(Timestamp),
    nextDue: Type.Optional(NullableTimestamp),
    windowStart: Type.Optional(NullableTimestamp),
    windowEnd: Type.Optional(NullableTimestamp),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type MaintenanceUpdateBody = Static<typeof MaintenanceUpdateBody>;

export const MaintenanceListQuery = Type.Object(
  {
    ...PageQuery.properties,
    equipmentId: Type.Optional(Uuid),
    siteId: Type.Optional(Uuid),
    kind: Type.Optional(MaintenanceKind),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'performed at or after' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'performed before' })),
    dueBefore: Type.Optional(Type.String({ format: 'date-time', description: 'next service due before' })),
  },
  { additionalProperties: false },
);
export type MaintenanceListQuery = Static<typeof MaintenanceListQuery>;
