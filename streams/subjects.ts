/**
 * Subject, stream and bucket names in one place. `ns` is a prefix (empty in production) so
 * several isolated deployments — every integration test, for one — share a NATS server.
 *
 *   [ns.]tele.<tenant>.<equipment>            devices publish here
 *   [ns.]tele.<tenant>.<equipment>.<p>        what the stream stores: the server's subject
 *                                             mapping appends the partition (ops/conf/nats)
 *   [ns.]det.<tenant>.<camera>[.<p>]          per-frame people detections (partitioned like tele)
 *   [ns.]evt.<tenant>.<site>.<kind>.<id>      actor events
 *   [ns.]live.<tenant>.<site>.<kind>.<id>     live notices (NATS core, not stored): state changes
 *   [ns.]dlq.<source>                         rejected input, with the reason in headers
 *   [ns.]ctl.<topic>                          control messages (NATS core, not stored)
 *   [ns.]camera.<camera>.health               request/reply: the video health of one camera,
 *                                             answered by the node running its pipeline
 *   [ns.]actor.<kind>.<p>.state               request/reply: one actor's live state, answered
 *                                             by the node serving partition p
 *   [ns.]node.<node>.alive                    request/reply: answered by an actor node while its
 *                                             NATS connection lives (streams/liveness.ts)
 */
export interface Names {
  ns: string;
  telemetry: {
    stream: string;
    /** Subject a device publishes to (no partition token). */
    publish(tenantId: string, equipmentId: string): string;
    /** Every stored telemetry subject. */
    all: string;
    /** Filter for one partition. */
    partition(p: number): string;
    /** Filter for one tenant (any partition). */
    tenant(tenantId: string): string;
  };
  detections: {
    stream: string;
    /** Subject a detector or edge device publishes to (no partition token). */
    publish(tenantId: string, cameraId: string): string;
    all: string;
    partition(p: number): string;
    /** One camera's stored frames (any partition). */
    camera(tenantId: string, cameraId: string): string;
  };
  events: {
    stream: string;
    subject(tenantId: string, siteId: string, kind: string, id: string): string;
    all: string;
    tenant(tenantId: string): string;
    /** Filter for one event kind (`alert`, ...) across tenants and sites. */
    kind(kind: string): string;
    /** The kind token of an event subject (`alert`, ...). */
    kindOf(subject: string): string | undefined;
  };
  /** Live notices for dashboards (NATS core, not stored), shaped like events' subjects. */
  live: {
    subject(tenantId: string, siteId: string, kind: string, id: string): string;
    tenant(tenantId: string): string;
  };
  dlq: { stream: string; subject(source: string): string; all: string };
  kv: { snapshots: string };
  ctl: {
    /** Rules of a tenant (or the global ones) changed: payload `{ tenantId: string | null }`. */
    rulesChanged: string;
    /** An alert was closed outside its actor (acknowledged latch, manual resolve). */
    alertClosed: string;
    /** An open alert was acknowledged: a latched one then resolves when its condition clears. */
    alertAcknowledged: string;
    /** A unit's maintenance records changed: payload `{ tenantId, equipmentId }`. */
    maintenanceChanged: string;
    /** A unit was changed, decommissioned or got a new API key: payload `{ tenantId, equipmentId, action }`. */
    equipmentChanged: string;
    /** A tenant was suspended: payload `{ tenantId, action }`. */
    tenantChanged: string;
    /** A camera was created, changed, deleted, restarted or its zones changed: payload `{ tenantId, cameraId, action }`. */
    cameraChanged: string;
    /** Access tokens were revoked: payload `{ scope: 'jti' | 'fam' | 'user' | 'tenant', id }`. */
    authRevoked: string;
  };
  cameras: {
    /** Request/reply subject answered by the node running the camera's video pipeline. */
    health(cameraId: string): string;
    /** Request/reply: the latest decoded frame as JPEG, from that node (streams/camera-frames.ts). */
    frame(cameraId: string): string;
    /** Every request subject of one camera: the node running it subscribes once. */
    requests(cameraId: string): string;
  };
  actors: {
    /** Request/reply subject answered by the node serving partition `p` of actor kind `kind`. */
    stateQuery(kind: string, p: number): string;
  };
  nodes: {
    /** Request/reply subject an actor node answers for as long as its NATS connection lives. */
    alive(nodeId: string): string;
  };
  consumer(name: string): string;
}

export interface ParsedTelemetrySubject {
  tenantId: string;
  equipmentId: string;
  partition: number | null;
}

export function names(ns = ''): Names {
  const p = ns ? `${ns}.` : '';
  const P = ns ? `${ns.toUpperCase()}_` : '';
  return {
    ns,
    telemetry: {
      stream: `${P}TELEMETRY`,
      publish: (t, e) => `${p}tele.${t}.${e}`,
      all: `${p}tele.*.*.*`,
      partition: (n) => `${p}tele.*.*.${n}`,
      tenant: (t) => `${p}tele.${t}.*.*`,
    },
    detections: {
      stream: `${P}DETECTIONS`,
      publish: (t, c) => `${p}det.${t}.${c}`,
      all: `${p}det.*.*.*`,
      partition: (n) => `${p}det.*.*.${n}`,
      camera: (t, c) => `${p}det.${t}.${c}.*`,
    },
    events: {
      stream: `${P}EVENTS`,
      subject: (t, s, k, id) => `${p}evt.${t}.${s}.${k}.${id}`,
      all: `${p}evt.>`,
      tenant: (t) => `${p}evt.${t}.>`,
      kind: (k) => `${p}evt.*.*.${k}.*`,
      kindOf: (subject) => subject.slice(p.length).split('.', 4)[3],
    },
    live: {
      subject: (t, s, k, id) => `${p}live.${t}.${s}.${k}.${id}`,
      tenant: (t) => `${p}live.${t}.>`,
    },
    dlq: { stream: `${P}DLQ`, subject: (source) => `${p}dlq.${source}`, all: `${p}dlq.>` },
    kv: { snapshots: `${P}actor_snapshots` },
    ctl: {
      rulesChanged: `${p}ctl.rules.changed`,
      alertClosed: `${p}ctl.alert.closed`,
      alertAcknowledged: `${p}ctl.alert.acknowledged`,
      maintenanceChanged: `${p}ctl.maintenance.changed`,
      equipmentChanged: `${p}ctl.equipment.changed`,
      tenantChanged: `${p}ctl.tenant.changed`,
      cameraChanged: `${p}ctl.camera.changed`,
      authRevoked: `${p}ctl.auth.revoked`,
    },
    cameras: {
      health: (c) => `${p}camera.${c}.health`,
      frame: (c) => `${p}camera.${c}.frame`,
      requests: (c) => `${p}camera.${c}.*`,
    },
    actors: { stateQuery: (kind, n) => `${p}actor.${kind}.${n}.state` },
    nodes: { alive: (id) => `${p}node.${nodeToken(id)}.alive` },
    consumer: (name) => `${P}${name}`,
  };
}

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** Subject tokens must be plain ids: no dots, wildcards or whitespace can sneak in. */
export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/**
 * A node id as one subject token. Ids are the operator's (`VIGIL_NODE_ID`) or Moleculer's
 * (`<hostname>-<pid>`, where a hostname may hold dots): a plain id is kept as it is, anything
 * else becomes `~` + its base64url, which no plain id can equal.
 */
function nodeToken(id: string): string {
  return isToken(id) ? id : `~${Buffer.from(id, 'utf8').toString('base64url')}`;
}

/** Parse `[ns.]tele.<tenant>.<equipment>[.<p>]`; null when the shape is wrong. */
export function parseTelemetrySubject(subject: string, ns = ''): ParsedTelemetrySubject | null {
  const parts = subject.split('.');
  if (ns) {
    if (parts.shift() !== ns) return null;
  }
  if (parts[0] !== 'tele' || parts.length < 3 || parts.length > 4) return null;
  const [, tenantId, equipmentId, p] = parts;
  if (!tenantId || !equipmentId || !isToken(tenantId) || !isToken(equipmentId)) return null;
  const partition = p === undefined ? null : Number(p);
  if (partition !== null && !Number.isInteger(partition)) return null;
  return { tenantId, equipmentId, partition };
}
