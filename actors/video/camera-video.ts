import type { DetectOutcome, DetectorPool } from './detector-pool.ts';
import { toFrame, type NormBox } from './letterbox.ts';
import { LatestPicture, type Picture } from './picture.ts';
import { backoffMs } from './sampler.ts';
import {
  InputBuffers,
  isNetworkUrl,
  openVideo,
  VideoSourceError,
  type SampledFrame,
  type SessionCount,
} from './video-source.ts';

export type VideoState = 'starting' | 'streaming' | 'reconnecting' | 'failed' | 'stopped';

export interface FrameDetection {
  /** Normalised to the frame, 0..1. */
  box: NormBox;
  score: number;
  cls: number;
  appearance: number[];
}

/** One analysed frame, in frame order. */
export interface DetectionsFrame {
  seq: number;
  /** Epoch ms of the frame. */
  ts: number;
  /** Media seconds since the session's first frame. */
  pts: number;
  width: number;
  height: number;
  detections: FrameDetection[];
}

export interface CameraVideoOptions {
  cameraId: string;
  url: string;
  fps: number;
  inputSize: number;
  confidence: number;
  iou?: number;
  modelKey: string;
  pool: DetectorPool;
  readTimeoutMs: number;
  /**
   * Pace a file at its own frame rate (default). Without it a file is read as fast as the
   * detector takes frames, none dropped.
   */
  realtime?: boolean;
  onFrame: (frame: DetectionsFrame) => void;
  onState?: (state: VideoState, reason: string | null) => void;
  /** 0..1 jitter source for reconnect backoff (tests pass a constant). */
  random?: () => number;
  backoffBaseMs?: number;
  /** Counts the source's open sessions (see openVideo). */
  sessions?: SessionCount;
  /** Largest snapshot JPEG, in bytes (what one NATS message may carry); default 1 MiB. */
  pictureMaxBytes?: number;
}

export interface VideoHealth {
  state: VideoState;
  framesIn: number;
  framesDetected: number;
  framesDropped: number;
  detectFps: number;
  inferenceMs: { p50: number | null; p95: number | null };
  lastFrameAt: string | null;
  reconnects: number;
  lastError: string | null;
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/**
 * A camera's video side: keeps a session open (reopening with backoff whenever the frame loop
 * ends — end of stream, stall past the read timeout, or error), sends sampled frames to the
 * detector pool and hands detections back in frame order. A source that can never work (a file
 * that is not video) ends in `failed` with the reason; network sources keep retrying.
 */
export class CameraVideo {
  private state: VideoState = 'starting';
  private lastError: string | null = null;
  private framesIn = 0;
  private framesDetected = 0;
  private framesDropped = 0;
  private reconnects = 0;
  private lastFrameAt: number | null = null;
  private readonly inference: number[] = [];
  private readonly detectedAt: number[] = [];
  private readonly aborter = new AbortController();
  private loop: Promise<void> | null = null;
  private seq = 0;
  private readonly buffers = new InputBuffers();
  /** Results are awaited in submission order: workers finish out of order. */
  private ordered: Promise<void> = Promise.resolve();
  private readonly latest: LatestPicture;

  constructor(private readonly opts: CameraVideoOptions) {
    this.latest = new LatestPicture(opts.pictureMaxBytes ?? 1024 * 1024);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.aborter.abort();
    this.opts.pool.dropLane(this.opts.cameraId);
    await this.loop;
    await this.ordered;
    this.latest.clear();
    this.setState('stopped', null);
  }

  /**
   * The latest sampled frame as JPEG, while a session streams; null when there is none (not
   * streaming yet, between sessions, stopped).
   */
  picture(): Promise<Picture> | null {
    return this.latest.picture();
  }

  health(): VideoHealth {
    const sorted = [...this.inference].sort((a, b) => a - b);
    const now = Date.now();
    const recent = this.detectedAt.filter((t) => now - t <= 5000);
    const span = recent.length > 1 ? (recent[recent.length - 1]! - recent[0]!) / 1000 : 0;
    return {
      state: this.state,
      framesIn: this.framesIn,
      framesDetected: this.framesDetected,
      framesDropped: this.framesDropped,
      detectFps: span > 0 ? Math.round(((recent.length - 1) / span) * 10) / 10 : 0,
      inferenceMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) },
      lastFrameAt: this.lastFrameAt === null ? null : new Date(this.lastFrameAt).toISOString(),
      reconnects: this.reconnects,
      lastError: this.lastError,
    };
  }

  /** Marks the camera failed from outside (a model that does not fit, say). */
  fail(reason: string): void {
    this.lastError = reason;
    this.setState('failed', reason);
  }

  private setState(state: VideoState, reason: string | null): void {
    if (this.state === state) return;
    this.state = state;
    this.opts.onState?.(state, reason);
  }

  private async run(): Promise<void> {
    const { signal } = this.aborter;
    const random = this.opts.random ?? Math.random;
    // A recording read faster than real time has no live edge to keep up with: it waits for the
    // detector instead of dropping frames (analysing a file, the vision bench).
    const paced = this.opts.realtime === false && !isNetworkUrl(this.opts.url);
    let attempt = 0;
    while (!signal.aborted && this.state !== 'failed') {
      let streamed = false;
      try {
        for await (const frame of openVideo({
          url: this.opts.url,
          inputSize: this.opts.inputSize,
          fps: this.opts.fps,
          readTimeoutMs: this.opts.readTimeoutMs,
          realtime: this.opts.realtime ?? true,
          signal,
          buffers: this.buffers,
          picture: this.latest,
          ...(this.opts.sessions ? { sessions: this.opts.sessions } : {}),
        })) {
          if (!streamed) {
            streamed = true;
            attempt = 0;
            this.lastError = null;
            this.setState('streaming', null);
          }
          this.framesIn++;
          this.lastFrameAt = frame.ts;
          this.submit(frame);
          if (paced) await this.opts.pool.room(this.opts.cameraId);
        }
        if (!signal.aborted) this.lastError = streamed ? 'stream ended' : 'stream gave no frames';
      } catch (err) {
        this.lastError = (err as Error).message;
        if (err instanceof VideoSourceError && err.permanent) {
          this.setState('failed', this.lastError);
          return;
        }
      }
      if (signal.aborted) return;
      this.reconnects++;
      this.setState('reconnecting', this.lastError);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoffMs(attempt++, random(), this.opts.backoffBaseMs));
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  }

  private submit(frame: SampledFrame): void {
    const seq = ++this.seq;
    const outcome = this.opts.pool.detect(this.opts.cameraId, this.opts.modelKey, {
      input: frame.input,
      size: this.opts.inputSize,
      decode: { confidence: this.opts.confidence, iou: this.opts.iou ?? 0.5, classes: [0] },
    });
    this.ordered = this.ordered.then(() => this.deliver(seq, frame, outcome));
  }

  private async deliver(seq: number, frame: SampledFrame, outcome: Promise<DetectOutcome>): Promise<void> {
    const { letterbox } = frame;
    {
      const o = await outcome;
      this.buffers.give(o.input);
      if (o.kind === 'dropped') {
        this.framesDropped++;
        return;
      }
      if (o.kind === 'failed') {
        this.lastError = o.reason;
        return;
      }
      this.framesDetected++;
      this.detectedAt.push(Date.now());
      if (this.detectedAt.length > 200) this.detectedAt.shift();
      this.inference.push(o.inferenceMs);
      if (this.inference.length > 200) this.inference.shift();
      try {
        this.opts.onFrame({
          seq,
          ts: frame.ts,
          pts: frame.pts,
          width: letterbox.width,
          height: letterbox.height,
          detections: o.detections.map((d) => ({
            box: toFrame(letterbox, d.x1, d.y1, d.x2, d.y2),
            score: d.score,
            cls: d.cls,
            appearance: d.appearance,
          })),
        });
      } catch (err) {
        this.lastError = `frame handler failed: ${(err as Error).message}`;
      }
    }
  }
}
