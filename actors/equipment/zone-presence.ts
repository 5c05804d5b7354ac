import {
  DeliverPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { Logger, PeopleEvent } from '../../schemas/mod.ts';
import type { Names } from '../../streams/mod.ts';
import type { Presence } from './equipment.types.ts';

/**
 * Who is at which camera zone, as far as this node has read the people events on EVENTS
 * (`evt.<tenant>.<site>.people.<camera>`): the cross-signal's live half. An equipment actor
 * whose unit watches a zone asks it, with every reading and wake, when someone was last seen
 * there; its `unattended_door` rules tell an attended door from an unattended one by it.
 *
 * At start it reads back `lookbackMs` of people events (someone who walked up before a restart
 * is still known) and says `complete` only once it has read up to the last event that existed
 * when it started, so a restarted node never judges a door on a gap in what it knows.
 */
export interface ZonePresenceDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  log: Logger;
}

export interface ZonePresenceOptions {
  /** How far back to read at start; longer than any door is expected to stand open. */
  lookbackMs?: number;
  /**
   * Someone who entered and was never seen leaving (a lost exit, a camera that died) stops
   * counting as present after this long, so one lost event cannot silence the rule for good.
   */
  maxStayMs?: number;
}

interface ZoneSeen {
  /** `<camera>/<track>` of people inside now → when they entered. */
  inside: Map<string, number>;
  lastSeenAt: number;
}

const PEOPLE_TYPES = new Set([
  'people.entry',
  'people.exit',
  'people.zone_entry',
  'people.zone_exit',
  'people.product_interaction',
  'people.occupancy',
  'people.crowding_started',
  'people.crowding_ended',
]);

function parse(msg: JsMsg): PeopleEvent | null {
  try {
    const e = msg.json<PeopleEvent>();
    const ok =
      e !== null &&
      typeof e === 'object' &&
      PEOPLE_TYPES.has(e.type) &&
      typeof e.tenantId === 'string' &&
      Number.isFinite(e.ts) &&
      typeof e.data?.zoneId === 'string' &&
      typeof e.data.cameraId === 'string';
    return ok ? e : null;
  } catch {
    return null;
  }
}

export class ZonePresence {
  readonly #d: ZonePresenceDeps;
  readonly #lookbackMs: number;
  readonly #maxStayMs: number;
  readonly #zones = new Map<string, ZoneSeen>();
  #target = 0;
  #complete = false;
  #messages: ConsumerMessages | null = null;
  #loop: Promise<void> | null = null;
  #applied = 0;
  #skipped = 0;
  #retry: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(deps: ZonePresenceDeps, opts: ZonePresenceOptions = {}) {
    this.#d = deps;
    this.#lookbackMs = opts.lookbackMs ?? 2 * 3_600_000;
    this.#maxStayMs = opts.maxStayMs ?? 30 * 60_000;
  }

  async start(): Promise<void> {
    if (this.#messages) return;
    const { js, jsm, names } = this.#d;
    const filter = names.events.kind('people');
    this.#target = await lastSeq(jsm, names.events.stream, filter);
    // An ordered consumer (in memory, no acks): what it missed while this node was down it
    // reads again from the lookback, so nothing durable is needed. Its creation reply says
    // how many events match (read from the cache: a consumer-info request costs nats-server
    // 2.9 a recount on every later delivery to a filtered consumer).
    const consumer = await js.consumers.get(names.events.stream, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(Date.now() - this.#lookbackMs).toISOString(),
    });
    if (this.#target === 0 || (await consumer.info(true)).num_pending === 0) this.#complete = true;
    const messages = await consumer.consume();
    this.#messages = messages;
    this.#loop = (async () => {
      for await (const msg of messages) {
        this.#apply(msg);
        if (!this.#complete && (msg.seq >= this.#target || msg.info.pending === 0)) {
          this.#complete = true;
          this.#d.log.info({ applied: this.#applied, zones: this.#zones.size }, 'zone presence caught up');
        }
      }
    })().catch((err: unknown) => this.#d.log.error({ err }, 'zone presence stopped reading people events'));
  }

  /**
   * Start reading, and keep trying while it fails (EVENTS unreachable, no consumer allowed): the
   * presence index serves one rule kind, and the rest of the alert engine must not wait for it.
   * Until it has read up, `unattended_door` rules hold back (presence is not `complete`).
   */
  follow(retryMs = 5_000): void {
    this.#stopped = false;
    const attempt = () => {
      this.#retry = null;
      this.start().catch((err: unknown) => {
        this.#d.log.warn({ err, retryMs }, 'zone presence cannot read people events yet; retrying');
        if (!this.#stopped) this.#retry = setTimeout(attempt, retryMs).unref();
      });
    };
    attempt();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    await this.#messages?.close().catch(() => undefined);
    await this.#loop;
    this.#messages = null;
  }

  /** When someone was last seen in the tenant's zone (`now` while someone is there). */
  lastSeen(tenantId: string, zoneId: string, now: number): Presence {
    const z = this.#zones.get(`${tenantId}/${zoneId}`);
    if (!z) return { lastSeenAt: null, complete: this.#complete };
    for (const [track, since] of z.inside) if (now - since > this.#maxStayMs) z.inside.delete(track);
    return {
      lastSeenAt: z.inside.size > 0 ? Math.max(now, z.lastSeenAt) : z.lastSeenAt,
      complete: this.#complete,
    };
  }

  health(): { complete: boolean; zones: number; applied: number; skipped: number } {
    return {
      complete: this.#complete,
      zones: this.#zones.size,
      applied: this.#applied,
      skipped: this.#skipped,
    };
  }

  #apply(msg: JsMsg): void {
    const e = parse(msg);
    if (!e) {
      this.#skipped++;
      return;
    }
    this.#applied++;
    const key = `${e.tenantId}/${e.data.zoneId}`;
    let z = this.#zones.get(key);
    if (!z) this.#zones.set(key, (z = { inside: new Map(), lastSeenAt: e.ts }));
    z.lastSeenAt = Math.max(z.lastSeenAt, e.ts);
    const track = e.data.trackId === null ? null : `${e.data.cameraId}/${e.data.trackId}`;
    if (e.type === 'people.zone_entry' && track !== null) z.inside.set(track, e.ts);
    else if (e.type === 'people.zone_exit' && track !== null) z.inside.delete(track);
    // An empty zone is empty whatever exits were lost.
    else if (e.type === 'people.occupancy' && e.data.count === 0) z.inside.clear();
    if (this.#applied % 10_000 === 0) this.#prune(e.ts);
  }

  /** Zones nobody has been seen in for the lookback are forgotten (memory stays bounded). */
  #prune(now: number): void {
    for (const [key, z] of this.#zones)
      if (z.inside.size === 0 && now - z.lastSeenAt > this.#lookbackMs) this.#zones.delete(key);
  }
}

async function lastSeq(jsm: JetStreamManager, stream: string, filter: string): Promise<number> {
  try {
    const last = await jsm.streams.getMessage(stream, { last_by_subj: filter });
    return last?.seq ?? 0;
  } catch (err) {
    if (/no message found|not found/i.test(String((err as Error).message))) return 0;
    throw err;
  }
}
