/**
 * The one server-sent-events client of the tests and benches: `fetch` with a streamed body,
 * parsed frame by frame as bytes arrive (the format of the WHATWG EventSource parser: one
 * optional space after the colon, `data` lines joined by newlines, `:` lines are comments).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  /** The text of a `:` comment line (a heartbeat), trimmed. */
  comment?: string;
  /** performance.now() when the chunk holding the end of this frame arrived (before parsing). */
  receivedAt: number;
}

/** Frames of an SSE body, in order; ends when the body does. */
export async function* sseFrames(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    const receivedAt = performance.now();
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      yield parseFrame(block, receivedAt);
    }
  }
}

function parseFrame(block: string, receivedAt: number): SseFrame {
  const frame: SseFrame = { receivedAt };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      frame.comment = line.slice(1).trim();
      continue;
    }
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
    else if (field === 'id' || field === 'event' || field === 'retry') frame[field] = value;
  }
  return frame;
}

export interface SseOpenOptions {
  headers?: Record<string, string>;
  /** Sent as `Authorization: Bearer`. */
  token?: string;
  /** Called with every frame that carries data. When given, frames are not kept in `frames`. */
  onFrame?: (frame: SseFrame) => void;
  /** Throw (with the body) unless the server answers 200. */
  requireOk?: boolean;
}

export class SseClient {
  /** Every frame received so far, comments and the retry hint included (unless `onFrame`). */
  readonly frames: SseFrame[] = [];
  readonly status: number;
  /** Settles when the stream ends; never rejects (see `error`). */
  readonly done: Promise<void>;
  /** The stream ended (server closed it, or close() was called). */
  ended = false;
  /** Why the stream broke, when it did not end by close(). */
  error: unknown = null;
  readonly #abort: AbortController;
  #wake: (() => void) | null = null;

  private constructor(res: Response, abort: AbortController, onFrame: ((f: SseFrame) => void) | undefined) {
    this.status = res.status;
    this.#abort = abort;
    this.done = this.#read(res, onFrame);
  }

  static async open(url: string, options: SseOpenOptions = {}): Promise<SseClient> {
    const abort = new AbortController();
    const auth: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
    const res = await fetch(url, {
      headers: { accept: 'text/event-stream', ...auth, ...options.headers },
      signal: abort.signal,
    });
    if (options.requireOk && res.status !== 200) {
      const body = await res.text().catch(() => '');
      abort.abort();
      throw new Error(`GET ${url} answered ${res.status}: ${body.slice(0, 300)}`);
    }
    return new SseClient(res, abort, options.onFrame);
  }

  /** The frames that carry data. */
  get events(): SseFrame[] {
    return this.frames.filter((f) => f.data !== undefined);
  }

  async #read(res: Response, onFrame: ((f: SseFrame) => void) | undefined): Promise<void> {
    if (!res.body) return;
    try {
      for await (const frame of sseFrames(res.body)) {
        if (!onFrame) this.frames.push(frame);
        else if (frame.data !== undefined) onFrame(frame);
        this.#wake?.();
      }
    } catch (err) {
      if (!this.#abort.signal.aborted) this.error = err;
    } finally {
      this.ended = true;
      this.#wake?.();
    }
  }

  /** Wait until `pred` holds over the frames received so far; re-checked on every frame. */
  async until(what: string, pred: (c: SseClient) => boolean, ms = 10_000): Promise<void> {
    const timeout = new AbortController();
    const timedOut = sleep(ms, undefined, { signal: timeout.signal }).then(
      () => {
        throw new Error(`timed out after ${ms} ms: ${what}`);
      },
      () => undefined,
    );
    try {
      while (!pred(this)) {
        const woken = new Promise<void>((resolve) => (this.#wake = resolve));
        await Promise.race([woken, timedOut]);
      }
    } finally {
      timeout.abort();
    }
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.done;
  }
}
