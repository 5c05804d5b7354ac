import type { Msg, Subscription } from '@nats-io/transport-node';
import type { CameraEvent, CameraHealth, Logger, Pool } from '../../schemas/mod.ts';
import {
  publishDetections,
  publishEvent,
  respondFrame,
  subscribeControl,
  type JetStreamClient,
  type Names,
  type NatsConnection,
} from '../../streams/mod.ts';
import {
  CameraVideo,
  DetectorPool,
  ModelError,
  type DetectionsFrame,
  type SessionCount,
  type VideoState,
} from '../video/mod.ts';
import {
  handle as cameraStatus,
  initialCameraStatus,
  wakeAt,
  withoutWaiting,
  type CameraStatus,
  type CameraStatusCommand,
  type OfflinePolicy,
} from './camera-status.decider.ts';

/**
 * The video side of the cameras this node runs: one CameraVideo (decode → sample → letterbox →
 * detect) per enabled camera it owns, all sharing one detector pool, each publishing its frames'
 * detections to `det.<tenant>.<camera>` for the camera actors. Cameras come from PostgreSQL
 * (worker role) at start and on `ctl.camera.changed` (created, updated, restart: stop and start
 * again with the stored settings; deleted: stop). The node answers health and frame requests
 * (`names.cameras.health(id)`, `names.cameras.frame(id)`: one subscription per camera) only for
 * the cameras it runs, so the gateway reaches the right node without knowing which.
 */
export interface CameraPipelinesDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  names: Names;
  /** `vigil_worker` pool. */
  pool: Pool;
  log: Logger;
}

export interface CameraPipelinesOptions {
  nodeId: string;
  /** Whether this node should run a camera (e.g. rendezvous hashing over the camera nodes). */
  owns(cameraId: string, tenantId: string): boolean;
  /**
   * Run only these tenants' cameras (a video node placed in one customer's store, next to its
   * cameras); default every tenant's.
   */
  tenants?: readonly string[];
  /** Model for cameras without their own `model_path`; null: such cameras fail with the reason. */
  defaultModel: string | null;
  /** Inference workers (default: the machine's cores). */
  workers?: number;
  readTimeoutMs?: number;
  backoffBaseMs?: number;
}

interface CameraRow {
  id: string;
  tenant_id: string;
  site_id: string;
  source_url: string;
  enabled: boolean;
  detect_fps: number;
  model_path: string | null;
  input_size: number;
  confidence: number;
  offline_for_seconds: number;
  offline_clear_seconds: number;
}

const policyOf = (row: CameraRow): OfflinePolicy => ({
  forMs: row.offline_for_seconds * 1000,
  clearMs: row.offline_clear_seconds * 1000,
});

interface Running {
  row: CameraRow;
  video: CameraVideo;
  /** The camera's request subjects (health, frame). */
  requests: Subscription;
  published: number;
}

/** Room left in a NATS message for the frame answer's headers. */
const HEADER_ROOM = 4096;

const SELECT = `SELECT id, tenant_id, site_id, source_url, enabled, detect_fps, model_path, input_size, confidence,
       offline_for_seconds, offline_clear_seconds
  FROM cameras`;

/** What the node holds for its cameras: all zero once none runs (checked after a delete). */
export interface CameraPipelinesResources {
  cameras: number;
  /** Inference worker threads (the pool exists only while a camera runs). */
  detectorWorkers: number;
  /** Models loaded in the pool. */
  models: number;
  /** Open node-av sessions (demuxer, decoder, filter) of this node's cameras. */
  videoSessions: number;
  /** Request subscriptions (health and frames: one per camera). */
  subscriptions: number;
}

export class CameraPipelines {
  readonly #deps: CameraPipelinesDeps;
  readonly #opts: CameraPipelinesOptions;
  readonly #running = new Map<string, Running>();
  /** Loaded models by path: the input size the model was built for (or why it cannot load). */
  readonly #models = new Map<string, Promise<{ inputSize: number } | { error: string }>>();
  /** One change at a time per camera: a restart must not overlap a delete. */
  readonly #chains = new Map<string, Promise<void>>();
  readonly #sessions: SessionCount = { open: 0 };
  /** Online or not, per camera: outlives a restart of its pipeline (camera-status.decider.ts). */
  readonly #status = new Map<string, CameraStatus>();
  /** Status events go out one after the other per camera, in decision order. */
  readonly #announcing = new Map<string, Promise<void>>();
  /** The timer of a status change waiting out its delay (grace or clear delay), per camera. */
  readonly #delays = new Map<string, NodeJS.Timeout>();
  /** Pipelines stopped but not yet closed (their sessions and in-flight frames finishing). */
  #closing = 0;
  /** Created for the first camera and closed after the last: a node without cameras holds no threads. */
  #detector: DetectorPool | null = null;
  #control: Subscription | null = null;
  #stopping = false;

  constructor(deps: CameraPipelinesDeps, opts: CameraPipelinesOptions) {
    this.#deps = deps;
    this.#opts = opts;
  }

  async start(): Promise<void> {
    this.#control = subscribeControl(
      this.#deps.nc,
      this.#deps.names,
      'cameraChanged',
      this.#deps.log,
      (b) => {
        // Zones are the camera actor's (camera.host.ts), not the video's: restarting the pipeline
        // for them cost seconds of frames on every zone edit.
        if (!this.#inScope(b.tenantId) || b.action === 'zones') return undefined;
        return this.#serially(b.cameraId, () =>
          b.action === 'deleted' ? this.#forget(b.cameraId) : this.#reload(b.cameraId),
        );
      },
    );
    const rows = await this.#enabled();
    await Promise.all(rows.map((r) => this.#serially(r.id, () => this.#startOne(r))));
  }

  /** Re-check ownership (membership changed): start what is now ours, stop what no longer is. */
  async rebalance(): Promise<void> {
    for (const [id, r] of [...this.#running])
      if (!this.#opts.owns(id, r.row.tenant_id))
        await this.#serially(id, async () => {
          await this.#stopOne(id);
          this.#stopWaiting(id);
        });
    for (const r of await this.#enabled())
      if (!this.#running.has(r.id)) await this.#serially(r.id, () => this.#startOne(r));
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#delays.values()) clearTimeout(t);
    this.#delays.clear();
    this.#control?.unsubscribe();
    this.#control = null;
    await Promise.all([...this.#chains.values()]);
    await Promise.all([...this.#running.keys()].map((id) => this.#stopOne(id)));
    await this.#closeDetector();
    await Promise.all([...this.#announcing.values()]);
  }

  resources(): CameraPipelinesResources {
    return {
      cameras: this.#running.size + this.#closing,
      detectorWorkers: this.#detector?.stats().workers ?? 0,
      models: this.#models.size,
      videoSessions: this.#sessions.open,
      subscriptions: [...this.#running.values()].filter((r) => !r.requests.isClosed()).length,
    };
  }

  /** Cameras running here, by id (a stopping one no longer counts; see resources()). */
  cameras(): string[] {
    return [...this.#running.keys()];
  }

  health(cameraId: string): CameraHealth | null {
    const r = this.#running.get(cameraId);
    if (!r) return null;
    return { cameraId, ...r.video.health(), node: this.#opts.nodeId };
  }

  #serially(cameraId: string, fn: () => Promise<void>): Promise<void> {
    const next = (this.#chains.get(cameraId) ?? Promise.resolve())
      .then(fn)
      .catch((err: unknown) => this.#deps.log.error({ err, cameraId }, 'camera pipeline change failed'));
    this.#chains.set(cameraId, next);
    void next.then(() => {
      if (this.#chains.get(cameraId) === next) this.#chains.delete(cameraId);
    });
    return next;
  }

  #inScope(tenantId: string): boolean {
    return !this.#opts.tenants || this.#opts.tenants.includes(tenantId);
  }

  async #enabled(): Promise<CameraRow[]> {
    const { rows } = await this.#deps.pool.query<CameraRow>(
      `${SELECT} WHERE enabled AND ($1::uuid[] IS NULL OR tenant_id = ANY($1::uuid[]))`,
      [this.#opts.tenants ?? null],
    );
    return rows;
  }

  #pool(): DetectorPool {
    this.#detector ??= new DetectorPool(this.#opts.workers === undefined ? {} : { size: this.#opts.workers });
    return this.#detector;
  }

  async #closeDetector(): Promise<void> {
    const detector = this.#detector;
    this.#detector = null;
    this.#models.clear();
    await detector?.close();
  }

  async #forget(cameraId: string): Promise<void> {
    await this.#stopOne(cameraId);
    this.#stopWaiting(cameraId);
    this.#status.delete(cameraId);
  }

  async #reload(cameraId: string): Promise<void> {
    await this.#stopOne(cameraId);
    const { rows } = await this.#deps.pool.query<CameraRow>(`${SELECT} WHERE id = $1`, [cameraId]);
    const row = rows[0];
    if (row?.enabled && this.#inScope(row.tenant_id)) await this.#startOne(row);
    // Disabled (or no longer this node's): stopped on purpose, not silent.
    if (!this.#running.has(cameraId)) this.#stopWaiting(cameraId);
  }

  /** Drops a status change the camera was waiting out, with its timer. */
  #stopWaiting(cameraId: string): void {
    clearTimeout(this.#delays.get(cameraId));
    this.#delays.delete(cameraId);
    const status = this.#status.get(cameraId);
    if (status?.waiting) this.#status.set(cameraId, withoutWaiting(status));
  }

  /** (Re)arms the camera's timer for the change it waits out, if any (server time). */
  #arm(row: CameraRow, log: Logger): void {
    clearTimeout(this.#delays.get(row.id));
    this.#delays.delete(row.id);
    const status = this.#status.get(row.id);
    const due = status ? wakeAt(status, policyOf(row)) : null;
    if (due === null || this.#stopping) return;
    const timer = setTimeout(
      () => {
        if (this.#delays.get(row.id) !== timer) return;
        this.#delays.delete(row.id);
        void this.#serially(row.id, async () => {
          // The camera runs here with its current settings, or it no longer waits for anything.
          const current = this.#running.get(row.id)?.row;
          if (current)
            this.#decide(current, { type: 'DelayElapsed', data: { cameraId: row.id, at: Date.now() } }, log);
          else this.#stopWaiting(row.id);
        });
      },
      Math.max(0, due - Date.now()),
    );
    timer.unref();
    this.#delays.set(row.id, timer);
  }

  #model(path: string): Promise<{ inputSize: number } | { error: string }> {
    let loaded = this.#models.get(path);
    if (!loaded) {
      loaded = this.#pool()
        .load(path, path)
        .then(
          (info) => ({ inputSize: info.inputSize }),
          (err: unknown) => {
            // A file fixed later is read again on the next start.
            this.#models.delete(path);
            return { error: err instanceof ModelError ? err.message : String(err) };
          },
        );
      this.#models.set(path, loaded);
    }
    return loaded;
  }

  async #startOne(row: CameraRow): Promise<void> {
    if (this.#stopping || !this.#opts.owns(row.id, row.tenant_id) || this.#running.has(row.id)) return;
    const log = this.#deps.log.child({ cameraId: row.id, tenantId: row.tenant_id });
    const modelPath = row.model_path ?? this.#opts.defaultModel;
    const running: Running = {
      row,
      published: 0,
      requests: this.#deps.nc.subscribe(this.#deps.names.cameras.requests(row.id), {
        callback: (_err, msg) => this.#answer(row, msg, log),
      }),
      video: new CameraVideo({
        cameraId: row.id,
        url: row.source_url,
        fps: row.detect_fps,
        inputSize: row.input_size,
        confidence: row.confidence,
        modelKey: modelPath ?? '',
        pool: this.#pool(),
        sessions: this.#sessions,
        pictureMaxBytes: (this.#deps.nc.info?.max_payload ?? 1024 * 1024) - HEADER_ROOM,
        readTimeoutMs: this.#opts.readTimeoutMs ?? 5000,
        ...(this.#opts.backoffBaseMs === undefined ? {} : { backoffBaseMs: this.#opts.backoffBaseMs }),
        onFrame: (frame) => this.#publish(running, frame, log),
        onState: (state, reason) => {
          log.info({ state, reason }, 'camera video state');
          this.#statusChanged(row, state, reason, log);
        },
      }),
    };
    this.#running.set(row.id, running);
    if (!modelPath) {
      running.video.fail('no model: the camera has no model path and the node no default model');
      return;
    }
    const model = await this.#model(modelPath);
    if ('error' in model) {
      running.video.fail(`model ${modelPath}: ${model.error}`);
      return;
    }
    if (model.inputSize !== row.input_size) {
      running.video.fail(
        `model ${modelPath} takes ${model.inputSize}×${model.inputSize} input; the camera is set to ${row.input_size}`,
      );
      return;
    }
    if (this.#running.get(row.id) === running) running.video.start();
    // A change waited out across a restart waits with the camera's current settings.
    this.#arm(row, log);
  }

  /**
   * A request about one of this node's cameras: its health, or its latest frame. Another
   * tenant's request for the same id (ids are global uuids) learns nothing: no answer at all,
   * as if no node ran the camera.
   */
  #answer(row: CameraRow, msg: Msg, log: Logger): void {
    const r = this.#running.get(row.id);
    if (!r || !msg.reply) return;
    let tenantId: unknown;
    try {
      tenantId = (msg.json<{ tenantId?: unknown }>() ?? {}).tenantId;
    } catch {
      return;
    }
    if (tenantId !== row.tenant_id) return;
    if (msg.subject === this.#deps.names.cameras.health(row.id)) {
      const h = this.health(row.id);
      if (h) msg.respond(JSON.stringify(h));
    } else if (msg.subject === this.#deps.names.cameras.frame(row.id)) {
      const reply = (answer: Parameters<typeof respondFrame>[1]): void => {
        try {
          respondFrame(msg, answer);
        } catch (err) {
          // The connection closed meanwhile: the asker times out.
          log.debug({ err }, 'frame answer not sent');
        }
      };
      const picture = r.video.picture();
      if (!picture) {
        const { state, lastError } = r.video.health();
        reply({ reason: `camera is ${state}${lastError ? `: ${lastError}` : ''}` });
        return;
      }
      picture.then(reply, (err: unknown) => {
        log.warn({ err }, 'frame not encoded');
        reply({ reason: 'the frame could not be encoded' });
      });
    }
  }

  /** Decides what a state change means for the camera's status and publishes it on EVENTS. */
  #statusChanged(row: CameraRow, state: VideoState, reason: string | null, log: Logger): void {
    this.#decide(
      row,
      { type: 'VideoStateChanged', data: { cameraId: row.id, state, reason, at: Date.now() } },
      log,
    );
  }

  #decide(row: CameraRow, command: CameraStatusCommand, log: Logger): void {
    const decided = cameraStatus(this.#status.get(row.id) ?? initialCameraStatus(), command, policyOf(row));
    this.#status.set(row.id, decided.state);
    this.#arm(row, log);
    for (const e of decided.events) {
      const event: CameraEvent = {
        // From the cause: a decision published twice is one event (JetStream's duplicate window).
        id: `${e.type}:${row.id}:${e.data.at}`,
        type: e.type,
        tenantId: row.tenant_id,
        siteId: row.site_id,
        ts: e.data.at,
        data: {
          cameraId: row.id,
          ...(e.type === 'camera.offline' ? { reason: e.data.reason } : {}),
          ...(e.data.alert ? { alert: e.data.alert } : {}),
        },
      };
      const next = (this.#announcing.get(row.id) ?? Promise.resolve())
        .then(() => publishEvent(this.#deps.js, this.#deps.names, event))
        .then(
          () => undefined,
          (err: unknown) => log.warn({ err, event: event.id }, 'camera status event not published'),
        );
      this.#announcing.set(row.id, next);
      void next.then(() => {
        if (this.#announcing.get(row.id) === next) this.#announcing.delete(row.id);
      });
    }
  }

  #publish(r: Running, frame: DetectionsFrame, log: Logger): void {
    const { tenant_id: tenantId, id: cameraId } = r.row;
    publishDetections(this.#deps.js, this.#deps.names, tenantId, cameraId, {
      ts: frame.ts,
      seq: frame.seq,
      frame: { width: frame.width, height: frame.height },
      detections: frame.detections.map((d) => ({
        box: [clamp(d.box.x1), clamp(d.box.y1), clamp(d.box.x2), clamp(d.box.y2)],
        score: Math.min(1, Math.max(0, d.score)),
        cls: d.cls,
        appearance: d.appearance,
      })),
    }).then(
      () => r.published++,
      (err: unknown) => log.warn({ err }, 'detections not published'),
    );
  }

  async #stopOne(cameraId: string): Promise<void> {
    const r = this.#running.get(cameraId);
    if (!r) return;
    this.#running.delete(cameraId);
    r.requests.unsubscribe();
    this.#closing++;
    try {
      await r.video.stop();
      await this.#release(r);
    } finally {
      this.#closing--;
    }
  }

  /** Closes the detector after the last camera; otherwise unloads a model no camera uses now. */
  async #release(stopped: Running): Promise<void> {
    if (this.#running.size === 0) {
      await this.#closeDetector();
      return;
    }
    const modelOf = (r: Running): string | null => r.row.model_path ?? this.#opts.defaultModel;
    const path = modelOf(stopped);
    const used = [...this.#running.values()].some((o) => modelOf(o) === path);
    if (path && !used && this.#models.delete(path)) this.#detector?.unload(path);
  }
}

const clamp = (v: number): number => Math.min(1, Math.max(0, v));
