import { Decoder, Demuxer, FilterAPI } from 'node-av/api';
import { AV_LOG_QUIET, AVERROR_EAGAIN, AVERROR_EOF } from 'node-av/constants';
import { Log, Packet, type Frame, type Stream } from 'node-av/lib';
import { letterbox, letterboxFilter, type Letterbox } from './letterbox.ts';
import type { LatestPicture } from './picture.ts';
import { FrameSampler } from './sampler.ts';

// FFmpeg's own chatter (codec banners, per-packet warnings) would flood the logs; real errors
// reach us as exceptions.
Log.setLevel(AV_LOG_QUIET);

export interface VideoSourceOptions {
  /** rtsp://, http(s)://, or a file path. */
  url: string;
  /** Model input side: frames are letterboxed to it. */
  inputSize: number;
  /** Frames kept per second of media time. */
  fps: number;
  /** No packet for this long ends the session (a disconnect). */
  readTimeoutMs: number;
  /**
   * Opening (connect, RTSP handshake, probing the stream) may take longer than a read; default
   * the larger of 10 s and the read timeout.
   */
  openTimeoutMs?: number;
  /** Pace a file at its own frame rate, as a live camera would deliver it. */
  realtime?: boolean;
  signal?: AbortSignal;
  /** Where model-input buffers come from (and go back to, once detected). */
  buffers?: InputBuffers;
  /** Counts this session while its demuxer is open (an owner checks it closed everything). */
  sessions?: SessionCount;
  /** Keeps the latest sampled frame for snapshots; cleared when the session ends. */
  picture?: LatestPicture;
}

/** Open sessions of a set of sources: each holds FFmpeg's demuxer, decoder and filter graph. */
export interface SessionCount {
  open: number;
}

export interface SampledFrame {
  /** Media time, seconds from the stream's first frame. */
  pts: number;
  /** Wall-clock time of the frame: session start + media time (epoch ms). */
  ts: number;
  /** Model input, RGB planes (CHW), float 0..1, inputSize². */
  input: Float32Array;
  letterbox: Letterbox;
}

/** Why a session could not start or went on; `permanent` ones are not worth a reconnect. */
export class VideoSourceError extends Error {
  override readonly name = 'VideoSourceError';
  constructor(
    message: string,
    readonly permanent: boolean,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
  }
}

export function isNetworkUrl(url: string): boolean {
  return /^(rtsp|rtsps|http|https):\/\//i.test(url);
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    // A frame already late (pacing a file behind its own clock) waits for nothing.
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Model-input buffers handed back by the detector once it is done with them: at 640 each is
 * 4.9 MB, and allocating one per frame makes V8 run a full collection every few frames (external
 * memory pressure) — on the thread that also serves the camera's event loop.
 */
export class InputBuffers {
  private readonly free: Float32Array[] = [];

  constructor(private readonly keep = 8) {}

  take(length: number): Float32Array {
    const buf = this.free.pop();
    return buf?.length === length ? buf : new Float32Array(length);
  }

  /** Returns a buffer for reuse; a transferred (detached) one is ignored. */
  give(buf: Float32Array | null | undefined): void {
    if (buf && buf.buffer.byteLength > 0 && this.free.length < this.keep) this.free.push(buf);
  }
}

/** Copies FFmpeg's G, B, R float planes (rows may be padded) into one RGB CHW tensor. */
function toInput(frame: Frame, size: number, buffers: InputBuffers | undefined): Float32Array {
  const planes = frame.data;
  const strides = frame.linesize;
  if (!planes || planes.length < 3) throw new VideoSourceError('letterbox produced no planar frame', false);
  // Every element is written below, so a reused buffer needs no clearing.
  const out = buffers?.take(3 * size * size) ?? new Float32Array(3 * size * size);
  // gbrp plane order: 0 = G, 1 = B, 2 = R; the model wants R, G, B.
  const order = [2, 0, 1] as const;
  for (const [c, p] of order.entries()) {
    const plane = planes[p]!;
    const stride = strides[p]!;
    const src = new Float32Array(plane.buffer, plane.byteOffset, plane.byteLength / 4);
    if (stride === size * 4) out.set(src.subarray(0, size * size), c * size * size);
    else
      for (let y = 0; y < size; y++)
        out.set(src.subarray((y * stride) / 4, (y * stride) / 4 + size), c * size * size + y * size);
  }
  return out;
}

/**
 * The stream's packets, read only when the decoder asks for the next one. (node-av's
 * `Demuxer.packets` reads ahead on the event loop and, once its queue is full, polls with
 * setImmediate until the consumer catches up — a busy loop whenever a camera waits for its
 * detector or paces a file.) Video starts at a key frame, as joining a live stream must.
 */
async function* readPackets(
  demuxer: Demuxer,
  stream: Stream,
  signal: AbortSignal,
): AsyncGenerator<Packet | null> {
  const ctx = demuxer.getFormatContext();
  const packet = new Packet();
  packet.alloc();
  let keyframeSeen = false;
  try {
    while (!signal.aborted) {
      const ret = await ctx.readFrame(packet);
      if (ret === AVERROR_EAGAIN) {
        await sleep(10, signal);
        continue;
      }
      // The end of a file: null makes the decoder give up the frames it still holds.
      if (ret === AVERROR_EOF) yield null;
      if (ret < 0) return;
      if (packet.streamIndex === stream.index && (keyframeSeen || packet.isKeyframe)) {
        keyframeSeen = true;
        packet.timeBase = stream.timeBase;
        const own = packet.clone();
        if (!own) throw new VideoSourceError('out of memory reading a packet', false);
        yield own;
      }
      packet.unref();
    }
  } finally {
    packet.free();
  }
}

/**
 * One session with a source: open (with a read timeout), decode every frame, keep those at the
 * detect rate, letterbox them natively into the model's input. The generator ends when the
 * stream ends or stalls past the read timeout — to the caller that is a disconnect — and throws
 * a VideoSourceError when it cannot open or decode.
 */
export async function* openVideo(opts: VideoSourceOptions): AsyncGenerator<SampledFrame> {
  const timeoutUs = String(opts.readTimeoutMs * 1000);
  const network = isNetworkUrl(opts.url);
  const aborter = new AbortController();
  const onAbort = (): void => aborter.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let demuxer: Demuxer | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let stalled = false;
  const openTimeoutMs = opts.openTimeoutMs ?? Math.max(10_000, opts.readTimeoutMs);
  let limitMs = openTimeoutMs;
  const arm = (): void => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      stalled = true;
      demuxer?.interrupt();
      aborter.abort();
    }, limitMs);
  };
  try {
    arm();
    try {
      demuxer = await Demuxer.open(opts.url, {
        signal: aborter.signal,
        options: /^rtsps?:/i.test(opts.url)
          ? { rtsp_transport: 'tcp', timeout: timeoutUs, rw_timeout: timeoutUs }
          : network
            ? { rw_timeout: timeoutUs }
            : {},
      });
      if (opts.sessions) opts.sessions.open++;
    } catch (err) {
      if (opts.signal?.aborted) return;
      const reason = stalled ? `no answer within ${openTimeoutMs} ms` : (err as Error).message;
      throw new VideoSourceError(`cannot open ${network ? 'stream' : 'file'}: ${reason}`, !network, {
        cause: err,
      });
    }
    // FFmpeg renders plain text as "video" (its tty demuxer); a camera source never is text.
    const stream = demuxer.inputFormat()?.name === 'tty' ? undefined : demuxer.video();
    if (!stream) throw new VideoSourceError('source has no video stream', !network);
    const decoder = await Decoder.create(stream);
    const sampler = new FrameSampler(opts.fps);
    const tb = stream.timeBase;
    let filter: FilterAPI | undefined;
    let geometry: Letterbox | undefined;
    let firstPts: number | undefined;
    const startedAt = Date.now();
    try {
      limitMs = opts.readTimeoutMs;
      arm();
      for await (const frame of decoder.frames(readPackets(demuxer, stream, aborter.signal))) {
        if (!frame) break;
        arm();
        try {
          const raw = frame.bestEffortTimestamp ?? frame.pts;
          const seconds = (Number(raw) * tb.num) / tb.den;
          firstPts ??= seconds;
          const pts = seconds - firstPts;
          if (!sampler.accept(pts)) continue;
          opts.picture?.hold(frame, startedAt + Math.round(pts * 1000));
          if (!geometry || geometry.width !== frame.width || geometry.height !== frame.height) {
            filter?.close();
            geometry = letterbox(frame.width, frame.height, opts.inputSize);
            filter = FilterAPI.create(letterboxFilter(geometry));
          }
          const boxed = await filter!.processAll(frame);
          for (const out of boxed) {
            try {
              const input = toInput(out, opts.inputSize, opts.buffers);
              if (opts.realtime && !network) await sleep(startedAt + pts * 1000 - Date.now(), opts.signal);
              if (opts.signal?.aborted) return;
              // Time the consumer holds a frame is not the source stalling.
              clearTimeout(watchdog);
              yield { pts, ts: startedAt + Math.round(pts * 1000), input, letterbox: geometry };
              arm();
            } finally {
              out.free();
            }
          }
        } finally {
          frame.free();
        }
      }
    } catch (err) {
      if (opts.signal?.aborted || stalled) return;
      throw new VideoSourceError(`decode failed: ${(err as Error).message}`, false, { cause: err });
    } finally {
      filter?.close();
      decoder.close();
    }
  } finally {
    clearTimeout(watchdog);
    // A frame of a session that ended is not live any more.
    opts.picture?.clear();
    opts.signal?.removeEventListener('abort', onAbort);
    if (demuxer) {
      await demuxer.close();
      if (opts.sessions) opts.sessions.open--;
    }
  }
}
