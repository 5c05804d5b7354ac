import type { ErrorCode } from '../../schemas/mod.ts';
import type { Decoded, JsMsg } from '../../streams/mod.ts';

/**
 * What the kernel needs to know about one kind of actor (equipment, camera, …). The kernel
 * owns the I/O common to every kind — partition ownership, the ordered consumer, snapshots,
 * checkpoints, timers, control routing — and calls these hooks for everything kind-specific.
 *
 * Type parameters: `Ref` identifies an actor completely (what the context loader needs, e.g.
 * tenant + unit), `Msg` is a decoded stream message, `State` the decider's state, `Command` and
 * `Event` the decider's vocabulary, `Ctx` what the service loads around the actor (metadata,
 * rules; never snapshotted unless the codec puts it there).
 */
export interface ActorKind<Ref, Msg, State, Command, Event, Ctx> {
  /** Names the kind's KV keys (`cp.<name>.<p>`, `lease.<name>.<p>`), durables and logs. */
  readonly name: string;
  /** The stream this kind consumes, partitioned by subject. */
  readonly source: ActorSource;
  /** Log field that names an actor's key (`equipmentId`); default `actorKey`. */
  readonly logKey?: string;
  decode(msg: JsMsg): Decoded<Msg>;
  refOf(msg: Msg): Ref;
  /** A KV-safe token, unique within the kind. */
  keyOf(ref: Ref): string;
  /** KV key of an actor's snapshot; default `<name>.<key>`. */
  snapshotKey?(key: string): string;
  readonly codec: SnapshotCodec<Ref, State, Ctx>;
  initialState(ref: Ref): State;
  /**
   * The actor's context, loaded when the actor starts and again every `contextTtlMs`
   * (`previous` is the current one, null at start). A refusal dead-letters the message that
   * asked for the actor, and forgets the actor.
   */
  loadContext(ref: Ref, now: number, previous: Ctx | null): Promise<Loaded<Ctx>>;
  /** Reload the context this often while the actor receives messages; default never. */
  readonly contextTtlMs?: number;
  /**
   * Commands that bring a freshly (re)loaded actor in line with the world (what people did
   * while nobody watched it); applied in order, each on the state the previous one left.
   */
  reconcile?(actor: ActorView<Ref, State, Ctx>, now: number): Promise<Command[]>;
  /** The command a stream message means to this actor. */
  toCommand(msg: Msg, actor: ActorView<Ref, State, Ctx>, now: number): Command | Promise<Command>;
  /** The pure decider: the events a command causes and the state they lead to. */
  handle(state: State, command: Command, now: number): { state: State; events: Event[] };
  /** Make the events that leave the actor durable (publish); resolves before the state moves on. */
  emit(events: Event[], actor: ActorView<Ref, State, Ctx>): Promise<void>;
  /**
   * Server-time timer: the earliest epoch ms this state wants to be woken at, or null. Derived
   * from the state alone, so it survives restart and takeover with the snapshot.
   */
  wakeAt?(state: State): number | null;
  /** The command a due wake-up means (null: nothing to do); `now` is the server time. */
  onWake?(actor: ActorView<Ref, State, Ctx>, now: number): Command | null | Promise<Command | null>;
}

export interface ActorSource {
  stream: string;
  /** Filter subject of partition `p`. */
  partition(p: number): string;
  /** Rejected messages go to `[ns.]dlq.<dlqSource>`. */
  dlqSource: string;
}

export type Loaded<Ctx> = { ok: true; context: Ctx } | { ok: false; code: ErrorCode; reason: string };

/**
 * Snapshot format of a kind. The kernel stores `{ v, seq, at, ...encode(actor) }` as JSON;
 * `decode` receives that object (any version the kind ever wrote: upgrade old ones there) and
 * returns the actor, or why it cannot be used.
 */
export interface SnapshotCodec<Ref, State, Ctx> {
  /** Version written now. */
  readonly version: number;
  encode(actor: ActorView<Ref, State, Ctx>): Record<string, unknown>;
  decode(body: SnapshotEnvelope, key: string): { ref: Ref; state: State } | string;
}

export interface SnapshotEnvelope extends Record<string, unknown> {
  v: unknown;
  /** Stream sequence of the last message applied. */
  seq: number;
}

/** An actor as hooks and control functions see it. */
export interface ActorView<Ref, State, Ctx> {
  readonly key: string;
  readonly ref: Ref;
  readonly state: State;
  /** Stream sequence of the last message applied to `state`. */
  readonly seq: number;
  readonly partition: number;
  /** Replaceable by a control function (e.g. reloaded maintenance windows). */
  context: Ctx;
}

/** One actor's live state, for queries. */
export interface ActorSnapshotView<State> {
  key: string;
  partition: number;
  seq: number;
  state: State;
  wakeAt: number | null;
}
